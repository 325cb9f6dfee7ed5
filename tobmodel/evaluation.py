"""What renewal and lead evaluation share: the time split and the calibration plot.

One name, one meaning in :mod:`tobmodel.renewal` and :mod:`tobmodel.leads`:

* ``time_split(data, cutoff, ...)`` returns a :class:`TimeSplit` (``train``,
  ``test``, ``cutoff``, ``as_of``), which also unpacks as ``train, test``;
* ``calibration_table(y_true, y_prob, ..., n_bins=10)`` computes a table with
  the columns ``bin, mean_predicted, observed, lower, upper`` (plus a count:
  ``n_accounts`` or ``n_leads``); ``y_true`` comes first: the outcomes (leads)
  or the test accounts with their follow-up (renewal, where censoring needs
  the durations);
* ``plot_calibration(table, ax=None, label=None)`` draws computed tables (one,
  or a dict ``{name: table}``) and returns the Axes: a plot computes nothing.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from tobmodel.leads import calibration_table
>>> rng = np.random.default_rng(0)
>>> p = rng.uniform(size=400); y = (rng.uniform(size=400) < p).astype(int)
>>> table = calibration_table(y, p, n_bins=4)
>>> list(table.columns[:5])
['bin', 'mean_predicted', 'observed', 'lower', 'upper']
>>> ax = plot_calibration({"model": table})
>>> ax.get_ylabel()
'observed conversion rate'
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["TimeSplit", "CALIBRATION_COLUMNS", "plot_calibration"]

CALIBRATION_COLUMNS = ("bin", "mean_predicted", "observed", "lower", "upper")
_OUTCOME = {  # table.attrs["outcome"] -> (what is predicted, how "observed" is measured)
    "churn": ("churn within the horizon", "observed churn (Kaplan-Meier)"),
    "conversion": ("conversion", "observed conversion rate"),
}


@dataclass
class TimeSplit:
    """A history split at ``cutoff``: ``train`` (known at the cutoff) and ``test`` (after it).

    Unpacks as ``train, test``. ``as_of`` is the date the data were taken
    (the end of the test's follow-up), ``None`` when unknown.
    ``train_outcomes`` (renewal): the same kind of outcomes one window earlier
    (accounts active at ``cutoff - window``, followed up to the cutoff), known at
    the cutoff and on the test's time scale; the censoring distribution of the
    IPCW metrics is estimated from them (scikit-survival's ``survival_train``).
    """

    train: pd.DataFrame
    test: pd.DataFrame
    cutoff: pd.Timestamp
    as_of: pd.Timestamp | None = None
    train_outcomes: pd.DataFrame | None = None

    def __iter__(self):
        return iter((self.train, self.test))

    def horizon_time(self, horizon_months: float) -> float:
        """The horizon in the months of ``duration_months`` (calendar months from the cutoff).

        With the package's one month convention this is ``horizon_months`` itself.
        """
        from .survival import add_calendar_months, calendar_months
        start = np.array([self.cutoff.to_datetime64()], dtype="datetime64[ns]")
        return float(calendar_months(start, add_calendar_months(start, int(horizon_months)))[0])


def _tables(table) -> dict:
    if isinstance(table, pd.DataFrame):
        return {None: table}
    if isinstance(table, dict) and all(isinstance(t, pd.DataFrame) for t in table.values()):
        return dict(table)
    raise TypeError("plot_calibration takes a table from calibration_table(y_true, y_prob) or a "
                    f"dict of them, got {type(table).__name__}; compute the table first")


def plot_calibration(table, ax=None, label: str | None = None):
    """Predicted vs observed per bin of the prediction, with intervals; the diagonal is perfect.

    Parameters
    ----------
    table : DataFrame or dict of name -> DataFrame
        Output of ``calibration_table`` (renewal or leads): columns
        ``mean_predicted, observed, lower, upper``.
    ax : matplotlib Axes, optional
        Drawn on a new figure when omitted.
    label : str, optional
        Legend label of a single table (a dict's keys label its tables).

    Returns
    -------
    matplotlib Axes
    """
    tables = _tables(table)
    if ax is None:
        import matplotlib.pyplot as plt
        _, ax = plt.subplots(figsize=(5, 5))
    outcomes = {t.attrs.get("outcome", "churn") for t in tables.values()}
    predicted, observed = _OUTCOME[outcomes.pop() if len(outcomes) == 1 else "churn"]
    top = 0.05
    for name, t in tables.items():
        missing = [c for c in CALIBRATION_COLUMNS[1:] if c not in t]
        if missing:
            raise ValueError(f"plot_calibration: the table lacks columns {missing}; pass the "
                             "output of calibration_table(y_true, y_prob)")
        err = np.vstack([t["observed"] - t["lower"], t["upper"] - t["observed"]])
        ax.errorbar(t["mean_predicted"], t["observed"], yerr=np.clip(err, 0, None), fmt="o",
                    capsize=3, label=name or label or "bins of the prediction")
        top = float(np.nanmax([top, t["mean_predicted"].max(), t["upper"].max()]))
    ax.plot([0, top], [0, top], color="0.5", ls="--", label="perfect calibration")
    ax.set_xlabel(f"predicted probability of {predicted} (bin mean)")
    ax.set_ylabel(observed)
    ax.set_title(f"Calibration: predicted vs observed {predicted.split()[0]}")
    ax.legend()
    return ax
