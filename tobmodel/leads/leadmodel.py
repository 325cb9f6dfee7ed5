"""``LeadModel``: a fitted lead-quality model that scores, grades and explains leads.

Made by :func:`~tobmodel.leads.fit_lead_model` or
:func:`~tobmodel.leads.load_lead_model`; both score the same way (from plain
arrays), so a saved and reloaded model gives the same numbers.

Examples
--------
>>> import tobmodel
>>> from tobmodel.leads import fit_lead_model
>>> sim = tobmodel.simulate("saas", "maturity", n_accounts=400, seed=1)
>>> model = fit_lead_model(sim.leads, kind="logistic")
>>> out = model.score(sim.leads.head(3))
>>> list(out.columns)
['lead_id', 'p_convert', 'score', 'grade', 'reasons']
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..persist import check_schema, json_ready
from ..protocol import ModelBase
from .engine import HeldOutCalibration
from .features import check_feature_frame
from .fit import fit_state
from .reasons import effects, reason_text
from .scoring import chunks, score_from_probability, scored_frame

__all__ = ["LeadModel", "fit_lead_model", "fit_channel_baseline"]


class LeadModel(ModelBase):
    """Score leads: probability, score 0-100, grade A-D and top reasons.

    Higher ``p_convert``, score and grade = more likely to convert = a better
    lead (the opposite direction to churn scores, where higher = more risk).
    Follows :class:`tobmodel.protocol.ScoringModel`.

    Parameters
    ----------
    estimator : {'hgb', 'logistic'}
        Boosted trees or logistic regression (:func:`~tobmodel.leads.make_lead_model`).
    calibration : {'sigmoid', 'isotonic', None}
    features : list of str, optional
        Lead columns to use (default :data:`~tobmodel.leads.features.DEFAULT_FEATURES`).
    random_state : int
    check_leakage : bool
    n_jobs : int
        See :func:`~tobmodel.leads.fit_lead_model`. ``n_jobs`` is how the fit runs, not
        what it fits: it is not in the model file.

    Attributes
    ----------
    kind, name, id_column, version : str
        Scoring-protocol header: ``'lead'``, ``'lead_hgb'`` / ``'lead_logistic'``,
        ``'lead_id'`` and the tobmodel version that fitted the model.
    model_id : str
        ``lead_<estimator>-<hash>`` of the config, tobmodel version and training data.
    as_of_ : str or None
        The date the training leads were known up to (:func:`leads_as_of`).
    feature_names_ : list of str
        Lead columns the model reads.
    features_ : list of dict
        Feature schema (name, dtype, categories) checked on incoming data.
    training_ : dict
        Leads used: ``n_train``, ``n_converted``, ``n_open_excluded``, dates.
    versions_ : dict
        Library versions the model was fitted with.
    encoding_, engine_, calibrator_, classifier_, kinds_, references_, grid_ :
        The fitted model as plain numbers (what scoring uses and the file holds).
    pipeline_ : sklearn.pipeline.Pipeline or None
        The fitted scikit-learn Pipeline (None for a model loaded from a file); a
        calibration on the newest leads is fitted into it when first read.
    """

    kind = "lead"  # the scoring protocol's model kind (the estimator is ``estimator``)
    id_column = "lead_id"
    input_tables = ("leads",)

    def __init__(self, estimator: str = "hgb", calibration: str | None = "sigmoid",
                 features=None, random_state: int = 0, check_leakage: bool = True,
                 n_jobs: int = 1):
        self.estimator = estimator
        self.calibration = calibration
        self.features = features
        self.random_state = random_state
        self.check_leakage = check_leakage
        self.n_jobs = n_jobs

    @property
    def name(self) -> str:
        return f"lead_{self.estimator}"

    def frame_from_tables(self, tables, as_of=None) -> pd.DataFrame:
        """The leads table (of a dict of tables or a Simulation): what the model fits on and
        scores (open leads are scored, closed ones train it). A given ``as_of`` is recorded
        in ``attrs`` (it becomes the fitted model's ``as_of_``)."""
        leads = tables.leads if hasattr(tables, "leads") else tables["leads"]
        if as_of is not None:
            leads = leads.copy(deep=False)
            leads.attrs = {**leads.attrs, "as_of": str(pd.Timestamp(as_of).date())}
        return leads

    def fit_tables(self, tables, as_of=None) -> "LeadModel":
        """Fit on the leads as they were known at ``as_of`` (:func:`leads_known_at`): leads
        decided later are open then, so their later outcomes are no training labels.
        Scoring reads the leads whole (every open lead is scored)."""
        leads = self.frame_from_tables(tables, as_of)
        if as_of is not None:
            from .timesplit import leads_known_at
            attrs = leads.attrs
            leads = leads_known_at(leads, as_of)
            leads.attrs = attrs
        return self.fit(leads)

    def fit(self, leads: pd.DataFrame, source: str = "leads") -> "LeadModel":
        """Fit on leads whose outcome is known (open leads are left out); returns ``self``."""
        return self._set_fitted(**fit_state(
            leads, kind=self.estimator, calibration=self.calibration, features=self.features,
            random_state=self.random_state, check_leakage=self.check_leakage, source=source,
            n_jobs=self.n_jobs))

    def _set_fitted(self, *, encoding, engine, calibrator, classifier: dict, features: list,
                    kinds: list, references: list, grid, config: dict, training: dict,
                    model_id: str, versions: dict, as_of=None, pipeline=None,
                    reference_profile=None) -> "LeadModel":
        """Set the fitted state (from :func:`fit_lead_model` or a model document)."""
        self.encoding_, self.engine_, self.calibrator_ = encoding, engine, calibrator
        self.classifier_ = classifier
        self.features_, self.kinds_, self.references_ = features, list(kinds), references
        self.grid_ = np.asarray(grid, float)
        self.fit_config_, self.training_, self.model_id_ = dict(config), training, model_id
        self.versions_, self.__dict__["_pipeline"] = dict(versions), pipeline
        self.saved_by_version_ = str(self.versions_.get("tobmodel", "")) or None
        self.as_of_ = as_of
        self.reference_profile_ = reference_profile
        return self

    @property
    def pipeline_(self):
        """The fitted scikit-learn Pipeline, or None (a model loaded from a file).

        A model calibrated on its newest leads fits scikit-learn's calibration of
        the frozen classifier on them when this is first read (LightGBM predicts
        every held-out lead again: about 2.5 s for 220,000), checks it against
        the model's probabilities and keeps it; scoring never needs it.
        """
        if "_pipeline" not in self.__dict__:
            raise AttributeError("this LeadModel is not fitted: it has no pipeline_")
        pipeline = self.__dict__["_pipeline"]
        if isinstance(pipeline, HeldOutCalibration):
            pipeline = self.__dict__["_pipeline"] = pipeline.pipeline()
        return pipeline

    def _check_fitted(self):
        if not hasattr(self, "engine_"):
            raise ValueError("this LeadModel is not fitted yet; call fit(leads)")

    @property
    def feature_names_(self) -> list[str]:
        return list(self.encoding_.names)

    def config_(self) -> dict:
        """Settings that define the model: constructor options and resolved features."""
        return dict(self.fit_config_)

    # -- the model document (format details in :mod:`.persist`) ---------------------------
    def to_document(self) -> dict:
        """The JSON-ready model document (loading it never runs code)."""
        from .persist import lead_document
        self._check_fitted()
        return json_ready(lead_document(self))

    @classmethod
    def from_document(cls, doc: dict) -> "LeadModel":
        """The model a :meth:`to_document` document describes (scores identically)."""
        from .persist import lead_state
        state = lead_state(doc)
        cfg = state["config"]
        m = cls(estimator=cfg["kind"], calibration=cfg.get("calibration"),
                features=cfg.get("features"), random_state=int(cfg.get("random_state", 0)))
        return m._set_fitted(**state)

    def check_schema(self, leads: pd.DataFrame, source: str = "leads",
                     allow_unknown_categories: bool = False) -> None:
        """Raise ``SchemaMismatchError`` (one line) unless ``leads`` carry the model's features.

        Names missing columns, wrong dtypes and, unless allowed, category values
        the model never saw (:meth:`score` allows them: it scores them as unknown
        with an :class:`~tobmodel.leads.UnknownCategoryWarning`).
        """
        if not isinstance(leads, pd.DataFrame):
            raise TypeError(f"{source}: expected a pandas DataFrame of leads, got "
                            f"{type(leads).__name__}")
        self._check_fitted()
        check_schema(leads, self.features_, source=source,
                     allow_unknown_categories=allow_unknown_categories)

    def _encode(self, leads: pd.DataFrame, source: str):
        self.check_schema(leads, source, allow_unknown_categories=True)
        check_feature_frame(leads, self.feature_names_, source=source, training=False)
        return self.encoding_.encode(leads, source=source)

    def _run(self, leads, source, want_effects, progress):
        Z = self._encode(leads, source)
        p = np.empty(len(Z))
        E = np.empty((len(Z), len(self.feature_names_))) if want_effects else None
        for part in chunks(len(Z), progress, self.engine_.chunk_rows):
            state = self.engine_.prepare(Z[part])
            p[part] = self.calibrator_(state.raw)
            if want_effects:
                E[part] = effects(state, self.calibrator_, p[part], self.references_)
        return Z, p, E

    def predict_proba(self, leads: pd.DataFrame, source: str = "leads") -> np.ndarray:
        """Probability that each lead converts (1-d array, aligned with ``leads``)."""
        return self._run(leads, source, False, False)[1]

    def explain(self, leads: pd.DataFrame, source: str = "leads",
                progress: bool | None = None) -> pd.DataFrame:
        """Effect of each feature on each lead's probability (see :mod:`.reasons`).

        Returns one row per lead: ``lead_id``, ``p_convert`` and one column per
        feature in probability points (+0.05 = raises it by 5 points).
        """
        _, p, E = self._run(leads, source, True, progress)
        out = pd.DataFrame(E, columns=self.feature_names_, index=leads.index)
        out.insert(0, "p_convert", p)
        out.insert(0, "lead_id", self._ids(leads))
        return out.reset_index(drop=True)

    def score(self, leads: pd.DataFrame, as_of=None, horizon_months=None, *,
              n_reasons: int = 3, source: str = "leads",
              progress: bool | None = None, checked: bool = False) -> pd.DataFrame:
        """Score leads for sales.

        Parameters
        ----------
        leads : DataFrame
            Needs the model's feature columns (extra columns are ignored).
            Category values the model never saw (and empty categories) are scored
            as unknown, with one :class:`~tobmodel.leads.UnknownCategoryWarning`
            naming the column, the values and the row count: the logistic model
            gives them no category effect, boosting sends them down each split's
            missing-value branch (scikit-learn's own handling). Missing columns,
            wrong types and empty numbers raise an error naming them.
        as_of, horizon_months
            Accepted for the scoring protocol and ignored: a lead's probability
            of converting depends only on what was known when it was scored.
        n_reasons : int
            Reasons per lead (0 skips them, which is several times faster).
        source : str
            Table or file name used in messages.
        progress : bool, optional
            Progress bar; default only on a terminal and for large inputs.
        checked : bool
            Accepted for the protocol (:mod:`tobmodel.protocol`) and ignored: the
            lead model's own checks (columns, dtypes) stay; the export's row checks
            have already rejected unknown categories.

        Returns
        -------
        DataFrame
            ``lead_id, p_convert, score, grade, reasons``, one row per lead, in input order.
        """
        Z, p, E = self._run(leads, source, n_reasons > 0, progress)
        reasons = reason_text(E, Z, self.encoding_, self.kinds_, n_reasons) if n_reasons > 0 \
            else np.full(len(p), "", dtype=object)
        return scored_frame(self._ids(leads), p, score_from_probability(p, self.grid_), reasons)

    @staticmethod
    def _ids(leads):
        return leads["lead_id"].to_numpy() if "lead_id" in leads.columns else leads.index.to_numpy()

    def __repr__(self) -> str:
        if not hasattr(self, "training_"):
            return (f"LeadModel(estimator={self.estimator!r}, calibration={self.calibration!r})"
                    " (not fitted)")
        t = self.training_
        cal = self.fit_config_.get("calibration")
        return (f"LeadModel({self.estimator!r}, calibration={cal!r}, id={self.model_id!r}, "
                f"{len(self.feature_names_)} features; trained on {t['n_train']:,} closed leads "
                f"({t['n_converted']:,} converted), {t['n_open_excluded']:,} open leads left out)")


def fit_lead_model(leads: pd.DataFrame, kind: str = "hgb", calibration: str | None = "sigmoid",
                   features=None, random_state: int = 0, check_leakage: bool = True,
                   source: str = "leads", n_jobs: int = 1) -> "LeadModel":
    """Fit a calibrated lead-quality model on leads whose outcome is known.

    Parameters
    ----------
    leads : DataFrame
        The leads table (see ``data/README.md``). Open leads are left out and
        counted in ``model.training_["n_open_excluded"]``.
    kind, calibration, random_state
        See :func:`~tobmodel.leads.make_lead_model`. With a calibration, the
        classifier is fitted on the older 80% of closed leads and the
        calibration on the newest 20% (whole days by ``created_date``), once:
        no cross-validated refits. Below 50,000 closed leads (or with fewer
        than 100 converted or lost leads in either part), the calibration uses
        3-fold out-of-fold predictions and the classifier all leads. Without
        calibration, all closed leads train.
    features : list of str, optional
        Default: every column known when a lead is scored
        (:data:`~tobmodel.leads.features.DEFAULT_FEATURES`), plus
        ``business_type`` when the leads mix several business types.
    check_leakage : bool
        Refuse features that alone separate converted from lost leads (AUC > 0.99).
        Columns the schema marks as known only after the outcome are always refused.
    source : str
        Table or file name used in messages.
    n_jobs : int
        LightGBM's threads (``kind="hgb"``): default 1, safe on a machine shared with
        other jobs; 2 or more (-1: every core) on cores of the job's own. The same
        trees and model id for any number (``deterministic=True``).

    Returns
    -------
    LeadModel

    Raises
    ------
    LeakageError, LeadDataError
        With the column, the reason and example rows.
    """
    return LeadModel(estimator=kind, calibration=calibration, features=features,
                     random_state=random_state, check_leakage=check_leakage,
                     n_jobs=n_jobs).fit(leads, source)


def fit_channel_baseline(leads: pd.DataFrame, source: str = "leads") -> LeadModel:
    """The naive model: conversion by acquisition channel only (logistic, uncalibrated)."""
    return fit_lead_model(leads, kind="logistic", calibration=None, features=["channel"],
                          source=source)
