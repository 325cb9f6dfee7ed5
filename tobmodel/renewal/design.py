"""Shared machinery of the renewal models: design encoding, input checks, fitting steps.

The concrete models live in :mod:`.cox` (Cox proportional hazards) and
:mod:`.parametric` (Weibull and log-logistic AFT). Every model reduces a
fitted lifelines object to plain arrays (coefficients, centres, baseline), so
a model loaded from JSON scores exactly like the one that was fitted.

Categorical covariates are one-hot encoded. The **reference level** of each is
its most common value in the training data (ties: the first in category
order), so effects read "compared with the typical customer". Design columns
come in covariate order and, within a covariate, in category order; a level is
named ``covariate=level``.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..persist import SchemaMismatchError, feature_schema
from ..io.values import show, show_ids
from .checks import check_durations_events, check_missing, check_penalizer
from .features import BOOLEAN, CATEGORICAL, NUMERIC, SNAPSHOT_ONLY

TIMING = ("tenure_months", "months_to_next_renewal", "next_renewal_date")
EVENTS_PER_PARAMETER = 10


class RenewalFitWarning(UserWarning):
    """A renewal model was fitted, but on shaky ground (few events, separation, ...)."""


def _is_categorical(s: pd.Series) -> bool:
    return isinstance(s.dtype, pd.CategoricalDtype) or s.dtype == object or \
        pd.api.types.is_string_dtype(s.dtype)


def level_codes(s: pd.Series, levels) -> np.ndarray:
    """Index of each value in ``levels`` (-1 if missing or unknown), without per-row Python."""
    levels = list(levels)
    if isinstance(s.dtype, pd.CategoricalDtype):
        where = {v: i for i, v in enumerate(levels)}
        mapping = np.array([where.get(str(c), -1) for c in s.cat.categories] + [-1],
                           dtype=np.int64)
        return mapping[s.cat.codes.to_numpy().astype(np.int64)]
    vals = s.astype("object")
    vals = vals.where(vals.isna(), vals.astype(str))
    return pd.Categorical(vals, categories=levels).codes.astype(np.int64)


class DesignEncoder:
    """Turns covariate columns into a numeric design, and back into per-covariate terms.

    Parameters
    ----------
    covariates : list of str
        In design order.
    categorical : dict
        ``name -> {"levels": [...], "reference": level}`` for categorical covariates;
        every other covariate is numeric (booleans as 0/1).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"tier": ["SMB", "KA", "SMB"], "log_seats": [1.0, 5.0, 2.0]})
    >>> enc = DesignEncoder.fit(df, ["tier", "log_seats"])
    >>> enc.columns, enc.categorical["tier"]["reference"]
    (['tier=KA', 'log_seats'], 'SMB')
    """

    def __init__(self, covariates, categorical):
        self.covariates = list(covariates)
        self.categorical = {k: {"levels": list(v["levels"]), "reference": v["reference"]}
                            for k, v in categorical.items()}

    @classmethod
    def fit(cls, df: pd.DataFrame, covariates) -> "DesignEncoder":
        cats = {}
        for c in covariates:
            s = df[c]
            if not _is_categorical(s):
                continue
            counts = s.astype("object").astype(str).where(s.notna()).value_counts()
            order = ([str(x) for x in s.cat.categories] if isinstance(s.dtype, pd.CategoricalDtype)
                     else sorted(counts.index))
            levels = [lv for lv in order if counts.get(lv, 0) > 0]
            ref = max(levels, key=lambda lv: (counts[lv], -levels.index(lv)))
            cats[c] = {"levels": levels, "reference": ref}
        return cls(covariates, cats)

    @property
    def columns(self) -> list[str]:
        out = []
        for c in self.covariates:
            if c in self.categorical:
                spec = self.categorical[c]
                out += [f"{c}={lv}" for lv in spec["levels"] if lv != spec["reference"]]
            else:
                out.append(c)
        return out

    @property
    def column_groups(self) -> np.ndarray:
        """Covariate index of every design column."""
        out = []
        for i, c in enumerate(self.covariates):
            k = len(self.categorical[c]["levels"]) - 1 if c in self.categorical else 1
            out += [i] * k
        return np.asarray(out, dtype=np.int64)

    def codes(self, df: pd.DataFrame, name: str) -> np.ndarray:
        return level_codes(df[name], self.categorical[name]["levels"])

    def numeric(self, df: pd.DataFrame, name: str) -> np.ndarray:
        return df[name].to_numpy(dtype=float, na_value=np.nan)

    def matrix(self, df: pd.DataFrame) -> np.ndarray:
        """Design matrix (n x p): numeric as is, categoricals as 0/1 per non-reference level."""
        cols = []
        for c in self.covariates:
            if c in self.categorical:
                spec = self.categorical[c]
                code = self.codes(df, c)
                for i, lv in enumerate(spec["levels"]):
                    if lv != spec["reference"]:
                        cols.append((code == i).astype(float))
            else:
                cols.append(self.numeric(df, c))
        return np.column_stack(cols) if cols else np.zeros((len(df), 0))

    def terms(self, df: pd.DataFrame, coef: np.ndarray, center: np.ndarray,
              unknown_as_reference: bool = False):
        """Yield ``(covariate, (x - center) . beta)`` for each covariate, one array per covariate."""
        j = 0
        for c in self.covariates:
            if c in self.categorical:
                spec = self.categorical[c]
                k = len(spec["levels"]) - 1
                b, m = coef[j:j + k], center[j:j + k]
                table = np.zeros(len(spec["levels"]) + 1)  # last slot: unknown level
                nonref = [i for i, lv in enumerate(spec["levels"]) if lv != spec["reference"]]
                table[nonref] = b
                table -= float(m @ b)
                code = self.codes(df, c)
                if not unknown_as_reference and (code < 0).any():
                    raise SchemaMismatchError(f"column {c!r} has values the model never saw")
                yield c, table[code]
                j += k
            else:
                yield c, (self.numeric(df, c) - center[j]) * coef[j]
                j += 1

    def to_dict(self) -> dict:
        return {"covariates": self.covariates, "categorical": self.categorical}

    @classmethod
    def from_dict(cls, d: dict) -> "DesignEncoder":
        return cls(d["covariates"], d["categorical"])


# ---------------------------------------------------------------- input checks


def check_survival_columns(df: pd.DataFrame, source: str = "features") -> None:
    """Durations must be positive and finite; churned must be 0/1; some churn must be seen."""
    for c in ("tenure_months", "churned"):
        if c not in df:
            raise ValueError(f"{source}: column {c!r} is missing; build the frame with "
                             "tobmodel.renewal.build_account_features(tables)")
    _, ev = check_durations_events(df, source=source,
                                   advice="drop them or fix their start and end dates")
    if ev.sum() == 0:
        raise ValueError(
            f"{source}: no churn observed among {len(df)} accounts (all censored), so a churn "
            "model cannot be fitted; use a longer history or a later as_of")


def _is_constant(s: pd.Series) -> bool:
    return s.nunique(dropna=True) <= 1


def resolve_covariates(df: pd.DataFrame, covariates, exclude=(), source="features"):
    """The covariates to fit: given ones (checked) or the defaults present in ``df``.

    Returns ``(covariates, dropped)``; default covariates that are constant are
    dropped (listed in ``dropped``); a constant covariate named by the caller
    is an error.
    """
    if covariates is None:
        cand = [c for c in (*CATEGORICAL, *BOOLEAN, *NUMERIC) if c in df and c not in exclude]
        if not cand:  # not account features: any survival data, every other column
            skip = {"tenure_months", "churned", "account_id", "active", "as_of", *TIMING,
                    *exclude}
            cand = [c for c in df.columns if c not in skip and df[c].dtype.kind != "M"]
        keep = [c for c in cand if not _is_constant(df[c])]
        return keep, [c for c in cand if c not in keep]
    covariates = list(covariates)
    for c in set(covariates) & set(SNAPSHOT_ONLY):
        warnings.warn(f"{source}: covariate {c!r} is measured at the snapshot and follows from "
                      "the churn rule (a lapse is 12 months without an order), so it leaks the "
                      "outcome into a model of tenure; model the gaps between orders instead",
                      RenewalFitWarning, stacklevel=3)
    missing = [c for c in covariates if c not in df]
    if missing:
        raise ValueError(f"{source}: covariate column(s) {missing} not found")
    for c in covariates:
        if _is_constant(df[c]):
            v = df[c].dropna().iloc[0] if df[c].notna().any() else "missing"
            raise ValueError(
                f"{source}: covariate {c!r} is constant (every account has {v!r}), so its "
                f"effect cannot be estimated; drop it from covariates")
    return covariates, []


def check_separation(df: pd.DataFrame, encoder: DesignEncoder, event: np.ndarray,
                     penalizer: float, source: str = "features") -> None:
    """A level (or yes/no value) with no churners, or only churners, has an infinite effect."""
    if penalizer > 0:
        return
    for c in encoder.covariates:
        if c in encoder.categorical:
            code = encoder.codes(df, c)
            groups = [(f"level {lv!r}", code == i)
                      for i, lv in enumerate(encoder.categorical[c]["levels"])]
        elif df[c].dtype == bool or set(np.unique(df[c].to_numpy(dtype=float))) <= {0.0, 1.0}:
            x = df[c].to_numpy(dtype=float)
            groups = [("value 1/True", x == 1), ("value 0/False", x == 0)]
        else:
            continue
        for label, g in groups:
            n_g, e_g = int(g.sum()), int(event[g].sum())
            if n_g and (e_g == 0 or e_g == n_g):
                what = "no churners" if e_g == 0 else "only churners"
                raise ValueError(
                    f"{source}: covariate {c!r} {label} has {what} among its {n_g} accounts "
                    "(perfect separation: its hazard ratio would be infinite); merge the level "
                    f"with a neighbour, drop {c!r}, or fit with penalizer=0.1")


def warn_events_per_parameter(n_events: int, n_params: int, stacklevel=4) -> None:
    if n_params and n_events / n_params < EVENTS_PER_PARAMETER:
        warnings.warn(
            f"only {n_events} churn events for {n_params} model parameters "
            f"({n_events / n_params:.1f} per parameter, fewer than {EVENTS_PER_PARAMETER}): "
            "estimates will be unstable; use fewer covariates (covariates=[...]), a penalizer "
            "(penalizer=0.1) or more history", RenewalFitWarning, stacklevel=stacklevel)


def warn_near_separation(names, coef, sd, limit=8.0, stacklevel=4) -> None:
    """Warn when one standard deviation of a covariate multiplies the hazard by > e^limit."""
    size = np.abs(np.asarray(coef) * np.asarray(sd))
    bad = [n for n, v in zip(names, size) if v > limit]
    if bad:
        warnings.warn(
            f"covariate(s) {bad} almost separate churners from customers who stay (one standard "
            f"deviation changes the hazard more than e^{limit:g}-fold): check them for leakage "
            "(measured after churn?), drop them, or raise penalizer", RenewalFitWarning,
            stacklevel=stacklevel)


def convergence_advice(error: Exception, names, X: np.ndarray) -> str:
    """One sentence on why a lifelines fit failed and what to try."""
    advice = ["raise penalizer (e.g. penalizer=0.1)"]
    if X.shape[1] > 1:
        with np.errstate(invalid="ignore", divide="ignore"):
            cor = np.corrcoef(X, rowvar=False)
        np.fill_diagonal(cor, 0)
        i, j = np.unravel_index(np.nanargmax(np.abs(cor)), cor.shape)
        if np.abs(cor[i, j]) > 0.95:
            advice.append(f"drop {names[j]!r} (correlation {cor[i, j]:.2f} with {names[i]!r})")
    sd = X.std(axis=0)
    small = [n for n, v in zip(names, sd) if v < 1e-3]
    if small:
        advice.append(f"drop near-constant {small}")
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return f"the fit did not converge ({first[:160]}); " + "; or ".join(advice)


# ---------------------------------------------------------------- scoring input


def score_inputs(model, df: pd.DataFrame, as_of=None, source="data", checked: bool = False):
    """Check ``df`` against the model and return (as_of, active mask).

    ``checked=True`` (the protocol's: the rows were checked by the export's row
    checks) skips the per-row checks of categories and missing values; the
    columns, their dtypes and the frame's as-of date are checked either way.
    """
    from ..persist import check_schema
    if model.id_column not in df:
        raise SchemaMismatchError(f"{source}: data does not match the model's features: "
                                  f"missing column {model.id_column!r}")
    check_schema(df.iloc[:0], model.features_, source=source)
    active = (df["active"].to_numpy().astype(bool) if "active" in df
              else np.ones(len(df), dtype=bool))
    if not checked:
        _check_rows(model, df, active, source)
    return _score_as_of(df, as_of, source), active


def _check_rows(model, df, active, source):
    """Per-row checks of what :func:`score_inputs` scores: known categories, no missing
    or infinite covariates, timing columns of active rows."""
    for c in model.encoder_.categorical:
        code = model.encoder_.codes(df, c)
        bad = (code < 0) & df[c].notna().to_numpy()
        if bad.any() and not model.allow_unknown_categories:
            vals = df[c].astype("object")[bad].unique()
            raise SchemaMismatchError(
                f"{source}: column {c!r} has values the model never saw: "
                f"{show(vals)} ({show_ids(df, bad)}; known: "
                f"{', '.join(model.encoder_.categorical[c]['levels'])}); refit the model or "
                "pass allow_unknown_categories=True to score them as the reference level")
    check_missing(df, [*model.covariates_, *getattr(model, "strata_", [])], source)
    check_missing(df.loc[active], ["tenure_months", "months_to_next_renewal"], source)


def _score_as_of(df, as_of, source):
    """The scoring date: ``as_of`` if given (it must match the frame's), else the frame's."""
    frame_as_of = None
    if "as_of" in df and len(df):
        vals = pd.to_datetime(pd.unique(df["as_of"].to_numpy())).dropna()  # few distinct
        if len(vals) > 1:
            raise ValueError(f"{source}: rows were built at different as_of dates "
                             f"({show(pd.to_datetime(vals))}); score one "
                             "snapshot at a time")
        frame_as_of = pd.Timestamp(vals[0]) if len(vals) else None
    elif df.attrs.get("as_of"):
        frame_as_of = pd.Timestamp(df.attrs["as_of"])
    if as_of is not None and frame_as_of is not None and pd.Timestamp(as_of) != frame_as_of:
        raise ValueError(
            f"{source}: the features were built as of {frame_as_of.date()} but as_of="
            f"{pd.Timestamp(as_of).date()}; rebuild them with "
            f"build_account_features(tables, as_of='{pd.Timestamp(as_of).date()}')")
    return pd.Timestamp(as_of) if as_of is not None else frame_as_of


def schema_for(features: pd.DataFrame, encoder: DesignEncoder, extra=()) -> list[dict]:
    """Feature schema for the model file; categories are the levels seen in training."""
    cols = [*[c for c in TIMING if c in features], *encoder.covariates, *extra]
    schema = feature_schema(features, cols)
    for f in schema:
        if f["name"] in encoder.categorical:
            f["categories"] = list(encoder.categorical[f["name"]]["levels"])
    return schema


# ---------------------------------------------------------------- shared fitting steps


def training_design(features: pd.DataFrame, covariates, penalizer: float, exclude=()):
    """Check the training frame and encode it.

    Returns ``(encoder, dropped, X, durations, events)``.
    """
    check_penalizer(penalizer)
    check_survival_columns(features)
    covs, dropped = resolve_covariates(features, covariates, exclude=exclude)
    check_missing(features, [*covs, *exclude])
    enc = DesignEncoder.fit(features, covs)
    X = enc.matrix(features)
    T = features["tenure_months"].to_numpy(dtype=float)
    E = pd.to_numeric(features["churned"].astype("object")).to_numpy().astype(np.int64)
    check_separation(features, enc, E, penalizer)
    warn_events_per_parameter(int(E.sum()), X.shape[1], stacklevel=5)
    return enc, dropped, X, T, E


def run_lifelines(label: str, fit, names, X):
    """Call a lifelines ``fit``; convergence failures become advice, not tracebacks."""
    from lifelines.exceptions import ConvergenceError, ConvergenceWarning
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = fit()
    except (ConvergenceError, np.linalg.LinAlgError) as e:
        raise ValueError(f"{label}: " + convergence_advice(e, names, X)) from None
    for w in caught:
        if issubclass(w.category, ConvergenceWarning):
            first = str(w.message).strip().splitlines()[0]
            warnings.warn(f"{label}: lifelines reports: {first[:200]} -- consider a penalizer "
                          "(penalizer=0.1) or dropping that covariate", RenewalFitWarning,
                          stacklevel=4)
    return result


def snapshot_info(features: pd.DataFrame):
    """``(as_of, business_type)`` of a features frame, as plain strings (or None)."""
    as_of = (str(pd.Timestamp(features["as_of"].iloc[0]).date())
             if "as_of" in features and len(features) else features.attrs.get("as_of"))
    return as_of, features.attrs.get("business_type")


#: renewal models fitted on per-account features (names in :data:`tobmodel.registry.MODEL_CLASSES`)
MODELS = ("cox", "weibull_aft", "loglogistic_aft")


def model_class(name: str):
    """The class of renewal model ``name`` (one of :data:`MODELS`)."""
    if name not in MODELS:
        raise ValueError(f"unknown renewal model {name!r}; choose one of {sorted(MODELS)}")
    from ..registry import model_class as registered
    return registered(name)


def fit_renewal_model(features: pd.DataFrame, model: str = "cox", *,
                      duration_col: str = "tenure_months", event_col: str = "churned",
                      **options):
    """Fit a renewal (churn-timing) model on :func:`build_account_features` output, or a
    survival model on any DataFrame with a duration and an event column.

    Parameters
    ----------
    features : DataFrame
        One row per account (or subject) with a duration, a 0/1 event and covariates.
    model : {"cox", "weibull_aft", "loglogistic_aft"}
    duration_col, event_col : str
        Names of the duration and event columns (default the account features'
        ``tenure_months`` and ``churned``), as in lifelines' ``fit(df, duration_col,
        event_col)``. No id or date column is needed to fit; scoring churn at the
        next renewal needs the account timing columns.
    **options
        Constructor options of the model class (``covariates``, ``penalizer``,
        and for Cox ``strata``, ``baseline``, ``l1_ratio``).

    Returns
    -------
    fitted :class:`~tobmodel.renewal.cox.CoxRenewalModel` or parametric model

    Examples
    --------
    >>> import tobmodel
    >>> from tobmodel.renewal import build_account_features, fit_renewal_model
    >>> f = build_account_features(tobmodel.simulate("tool", n_accounts=500, seed=5))
    >>> m = fit_renewal_model(f, "weibull_aft", covariates=["tier", "logins_trend"])
    >>> m.name, m.model_id.startswith("weibull_aft-")
    ('weibull_aft', True)

    Any survival data, e.g. lifelines' Rossi recidivism data:

    >>> from lifelines.datasets import load_rossi
    >>> cox = fit_renewal_model(load_rossi(), duration_col="week", event_col="arrest",
    ...                         strata=["race"])
    >>> round(cox.log_likelihood_, 1) < 0, cox.strata_
    (True, ['race'])
    """
    return model_class(model)(**options).fit(
        as_survival_frame(features, duration_col, event_col))


def as_survival_frame(df: pd.DataFrame, duration_col: str = "tenure_months",
                      event_col: str = "churned") -> pd.DataFrame:
    """``df`` with its duration and event columns named ``tenure_months`` and ``churned``."""
    if (duration_col, event_col) == ("tenure_months", "churned"):
        return df
    for what, c in (("duration_col", duration_col), ("event_col", event_col)):
        if c not in df:
            raise ValueError(f"data: {what}={c!r} is not a column (has: "
                             f"{', '.join(map(str, df.columns[:8]))})")
    if duration_col == event_col:
        raise ValueError("data: duration_col and event_col must be two different columns")
    clash = [c for c in ("tenure_months", "churned") if c in df and c not in (duration_col,
                                                                             event_col)]
    if clash:
        raise ValueError(f"data: has a column {clash[0]!r} beside duration_col={duration_col!r}"
                         f" / event_col={event_col!r}; drop or rename it")
    return df.rename(columns={duration_col: "tenure_months", event_col: "churned"})
