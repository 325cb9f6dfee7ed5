"""Churn by cause: cause-specific discrete-time hazards and cumulative incidence.

Customer success acts differently per cause (a product-fit gap needs the
product team or an honest reset of expectations; a competitor needs a
commercial answer; price a discount; disengagement training). Each churned
contract records a reason (``contracts.churn_reason``: ``product_fit``,
``competitor``, ``price``, ``disengaged``, ``other``). One
:class:`~tobmodel.renewal.dynamic.DynamicHazardModel` per cause is fitted on
the person-months, with churn for another cause counting as leaving the risk
set (the cause-specific hazard). Projected forward with behaviour held at its
last value, the cumulative incidence of cause c within t months is
``sum_j S(j-1) h_c(j)`` with ``S`` the survival from every cause; the
incidences add up to the all-cause churn probability.

Platforms record no reason (churn is going inactive): not supported there.

Examples
--------
>>> import tobmodel
>>> from tobmodel.renewal.person_months import current_month
>>> sim = tobmodel.simulate("saas", "validation", n_accounts=1500, seed=3)
>>> m = CompetingRisksModel().fit(sim)
>>> cif = m.cumulative_incidence(current_month(sim), 12)
>>> "product_fit" in cif and set(cif) <= set(CHURN_REASONS)
True
>>> bool((sum(v[:, -1] for v in cif.values()) <= 1 + 1e-12).all())
True
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..schema import CHURN_REASONS
from .dynamic import DynamicHazardModel
from .person_months import ID, person_months


def churn_cause_by_account(tables, as_of=None) -> pd.Series:
    """The recorded reason of each account's churn (its first churned contract by as_of)."""
    c = tables["contracts"]
    done = (c["outcome"].astype(str) == "churned")
    if as_of is not None:
        done &= c["end_date"] <= pd.Timestamp(as_of)
    c = c.loc[done, [ID, "end_date", "churn_reason"]].sort_values([ID, "end_date"])
    return c.drop_duplicates(ID).set_index(ID)["churn_reason"].astype(str)


class CompetingRisksModel:
    """One dynamic hazard per churn cause; cumulative incidence per cause.

    Parameters
    ----------
    causes : tuple of str
        Default every reason of :data:`tobmodel.schema.CHURN_REASONS`.
    **options
        Passed to each :class:`DynamicHazardModel`.

    Attributes
    ----------
    models_ : dict
        cause -> fitted :class:`DynamicHazardModel`.
    cause_counts_ : dict
        cause -> number of churns with that reason in training.
    """

    def __init__(self, causes=CHURN_REASONS, **options):
        self.causes = causes
        self.options = options

    def fit(self, data, as_of=None) -> "CompetingRisksModel":
        tables = data.tables if hasattr(data, "tables") else dict(data)
        pm = person_months(tables, as_of=as_of)
        if pm.attrs.get("business_type") == "platform":
            raise ValueError("platform churn (going inactive) records no reason: competing "
                             "risks need contracts.churn_reason")
        cause = churn_cause_by_account(tables, pm.attrs["as_of"])
        row_cause = cause.reindex(pm[ID]).to_numpy()
        event = pm["churn"].to_numpy() == 1
        unknown = event & ~pd.Series(row_cause).isin(self.causes).to_numpy()
        if unknown.any():
            ex = pm.loc[unknown, ID].head(3).tolist()
            raise ValueError(f"contracts: {unknown.sum()} churns without a known churn_reason "
                             f"(account_id {ex}); expected one of {list(self.causes)}")
        self.models_, self.cause_counts_ = {}, {}
        for c in self.causes:  # a handful of causes
            rows = pm.copy(deep=False)
            rows["churn"] = (event & (row_cause == c)).astype(np.int8)
            self.cause_counts_[c] = int(rows["churn"].sum())
            if self.cause_counts_[c]:
                self.models_[c] = DynamicHazardModel(**self.options).fit(rows)
        return self

    def cumulative_incidence(self, current: pd.DataFrame, months: int = 12) -> dict:
        """cause -> (accounts x months) P(churn for that cause within 1..months months)."""
        H = {c: m.project_hazards(current, months) for c, m in self.models_.items()}
        raw = sum(H.values())
        scale = np.where(raw > 1, 1 / np.maximum(raw, 1e-300), 1.0)  # causes share a month
        H = {c: h * scale for c, h in H.items()}
        total = np.minimum(raw, 1.0)
        S = np.cumprod(1 - total, axis=1)
        before = np.column_stack([np.ones(len(current)), S[:, :-1]])
        return {c: np.cumsum(before * h, axis=1) for c, h in H.items()}

    def cause_table(self, current: pd.DataFrame, months: int = 12) -> pd.DataFrame:
        """One row per account: P(churn within ``months``) per cause and the likeliest cause."""
        cif = self.cumulative_incidence(current, months)
        out = pd.DataFrame({f"p_{c}": v[:, -1] for c, v in cif.items()})
        out.insert(0, ID, current[ID].to_numpy())
        cols = [f"p_{c}" for c in cif]
        out["likeliest_cause"] = np.array(list(cif))[out[cols].to_numpy().argmax(axis=1)]
        return out

    def plot_incidence(self, current: pd.DataFrame, months: int = 24, ax=None):
        """Mean cumulative incidence per cause over the next months (stacked); the Axes."""
        import matplotlib.pyplot as plt
        ax = plt.figure().gca() if ax is None else ax
        cif = self.cumulative_incidence(current, months)
        x = np.arange(1, months + 1)
        ax.stackplot(x, *[v.mean(axis=0) for v in cif.values()], labels=list(cif))
        ax.set_xlabel("months from now")
        ax.set_ylabel("share churned, by cause")
        ax.legend(loc="upper left", fontsize="small")
        return ax
