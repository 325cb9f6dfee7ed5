"""A fitted lead Pipeline as plain numbers: encode leads, raw score, calibrate.

:func:`engine_from_pipeline` reads a Pipeline made by
:func:`~tobmodel.leads.pipeline.make_lead_model` into three parts that hold only
lists and arrays (so they can be saved as JSON and rebuilt without running
code): the feature encoding, the classifier (logistic terms or trees) and the
calibrator. They reproduce the Pipeline's probabilities to rounding error and
also answer "what if this one feature had another value" quickly, which the
lead reasons need.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

from ._trees import TreeEnsemble, trees_from_hgb
from .features import LeadDataError, examples


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
        Z = np.empty((len(leads), len(self.names)))
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
    """Raw score (log-odds) to probability: logistic link, Platt (sigmoid) or isotonic."""

    def __init__(self, method: str | None = None, a: float = 0.0, b: float = 0.0,
                 x=None, y=None):
        self.method, self.a, self.b = method, float(a), float(b)
        self.x = None if x is None else np.asarray(x, float)
        self.y = None if y is None else np.asarray(y, float)

    def to_dict(self) -> dict:
        d = {"method": self.method}
        if self.method == "sigmoid":
            d |= {"a": self.a, "b": self.b}
        if self.method == "isotonic":
            d |= {"x": self.x.tolist(), "y": self.y.tolist()}
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Calibrator":
        return cls(d["method"], d.get("a", 0.0), d.get("b", 0.0), d.get("x"), d.get("y"))

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        if self.method == "sigmoid":
            return expit(-(self.a * raw + self.b))
        if self.method == "isotonic":
            if len(self.x) == 1:
                return np.full(np.shape(raw), self.y[0])
            return np.interp(np.clip(raw, self.x[0], self.x[-1]), self.x, self.y)
        return expit(raw)


def _calibrator_from(classify):
    if not isinstance(classify, CalibratedClassifierCV):
        return classify, Calibrator(None)
    if len(classify.calibrated_classifiers_) != 1:
        raise ValueError("only CalibratedClassifierCV(ensemble=False) lead models are supported")
    cc = classify.calibrated_classifiers_[0]
    cal = cc.calibrators[0]
    if classify.method == "sigmoid":
        return cc.estimator, Calibrator("sigmoid", a=cal.a_, b=cal.b_)
    if classify.method == "isotonic":
        return cc.estimator, Calibrator("isotonic", x=cal.X_thresholds_, y=cal.y_thresholds_)
    raise ValueError(f"calibration method {classify.method!r} is not supported")


def engine_from_pipeline(pipeline):
    """``(Encoding, LogisticTerms | TreeEnsemble, Calibrator, spec)`` of a fitted lead Pipeline.

    ``spec`` is the JSON-ready description of the classifier part.
    """
    prepare, classify = pipeline.named_steps["prepare"], pipeline.named_steps["classify"]
    est, calibrator = _calibrator_from(classify)
    names, kinds, cats, parts = [], [], [], []
    for label, tr, cols in prepare.transformers_:
        if label == "remainder" or len(cols) == 0:
            continue
        step = tr.steps[-1][1] if hasattr(tr, "steps") else tr
        for i, col in enumerate(cols):
            names.append(col)
            is_cat = label == "category"
            kinds.append("category" if is_cat else "number")
            cats.append(list(step.categories_[i]) if is_cat else None)
            parts.append((label, step, i))
    encoding = Encoding(names, kinds, cats)
    if isinstance(est, HistGradientBoostingClassifier):
        spec = trees_from_hgb(est)
        return encoding, TreeEnsemble(spec, [len(c or []) for c in cats]), calibrator, \
            {"estimator": "hgb", "trees": spec}
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
    return encoding, lr, calibrator, {"estimator": "logistic", "logistic": lr.to_dict()}


def engine_from_spec(encoding: Encoding, spec: dict):
    """Rebuild the classifier part saved by :func:`engine_from_pipeline`."""
    if spec.get("estimator") == "hgb":
        return TreeEnsemble(spec["trees"], [len(c or []) for c in encoding.categories])
    if spec.get("estimator") == "logistic":
        d = spec["logistic"]
        return LogisticTerms(d["intercept"], d["terms"])
    raise LeadDataError(f"unknown lead classifier {spec.get('estimator')!r}")
