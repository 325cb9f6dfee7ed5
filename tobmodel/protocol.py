"""The one model protocol: what every tobmodel model is, whatever it predicts.

Every fitted model that scores accounts or leads follows :class:`ScoringModel`
(and subclasses :class:`ModelBase`), and the export layer, the command line
and the registry use nothing else:

==================  =========================================  ==================
name                class                                      scores
==================  =========================================  ==================
``cox``             ``tobmodel.renewal.cox.CoxRenewalModel``   per-account features
``weibull_aft``,    ``tobmodel.renewal.parametric`` AFT models per-account features
``loglogistic_aft``
``dynamic``         ``tobmodel.renewal.dynamic``               running account-months
                    ``DynamicHazardModel`` (discrete-time
                    hazard on person-months)
``repurchase``      ``tobmodel.renewal.repurchase``            latest order gaps
                    ``RepurchaseModel`` (hardware)
``lead_hgb``,       ``tobmodel.leads.LeadModel``               leads
``lead_logistic``
==================  =========================================  ==================

Not scoring models, on purpose: the sBG model
(:class:`tobmodel.renewal.ShiftedBetaGeometric`) describes cohorts, not
accounts (no covariates, nothing per account to export); the renewal-level
:class:`tobmodel.renewal.DiscreteTimeHazard` is a teaching and analysis tool
around a scikit-learn Pipeline (no code-free file); the discrete-time hazard
the weekly job scores is ``dynamic``.

A model file is the model's :meth:`to_document` written as JSON
(:mod:`tobmodel.persist`); :func:`tobmodel.registry.load_model` reads it once
and hands the document to the class registered for its ``name``
(``from_document``).

Attributes every model carries
------------------------------
kind : {'renewal', 'lead'}
    Renewal models give churn scores (higher = more risk); lead models give
    conversion scores (higher = better lead).
name : str
    The registered model name: ``'cox'``, ``'weibull_aft'``, ``'lead_hgb'``...
    One name, one class (:data:`tobmodel.registry.MODEL_CLASSES`).
model_id : str
    ``<name>-<12 hex>`` built from the config, tobmodel version and training
    data (:func:`tobmodel.persist.make_model_id`).
version : str
    tobmodel version that fitted the model.
id_column : str
    ``'account_id'`` (renewal) or ``'lead_id'`` (lead).
features_ : list of dict
    The feature schema (name, dtype, categories) incoming data is checked against.
as_of_ : pandas.Timestamp or None
    The date (``YYYY-MM-DD``) the training data was known up to; the default
    scoring date of the export (:func:`tobmodel.export.resolve_as_of`).

Methods every model has
-----------------------
check_schema(df, source="data")
    Raise :class:`tobmodel.persist.SchemaMismatchError` (one line naming the
    source, the column and example rows) unless ``df`` carries the features.
score(df, *, as_of=None, horizon_months=None, source="data", progress=False, checked=False)
    One output row per input row, in input order, starting with ``id_column``.
    Renewal models return :data:`RENEWAL_SCORE_COLUMNS`, lead models
    :data:`LEAD_SCORE_COLUMNS`. ``horizon_months=None`` means the model's
    default (12 months); lead models accept and ignore it.
    ``checked=True`` says the caller has already checked every row against
    ``features_`` the way :func:`tobmodel.export.rejects.check_rows` does:
    every feature column present and coerced to its dtype (numbers float64,
    finite; booleans bool; dates datetime64; categories a Categorical of the
    schema's ``categories``), no missing value, no unknown category, only rows
    in scope (active accounts with ``tenure_months > 0``, built at ``as_of``;
    open leads), unique integer ids. The model may then skip its own per-row
    checks of those facts (the weekly job would otherwise check every row
    twice); it still checks what is not a row fact (the horizon, the frame's
    as-of date), and its scores are exactly those of ``checked=False``. Every
    model accepts it (a model that has nothing to skip ignores it); the export
    passes ``checked=True`` after its row checks and refuses a model whose
    ``score`` does not take it. Never pass it for rows that were not checked:
    a row the model would have refused may then be scored silently.
to_document() -> dict
    JSON-ready dict with at least :data:`DOCUMENT_HEADER` keys; plain numbers,
    strings and lists only (loading never executes code).
from_document(doc) -> model (classmethod)
    The inverse: ``type(m).from_document(m.to_document())`` scores like ``m``.
    Raises ``ValueError`` / ``KeyError`` on an incomplete document, including
    null or non-finite numbers and lists of inconsistent lengths (the registry
    turns these into one-line :class:`tobmodel.persist.ModelFileError`).
    ``doc["config"]`` holds the constructor options (refitting elsewhere:
    ``type(m)(**options)``).
save(path)
    ``tobmodel.persist.write_model_json(self.to_document(), path)``.
frame_from_tables(tables, as_of=None), fit_tables(tables, as_of=None)
    From the team's tables (:attr:`input_tables`) to the frame the model
    scores, and fitting on them: how the export turns a folder of tables into
    scores without knowing the model (:func:`tobmodel.export.scoring_source`).

Optional: ``reference_profile_`` (the training distribution, for drift checks;
``None`` by default).

Examples
--------
>>> import pandas as pd
>>> class Constant(ModelBase):
...     kind, name, id_column = "lead", "constant_lead", "lead_id"
...     def __init__(self, p=0.5):
...         self.p = p
...     def score(self, df, *, as_of=None, horizon_months=None, source="data",
...               progress=False, checked=False):
...         if not checked:  # the export has checked every row already
...             self.check_schema(df, source)
...         return pd.DataFrame({"lead_id": df["lead_id"], "p_convert": self.p,
...                              "score": 50.0, "grade": "B", "reasons": ""})
>>> m = Constant()
>>> m.features_ = [{"name": "intent", "dtype": "number"}]
>>> m.model_id_, m.as_of_ = "constant_lead-000000000000", pd.Timestamp("2025-12-31")
>>> isinstance(m, ScoringModel)
True
>>> m.score(pd.DataFrame({"lead_id": [7], "intent": [1.0]}))["p_convert"].tolist()
[0.5]
"""
from __future__ import annotations

from typing import Any, ClassVar, Protocol, runtime_checkable

KINDS = ("renewal", "lead")
ID_COLUMNS = {"renewal": "account_id", "lead": "lead_id"}

RENEWAL_SCORE_COLUMNS = ("account_id", "next_renewal_date", "p_churn_next_renewal",
                         "horizon_months", "p_churn_horizon", "expected_remaining_months",
                         "beyond_followup", "reasons")
LEAD_SCORE_COLUMNS = ("lead_id", "p_convert", "score", "grade", "reasons")
SCORE_COLUMNS = {"renewal": RENEWAL_SCORE_COLUMNS, "lead": LEAD_SCORE_COLUMNS}

DOCUMENT_HEADER = ("kind", "name", "model_id", "versions", "features", "id_column", "as_of",
                   "config")
DEFAULT_HORIZON_MONTHS = 12


@runtime_checkable
class ScoringModel(Protocol):
    """What the export layer, the registry and the command line may rely on."""

    kind: str
    name: str
    id_column: str

    @property
    def model_id(self) -> str: ...

    @property
    def version(self) -> str: ...

    @property
    def features_(self) -> list[dict]: ...

    @property
    def as_of_(self) -> Any: ...

    def check_schema(self, df, source: str = "data") -> None: ...

    def score(self, df, *, as_of=None, horizon_months=None, source: str = "data",
              progress: bool = False, checked: bool = False): ...

    def to_document(self) -> dict: ...

    @classmethod
    def from_document(cls, doc: dict): ...

    def save(self, path): ...


class ModelBase:
    """Shared plumbing for protocol models: ids, version, schema check, save.

    Subclasses set the class attributes ``kind``, ``name``, ``id_column`` and,
    after fitting (or in ``from_document``), ``features_``, ``model_id_``,
    ``as_of_`` and optionally ``saved_by_version_``.
    """

    kind: ClassVar[str] = ""
    name: ClassVar[str] = ""
    id_column: ClassVar[str] = ""
    #: the tables (:mod:`tobmodel.schema`) the model's data is built from
    input_tables: ClassVar[tuple] = ()
    #: training distribution of features and score (drift checks), or None
    reference_profile_ = None

    @property
    def model_id(self) -> str:
        return self.model_id_

    @property
    def as_of_(self):
        """The date the training data was known up to (``pandas.Timestamp``) or None."""
        return self.__dict__.get("_as_of")

    def as_of_text(self) -> str | None:
        """``as_of_`` as ``YYYY-MM-DD`` text (model documents and ids), or None."""
        return None if self.as_of_ is None else str(self.as_of_.date())

    @as_of_.setter
    def as_of_(self, value):
        # one type for every model: dates given as text, date or Timestamp all become a day
        import pandas as pd
        self.__dict__["_as_of"] = (None if value is None or value is pd.NaT
                                   else pd.Timestamp(value).normalize())

    @property
    def version(self) -> str:
        from ._version import __version__
        return getattr(self, "saved_by_version_", None) or __version__

    @property
    def feature_names_(self) -> list[str]:
        return [f["name"] for f in self.features_]

    def check_schema(self, df, source: str = "data") -> None:
        from .persist import check_schema
        check_schema(df, self.features_, source=source)

    def header_document(self, *libraries: str) -> dict:
        """The common header of :meth:`to_document` (the protocol attributes)."""
        from .persist import library_versions
        versions = library_versions(*libraries)
        if getattr(self, "saved_by_version_", None):
            versions["tobmodel"] = self.saved_by_version_
        return {"kind": self.kind, "name": self.name, "model_id": self.model_id,
                "versions": versions, "features": self.features_,
                "id_column": self.id_column,
                "as_of": self.as_of_text()}

    def read_header(self, doc: dict):
        """Set the protocol attributes from a document's header; returns ``self``."""
        self.features_ = [dict(f) for f in doc["features"]]
        self.model_id_ = str(doc["model_id"])
        self.saved_by_version_ = str(doc["versions"]["tobmodel"])
        self.as_of_ = doc.get("as_of")
        return self

    def frame_from_tables(self, tables, as_of=None):
        """The frame this model fits on and scores, built from the team's tables at ``as_of``
        (a dict of DataFrames or a Simulation holding :attr:`input_tables`)."""
        raise NotImplementedError(f"{type(self).__name__} builds no frame from tables")

    def fit_tables(self, tables, as_of=None):
        """Fit on the team's tables; returns ``self`` (default: ``fit(frame_from_tables())``)."""
        return self.fit(self.frame_from_tables(tables, as_of))

    def to_document(self) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def from_document(cls, doc: dict):  # pragma: no cover - abstract
        raise NotImplementedError

    def save(self, path):
        """Write the model as one JSON file (atomic; same model, same bytes)."""
        from .persist import write_model_json
        return write_model_json(self.to_document(), path)
