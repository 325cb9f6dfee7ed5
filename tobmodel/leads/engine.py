"""A fitted lead Pipeline as plain numbers: encode leads, raw score, calibrate.

:func:`engine_from_pipeline` reads an uncalibrated Pipeline made by
:func:`~tobmodel.leads.pipeline.make_lead_model` into parts that hold only lists
and arrays (so they can be saved as JSON and rebuilt without running code): the
feature encoding, the classifier (logistic terms or trees). :func:`calibrate_on`
adds the calibrator, fitted on held-out leads. Together they reproduce the
Pipeline's probabilities to rounding error, split a lead's score into
per-feature contributions and answer "what if this one feature had another
value", which the lead reasons need.

Only documented scikit-learn and LightGBM interfaces are read: the one-hot
encoder's ``categories_``, the scaler's ``mean_``/``scale_``, the logistic model's
``coef_``/``intercept_``, LightGBM's ``booster_.dump_model()`` (the trees, and
``pandas_categorical``: the categories by which it coded each categorical column),
and for the calibration the calibrated model's ``predict_proba`` together with
IsotonicRegression's ``X_thresholds_``/``y_thresholds_``. A library release that
changed what these mean is caught when fitting (:func:`calibrate_on` checks
the plain-number model against scikit-learn's calibration of the classifier's
own scores to 1e-9), never when loading: loading needs neither library.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from ..trees import TreeEnsemble, trees_from_lightgbm
from .features import LeadDataError, examples, spread_rows


class UnknownCategoryWarning(UserWarning):
    """Leads carry category values the model never saw; they are scored as unknown."""


class Encoding:
    """How raw lead columns become the model's numeric matrix ``Z`` (one column each).

    Categories become codes 0..K-1 in the order the model learned them; values it
    never saw become NaN ("unknown"). True/false becomes 1/0, numbers stay as they are.
    """

    def __init__(self, names, kinds, categories):
        self.names, self.kinds = list(names), list(kinds)
        self.categories = [None if c is None else [str(v) for v in c] for c in categories]

    def to_dict(self) -> dict:
        return {"names": self.names, "kinds": self.kinds, "categories": self.categories}

    @classmethod
    def from_dict(cls, d: dict) -> "Encoding":
        return cls(d["names"], d["kinds"], d["categories"])

    def encode(self, leads: pd.DataFrame, source: str = "leads", warn: bool = True):
        """``Z`` (n x features, float64); unseen categories -> NaN with one warning."""
        Z = np.empty((len(leads), len(self.names)), order="F")  # read a feature at a time
        unseen = {}
        for j, (name, kind, cats) in enumerate(zip(self.names, self.kinds, self.categories)):
            s = leads[name]
            if kind == "category":
                if isinstance(s.dtype, pd.CategoricalDtype):
                    idx = pd.Index(cats).get_indexer(s.cat.categories.astype(str))
                    codes = np.where(s.cat.codes.to_numpy() >= 0,
                                     idx[s.cat.codes.to_numpy()], -1)
                else:
                    codes = pd.Index(cats).get_indexer(s.astype(str))
                    codes[s.isna().to_numpy()] = -1
                bad = codes < 0
                if bad.any():
                    unseen[name] = (int(bad.sum()), s[bad].astype("object").unique())
                Z[:, j] = np.where(bad, np.nan, codes)
            else:
                Z[:, j] = pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64,
                                                                      na_value=np.nan)
        if unseen and warn:
            what = "; ".join(f"{n!r}: {k} rows ({examples(repr(v) for v in vals)})"
                             for n, (k, vals) in unseen.items())
            warnings.warn(f"{source}: category values the model never saw, scored as unknown "
                          f"(no category effect / the model's missing-value branch): {what}",
                          UnknownCategoryWarning, stacklevel=3)
        return Z


class LogisticTerms:
    """Logistic regression as a sum of one term per raw feature plus an intercept."""

    def __init__(self, intercept: float, terms: list[dict]):
        self.intercept = float(intercept)
        self.terms = terms
        self._w = [np.append(np.asarray(t["weights"], float), 0.0) if "weights" in t else None
                   for t in terms]  # last weight: unknown category, no effect

    def to_dict(self) -> dict:
        return {"intercept": self.intercept, "terms": self.terms}

    def term(self, j: int, z: np.ndarray) -> np.ndarray:
        t = self.terms[j]
        if self._w[j] is not None:
            codes = np.where(np.isnan(z), len(self._w[j]) - 1, z).astype(np.intp)
            return self._w[j][codes]
        x = np.log1p(z) if t.get("log1p") else z
        return t["coef"] * ((x - t["mean"]) / t["scale"])

    chunk_rows = 65_536

    def prepare(self, Z: np.ndarray) -> "_LogisticState":
        return _LogisticState(self, Z)


class _LogisticState:
    def __init__(self, lr: LogisticTerms, Z: np.ndarray):
        self.lr, self.Z = lr, Z
        self.terms = np.column_stack([lr.term(j, Z[:, j]) for j in range(Z.shape[1])]) \
            if Z.shape[1] else np.zeros((len(Z), 0))
        self.raw = lr.intercept + self.terms.sum(axis=1)

    def raw_with(self, j: int, values) -> np.ndarray:
        alt = self.lr.term(j, np.asarray(values, dtype=np.float64))
        return (self.raw - self.terms[:, j])[:, None] + alt[None, :]


class Calibrator:
    """Raw score (log-odds) to probability: logistic link, Platt (sigmoid) or isotonic.

    ``input`` says what the sigmoid or isotonic map reads: ``"raw"``, the log-odds
    (a logistic model's ``decision_function``), or ``"probability"``, the
    classifier's own probability ``expit(raw)`` (LightGBM, which has no
    ``decision_function``).
    """

    INPUTS = ("raw", "probability")

    def __init__(self, method: str | None = None, a: float = 0.0, b: float = 0.0,
                 x=None, y=None, input: str = "raw"):
        if method not in ("sigmoid", "isotonic", None):
            raise ValueError(f"calibration method {method!r} is not supported")
        if input not in self.INPUTS:
            raise ValueError(f"calibrator input {input!r} is not one of {self.INPUTS}")
        self.method, self.a, self.b, self.input = method, float(a), float(b), input
        self.x = None if x is None else np.asarray(x, float)
        self.y = None if y is None else np.asarray(y, float)
        if method == "isotonic" and (self.x is None or len(self.x) == 0
                                     or self.y is None or len(self.y) != len(self.x)):
            raise ValueError("isotonic calibration needs thresholds x and y of equal length")
        for name, v in (("a", self.a), ("b", self.b), ("x", self.x), ("y", self.y)):
            if v is not None and not np.all(np.isfinite(v)):
                raise ValueError(f"calibrator {name} is not finite")

    def to_dict(self) -> dict:
        d = {"method": self.method}
        if self.method is not None:
            d["input"] = self.input
        if self.method == "sigmoid":
            d |= {"a": self.a, "b": self.b}
        if self.method == "isotonic":
            d |= {"x": self.x.tolist(), "y": self.y.tolist()}
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Calibrator":
        # lead format 1 files have no "input": their maps read the log-odds
        return cls(d["method"], d.get("a", 0.0), d.get("b", 0.0), d.get("x"), d.get("y"),
                   d.get("input", "raw"))

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        if self.method is not None and self.input == "probability":
            raw = expit(raw)
        if self.method == "sigmoid":
            return expit(-(self.a * raw + self.b))
        if self.method == "isotonic":
            if len(self.x) == 1:
                return np.full(np.shape(raw), self.y[0])
            return np.interp(np.clip(raw, self.x[0], self.x[-1]), self.x, self.y)
        return expit(raw)


def _classifier_of(pipeline):
    """The Pipeline's fitted classifier (not calibrated), by its public parameters."""
    from sklearn.calibration import CalibratedClassifierCV

    classify = pipeline.named_steps["classify"]
    if isinstance(classify, CalibratedClassifierCV):
        raise ValueError("engine_from_pipeline reads an uncalibrated lead Pipeline "
                         "(make_lead_model(..., calibration=None)); calibrate_on adds "
                         "the calibration")
    return classify


def engine_from_pipeline(pipeline):
    """``(Encoding, LogisticTerms | TreeEnsemble, Calibrator, spec)`` of a fitted lead Pipeline.

    ``pipeline`` is an uncalibrated Pipeline from
    :func:`~tobmodel.leads.pipeline.make_lead_model`; the calibrator returned is
    the classifier's own link (``expit``). ``spec`` is the JSON-ready
    description of the classifier part.
    """
    from sklearn.linear_model import LogisticRegression

    prepare = pipeline.named_steps["prepare"]
    est = _classifier_of(pipeline)
    names, kinds, cats, parts = [], [], [], []
    for label, tr, cols in prepare.transformers_:
        if label == "remainder" or len(cols) == 0:
            continue
        step = tr.steps[-1][1] if hasattr(tr, "steps") else tr
        for i, col in enumerate(cols):
            names.append(col)
            is_cat = label == "category"
            kinds.append("category" if is_cat else "number")
            cats.append(list(step.categories_[i]) if is_cat and hasattr(step, "categories_")
                        else None)
            parts.append((label, step, i))
    if type(est).__name__ == "LGBMClassifier":
        if list(est.feature_name_) != [str(n) for n in names]:
            raise ValueError(f"LightGBM saw columns {est.feature_name_}, expected {names}")
        dump = est.booster_.dump_model()
        # LightGBM coded each pandas categorical column by its categories, in column order
        pandas_cats = dump.get("pandas_categorical") or []
        at = [k for k, kind in enumerate(kinds) if kind == "category"]
        if len(pandas_cats) != len(at):
            raise ValueError(f"LightGBM saw {len(pandas_cats)} categorical columns, expected "
                             f"the {len(at)} of the pipeline's category step")
        for k, levels in zip(at, pandas_cats):
            cats[k] = list(levels)
        spec = trees_from_lightgbm(dump, [len(c or []) for c in cats])
        return Encoding(names, kinds, cats), TreeEnsemble(spec, [len(c or []) for c in cats]), \
            Calibrator(None), {"estimator": "hgb", "trees": spec}
    encoding = Encoding(names, kinds, cats)
    if not isinstance(est, LogisticRegression):
        raise ValueError(f"unsupported lead classifier {type(est).__name__}")
    coef, at, terms = est.coef_.ravel(), 0, []
    for label, step, i in parts:
        if label == "category":
            k = len(step.categories_[i])
            terms.append({"weights": coef[at:at + k].tolist()})
            at += k
        else:
            terms.append({"coef": float(coef[at]), "mean": float(step.mean_[i]),
                          "scale": float(step.scale_[i]), "log1p": label == "log_number"})
            at += 1
    lr = LogisticTerms(float(est.intercept_[0]), terms)
    return encoding, lr, Calibrator(None), {"estimator": "logistic", "logistic": lr.to_dict()}


CHECK_ROWS = 5_000  # leads on which the plain-number calibration is checked


def calibration_of_scores(f, y, method: str, response: str):
    """scikit-learn's ``CalibratedClassifierCV(method)`` fitted on scores ``f`` of leads ``y``.

    ``response`` names what ``f`` is: ``"decision_function"`` (log-odds) or
    ``"predict_proba"`` (the probability of class 1). The calibration is that of a
    frozen classifier whose scores are its input (column 0 of ``X``): the map
    scikit-learn fits on a classifier giving those scores, without asking the
    classifier for them again. Predict with ``.predict_proba(scores[:, None])``.
    """
    from sklearn.base import BaseEstimator, ClassifierMixin
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.frozen import FrozenEstimator
    from sklearn.utils.metaestimators import available_if

    class Scores(ClassifierMixin, BaseEstimator):
        def __init__(self, response="decision_function"):
            self.response = response

        def fit(self, X, y):
            self.classes_ = np.unique(y)
            return self

        def predict(self, X):
            cut = 0.0 if self.response == "decision_function" else 0.5
            return self.classes_[(np.asarray(X, dtype=np.float64)[:, 0] > cut).astype(np.intp)]

        @available_if(lambda self: self.response == "decision_function")
        def decision_function(self, X):
            return np.asarray(X, dtype=np.float64)[:, 0]

        @available_if(lambda self: self.response == "predict_proba")
        def predict_proba(self, X):
            p = np.asarray(X, dtype=np.float64)[:, 0]
            return np.column_stack([1 - p, p])

    X = np.asarray(f, dtype=np.float64)[:, None]
    # a frozen classifier is not refitted: the folds only split its scores, whatever their number
    return CalibratedClassifierCV(FrozenEstimator(Scores(response).fit(X, y)), method=method,
                                  cv=2).fit(X, y)


def calibrate_on(pipeline, engine, leads: pd.DataFrame, y, raw, method: str | None,
                 source: str = "leads"):
    """Calibrate a fitted, uncalibrated lead Pipeline on held-out ``leads``.

    ``raw`` are the engine's log-odds of ``leads``.

    Returns ``(calibrated, Calibrator)``. The Calibrator is scikit-learn's own
    calibration map (``CalibratedClassifierCV``, ``method``), fitted on the
    engine's scores of the held-out leads and kept as plain numbers (see
    :func:`plain_calibrator`). It is checked against the classifier itself: on
    :data:`CHECK_ROWS` evenly spread held-out leads, the map applied to the
    classifier's own scores must give the Calibrator's probabilities to 1e-9
    (the trees and the map read right). ``calibrated`` is a
    :class:`HeldOutCalibration`: the Pipeline with the classifier becoming
    ``CalibratedClassifierCV(FrozenEstimator(classifier), method)`` fitted on the
    held-out leads, built when first asked for (the classifier predicting every
    held-out lead again costs LightGBM 10 us a lead; the engine has those scores).
    """
    if method is None:
        return pipeline, Calibrator(None)
    est = _classifier_of(pipeline)
    inp = _calibrator_input(est)
    y = np.asarray(y)
    f = raw if inp == "raw" else expit(raw)
    response = "decision_function" if inp == "raw" else "predict_proba"
    cal = calibration_of_scores(f, y, method, response)
    rows = spread_rows(len(raw), CHECK_ROWS)
    own = _response(est, pipeline.named_steps["prepare"].transform(leads.iloc[rows]), response)
    calibrator = plain_calibrator(method, inp, raw, y, f, rows,
                                  cal.predict_proba(own[:, None])[:, 1], source)
    return HeldOutCalibration(pipeline, leads, y, method, calibrator(raw[rows]), rows,
                              source), calibrator


def _response(est, X, response: str) -> np.ndarray:
    """The classifier's scores of ``X`` that scikit-learn's calibration reads."""
    out = getattr(est, response)(X)
    return out[:, 1] if response == "predict_proba" else out


class HeldOutCalibration:
    """scikit-learn's calibration of the frozen classifier on the held-out leads, on demand.

    :meth:`pipeline` fits ``CalibratedClassifierCV(FrozenEstimator(classifier),
    method, cv=2)`` on the held-out leads (only the columns the Pipeline reads are
    kept) and checks its probabilities on the evenly spread leads ``rows`` against
    the plain-number model's ``p_rows`` (1e-9). A frozen classifier is not refitted:
    the 2 folds only split its predictions of the hold-out.
    """

    def __init__(self, pipeline, leads: pd.DataFrame, y, method: str, p_rows, rows,
                 source: str = "leads"):
        prepare = pipeline.named_steps["prepare"]
        used = {c for name, _, cols in prepare.transformers_ if name != "remainder"
                for c in cols}
        keep = [k for k, c in enumerate(leads.columns) if c in used]
        self.base = pipeline
        self.leads = leads if len(keep) == leads.shape[1] else leads.iloc[:, keep]
        self.y, self.method, self.p_rows, self.rows = np.asarray(y), method, p_rows, rows
        self.source = source

    def pipeline(self):
        """The calibrated Pipeline (steps ``prepare`` and ``classify``)."""
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.frozen import FrozenEstimator
        from sklearn.pipeline import Pipeline

        prepare = self.base.named_steps["prepare"]
        cal = CalibratedClassifierCV(FrozenEstimator(_classifier_of(self.base)),
                                     method=self.method, cv=2)
        cal.fit(prepare.transform(self.leads), self.y)
        calibrated = Pipeline([("prepare", prepare), ("classify", cal)])
        gap = float(np.max(np.abs(calibrated.predict_proba(self.leads.iloc[self.rows])[:, 1]
                                  - self.p_rows), initial=0.0))
        if not gap <= 1e-9:
            raise LeadDataError(f"{self.source}: scikit-learn's {self.method} calibration of the "
                                f"classifier differs from the model's by up to {gap:.2g} > 1e-9")
        return calibrated


def _calibrator_input(est) -> str:
    """What scikit-learn's calibration reads: decision_function if there is one."""
    return "raw" if hasattr(est, "decision_function") else "probability"


def calibrate_by_folds(calibrated, pipeline, leads: pd.DataFrame, y, raw, folds: int,
                       source: str = "leads"):
    """The Calibrator of ``calibrated``, a factory Pipeline calibrated by ``folds``-fold CV.

    ``calibrated`` is ``make_lead_model(kind, method, calibration_folds=folds)``
    fitted on ``leads``; ``pipeline`` the same model without calibration, fitted
    on the same leads (the classifier that ``calibrated`` refits on all leads;
    both fits are deterministic), ``raw`` the engine's log-odds of ``leads``. The out-of-fold scores the calibration was
    fitted on are recomputed with ``cross_val_predict`` and the
    ``StratifiedKFold(folds)`` that scikit-learn documents for an integer ``cv``.
    """
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    method = calibrated.named_steps["classify"].method
    est = _classifier_of(pipeline)
    inp = _calibrator_input(est)
    y = np.asarray(y)
    oof = None
    if method == "isotonic":
        Xt = calibrated.named_steps["prepare"].transform(leads)
        response = "decision_function" if inp == "raw" else "predict_proba"
        oof = cross_val_predict(clone(est), Xt, y, cv=StratifiedKFold(folds), method=response)
        if response == "predict_proba":
            oof = oof[:, 1]
    rows = spread_rows(len(raw), CHECK_ROWS)
    return plain_calibrator(method, inp, raw, y, oof, rows,
                            calibrated.predict_proba(leads.iloc[rows])[:, 1], source)


def plain_calibrator(method, inp, raw, y, fitted_on, rows, p_sklearn,
                     source="leads") -> Calibrator:
    """scikit-learn's fitted calibration map as a :class:`Calibrator`, checked to 1e-9.

    ``raw`` are the engine's log-odds of some leads and ``p_sklearn`` the calibrated
    Pipeline's probabilities of the leads at positions ``rows``; the map reads
    ``f``, the log-odds or (``inp="probability"``) the classifier's probability.
    For ``"sigmoid"``, ``a`` and ``b`` of the documented form
    ``p = 1 / (1 + exp(a f + b))`` are solved from them. For ``"isotonic"``, an
    ``IsotonicRegression(out_of_bounds="clip")`` (the calibrator scikit-learn
    documents for that method) is fitted on the scores the calibration was
    fitted on (``fitted_on``, labels ``y``) and its public
    ``X_thresholds_``/``y_thresholds_`` are kept.
    """
    from sklearn.isotonic import IsotonicRegression

    f = (raw if inp == "raw" else expit(raw))[rows]
    if method == "sigmoid":
        ok = (p_sklearn > 1e-12) & (p_sklearn < 1 - 1e-12)
        if ok.sum() >= 2 and np.ptp(f[ok]) > 0:
            # weights dp/dlogit: residuals in probability, so that the rounding of
            # probabilities near 0 or 1 (logit imprecise) does not pull a and b
            w = p_sklearn[ok] * (1 - p_sklearn[ok])
            (a, b), *_ = np.linalg.lstsq(np.column_stack([f[ok], np.ones(ok.sum())]) * w[:, None],
                                         -logit(p_sklearn[ok]) * w, rcond=None)
        else:  # one distinct score: the map is a constant
            a, b = 0.0, float(-logit(np.clip(np.median(p_sklearn), 1e-12, 1 - 1e-12)))
        calibrator = Calibrator("sigmoid", a=a, b=b, input=inp)
    elif method == "isotonic":
        iso = IsotonicRegression(out_of_bounds="clip").fit(fitted_on, np.asarray(y))
        calibrator = Calibrator("isotonic", x=iso.X_thresholds_, y=iso.y_thresholds_, input=inp)
    else:
        raise ValueError(f"calibration method {method!r} is not supported")
    gap = float(np.max(np.abs(calibrator(raw[rows]) - p_sklearn), initial=0.0))
    if not gap <= 1e-9:
        raise LeadDataError(f"{source}: the {method} calibration read from scikit-learn does "
                            f"not reproduce it (differs by up to {gap:.2g} > 1e-9), so it "
                            "cannot be saved as plain numbers; use scikit-learn within "
                            "pyproject.toml's range, or another calibration")
    return calibrator


def engine_from_spec(encoding: Encoding, spec: dict):
    """Rebuild the classifier part saved by :func:`engine_from_pipeline`."""
    if spec.get("estimator") == "hgb":
        return TreeEnsemble(spec["trees"], [len(c or []) for c in encoding.categories])
    if spec.get("estimator") == "logistic":
        d = spec["logistic"]
        return LogisticTerms(d["intercept"], d["terms"])
    raise LeadDataError(f"unknown lead classifier {spec.get('estimator')!r}")
