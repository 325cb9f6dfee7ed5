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

from ..persist import check_schema
from .features import check_feature_frame
from .reasons import effects, reason_text
from .scoring import chunks, score_from_probability, scored_frame

__all__ = ["LeadModel"]


class LeadModel:
    """Score leads: probability, score 0-100, grade A-D and top reasons.

    Higher ``p_convert``, score and grade = more likely to convert = a better
    lead (the opposite direction to churn scores, where higher = more risk).

    Attributes
    ----------
    kind, name, id_column, version : str
        Scoring-protocol header: ``'lead'``, ``'lead_hgb'`` / ``'lead_logistic'``,
        ``'lead_id'`` and the tobmodel version that fitted the model.
    model_id : str
        ``lead-<hash>`` of the config, tobmodel version and training data.
    feature_names_ : list of str
        Lead columns the model reads.
    features_ : list of dict
        Feature schema (name, dtype, categories) checked on incoming data.
    config : dict
        ``kind``, ``calibration``, ``random_state``, ``features``...
    training_ : dict
        Leads used: ``n_train``, ``n_converted``, ``n_open_excluded``, dates.
    versions : dict
        Library versions the model was fitted with.
    pipeline_ : sklearn.pipeline.Pipeline or None
        The fitted scikit-learn Pipeline (None for a model loaded from a file).
    """

    def __init__(self, encoding, engine, calibrator, spec: dict, *, features: list,
                 kinds: list, references: list, grid, config: dict, training: dict,
                 model_id: str, versions: dict, pipeline=None):
        self.encoding, self.engine, self.calibrator, self.spec = encoding, engine, calibrator, spec
        self.features_, self.kinds, self.references = features, list(kinds), references
        self.grid = np.asarray(grid, float)
        self.config, self.training_, self.model_id = config, training, model_id
        self.versions, self.pipeline_ = versions, pipeline

    kind = "lead"  # the scoring protocol's model kind (the estimator is ``estimator``)
    id_column = "lead_id"

    @property
    def feature_names_(self) -> list[str]:
        return list(self.encoding.names)

    @property
    def estimator(self) -> str:
        """``'hgb'`` or ``'logistic'``."""
        return self.config["kind"]

    @property
    def name(self) -> str:
        return f"lead_{self.estimator}"

    @property
    def version(self) -> str:
        """tobmodel version that fitted the model."""
        return str(self.versions.get("tobmodel", ""))

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
        check_schema(leads, self.features_, source=source,
                     allow_unknown_categories=allow_unknown_categories)

    def _encode(self, leads: pd.DataFrame, source: str):
        self.check_schema(leads, source, allow_unknown_categories=True)
        check_feature_frame(leads, self.feature_names_, source=source, training=False)
        return self.encoding.encode(leads, source=source)

    def _run(self, leads, source, want_effects, progress):
        Z = self._encode(leads, source)
        p = np.empty(len(Z))
        E = np.empty((len(Z), len(self.feature_names_))) if want_effects else None
        for part in chunks(len(Z), progress, self.engine.chunk_rows):
            state = self.engine.prepare(Z[part])
            p[part] = self.calibrator(state.raw)
            if want_effects:
                E[part] = effects(state, self.calibrator, p[part], self.references)
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
              progress: bool | None = None) -> pd.DataFrame:
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

        Returns
        -------
        DataFrame
            ``lead_id, p_convert, score, grade, reasons``, one row per lead, in input order.
        """
        Z, p, E = self._run(leads, source, n_reasons > 0, progress)
        reasons = reason_text(E, Z, self.encoding, self.kinds, n_reasons) if n_reasons > 0 \
            else np.full(len(p), "", dtype=object)
        return scored_frame(self._ids(leads), p, score_from_probability(p, self.grid), reasons)

    @staticmethod
    def _ids(leads):
        return leads["lead_id"].to_numpy() if "lead_id" in leads.columns else leads.index.to_numpy()

    def save(self, path):
        """Write the model to a JSON file that loads without running code."""
        from .persist import save_lead_model
        return save_lead_model(self, path)

    def __repr__(self) -> str:
        t = self.training_
        cal = self.config.get("calibration")
        return (f"LeadModel({self.estimator!r}, calibration={cal!r}, id={self.model_id!r}, "
                f"{len(self.feature_names_)} features; trained on {t['n_train']:,} closed leads "
                f"({t['n_converted']:,} converted), {t['n_open_excluded']:,} open leads left out)")
