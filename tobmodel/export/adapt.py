"""Fill small gaps between a model object and the scoring protocol (/docs: model protocol).

The export needs ``kind`` ('renewal' | 'lead'), ``name``, ``model_id``,
``version``, ``id_column``, ``features_``, ``check_schema(df)`` and
``score(df, as_of=..., [horizon_months=...])``. Models that follow the
protocol pass through untouched; a model that lacks some of these (for
example a lead model whose ``kind`` is its estimator, ``'hgb'``) is wrapped,
taking the missing values from its saved header when it came from a file.

Examples
--------
>>> class Bare:
...     kind, model_id, versions = "logistic", "lead-0123", {"tobmodel": "0.1.0"}
...     features_ = [{"name": "intent", "dtype": "number"}]
...     feature_names_ = ["intent"]
...     def score(self, df):
...         return df
>>> m = as_scoring_model(Bare(), header={"kind": "lead", "name": "lead-logistic"})
>>> m.kind, m.name, m.version, m.id_column
('lead', 'lead-logistic', '0.1.0', 'lead_id')
"""
from __future__ import annotations

import inspect

from .specs import ExportError

_ID = {"renewal": "account_id", "lead": "lead_id"}
_REQUIRED = ("kind", "name", "model_id", "version", "id_column", "check_schema")


def _guess_kind(model) -> str | None:
    kind = getattr(model, "kind", None)
    if kind in _ID:
        return kind
    module = type(model).__module__
    for k, pkg in (("lead", "tobmodel.leads"), ("renewal", "tobmodel.renewal")):
        if module.startswith(pkg):
            return k
    return None


def as_scoring_model(model, header: dict | None = None):
    """``model`` itself if it follows the protocol, else a thin wrapper that does."""
    for attr in ("model_id", "score"):
        if not hasattr(model, attr):
            raise ExportError(f"{type(model).__name__} is not a tobmodel scoring model "
                              f"(no {attr!r})")
    if all(hasattr(model, a) for a in _REQUIRED) and getattr(model, "kind", None) in _ID:
        return model
    return ProtocolAdapter(model, header or {})


class ProtocolAdapter:
    """A model seen through the scoring protocol; other attributes pass through."""

    def __init__(self, model, header: dict):
        self._model = model
        self.kind = header.get("kind") or _guess_kind(model)
        if self.kind not in _ID:
            raise ExportError(f"{type(model).__name__}: cannot tell whether it is a renewal or "
                              "a lead model (no kind 'renewal' / 'lead')")
        inner_kind = getattr(model, "kind", None)
        self.name = (getattr(model, "name", None) or header.get("name")
                     or f"{self.kind}-{inner_kind}")
        versions = getattr(model, "versions", None) or header.get("versions") or {}
        self.version = str(getattr(model, "version", None) or versions.get("tobmodel", ""))
        self.id_column = getattr(model, "id_column", None) or _ID[self.kind]
        params = inspect.signature(model.score).parameters
        self._passes = {p for p in ("as_of", "horizon_months", "progress") if p in params}

    def __getattr__(self, attr):
        return getattr(self._model, attr)

    def check_schema(self, df) -> None:
        own = getattr(self._model, "check_schema", None)
        if own is not None:
            own(df)
            return
        from ..persist import check_schema
        check_schema(df, self._model.features_)

    def score(self, df, as_of=None, horizon_months=12):
        kw = {"as_of": as_of, "horizon_months": horizon_months, "progress": False}
        return self._model.score(df, **{k: v for k, v in kw.items() if k in self._passes})
