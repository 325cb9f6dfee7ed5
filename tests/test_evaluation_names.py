"""One name, one meaning in renewal and leads: time_split, calibration_table, plot_calibration."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import tobmodel  # noqa: E402
from tobmodel import leads as L  # noqa: E402
from tobmodel import renewal as R  # noqa: E402
from tobmodel.evaluation import CALIBRATION_COLUMNS, TimeSplit  # noqa: E402


@pytest.fixture(scope="module")
def sim():
    return tobmodel.simulate("saas", n_accounts=400, seed=5)


def test_time_split_returns_the_same_type_in_both(sim):
    r, lead = R.time_split(sim, "2024-11-30"), L.time_split(sim.leads, "2025-01-01")
    assert type(r) is type(lead) is TimeSplit
    for split in (r, lead):
        train, test = split
        assert train is split.train and test is split.test and len(train) and len(test)
    assert lead.cutoff == pd.Timestamp("2025-01-01") and r.as_of == pd.Timestamp(sim.as_of)
    assert r.horizon_time(12) == pytest.approx(12.0, abs=1e-12)  # calendar months


def test_calibration_tables_share_argument_order_and_columns(sim):
    split = R.time_split(sim, "2024-11-30")
    rng = np.random.default_rng(0)
    p = pd.Series(rng.uniform(0, 0.5, len(split.test)), index=split.test["account_id"])
    churn = R.calibration_table(split.test, p, 12, n_bins=4)
    y = rng.integers(0, 2, 300)
    conv = L.calibration_table(y, rng.uniform(size=300), n_bins=4)
    for t, count in ((churn, "n_accounts"), (conv, "n_leads")):
        assert tuple(t.columns) == (*CALIBRATION_COLUMNS, count) and len(t) == 4
        assert (t["lower"] <= t["observed"]).all() and (t["observed"] <= t["upper"]).all()
    assert churn["n_accounts"].sum() == len(split.test) and conv["n_leads"].sum() == 300
    with pytest.raises(TypeError, match=r"test accounts \(y_true\) come first"):
        R.calibration_table(p, split.test, 12)


def test_one_plot_calibration_that_takes_tables(sim):
    assert R.plot_calibration is L.plot_calibration
    y = np.r_[np.zeros(50, int), np.ones(50, int)]
    p = np.linspace(0.01, 0.99, 100)
    table = L.calibration_table(y, p, n_bins=5)
    _, ax = plt.subplots()
    assert L.plot_calibration({"model": table, "again": table}, ax=ax) is ax
    assert ax.get_ylabel() == "observed conversion rate"
    assert sorted(t.get_text() for t in ax.get_legend().get_texts()) == [
        "again", "model", "perfect calibration"]
    with pytest.raises(TypeError, match="compute the table first"):
        L.plot_calibration(y, p)
    plt.close("all")
