"""The survival view: censoring at as_of, churn rules per business type."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import tobmodel
from tobmodel.survival import survival_view

D = pd.Timestamp


def _accounts(bt, starts):
    return pd.DataFrame({"account_id": np.arange(1, len(starts) + 1),
                         "business_type": bt,
                         "first_contract_date": pd.to_datetime(starts)})


def test_platform_churn_is_first_run_of_inactive_months():
    acc = _accounts("platform", ["2025-01-10", "2025-01-10", "2025-01-10"])
    usage = pd.DataFrame({
        "account_id": [1, 1, 1, 2, 2, 2, 2, 3, 3],
        "month": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01",    # then silent
                                 "2025-01-01", "2025-03-01", "2025-05-01", "2025-06-01",
                                 "2025-01-01", "2025-04-01"]),
        "logins": [5, 4, 3, 5, 5, 5, 5, 5, 0],                                  # 3: one login
    })
    sv = survival_view({"accounts": acc, "usage": usage}, as_of="2025-06-30").set_index(
        "account_id")
    assert sv.loc[1, "churned"] == 1 and sv.loc[1, "end_date"] == D("2025-04-01")
    assert sv.loc[2, "churned"] == 0  # gaps of one month are not churn
    assert sv.loc[3, "churned"] == 1 and sv.loc[3, "end_date"] == D("2025-02-01")
    early = survival_view({"accounts": acc, "usage": usage}, as_of="2025-05-31")
    assert early.set_index("account_id").loc[1, "churned"] == 0  # only two silent months yet


def test_hardware_churn_is_a_lapse_without_orders():
    acc = _accounts("hardware", ["2023-01-05", "2023-01-05"])
    orders = pd.DataFrame({"account_id": [1, 1, 2, 2],
                           "start_date": pd.to_datetime(["2023-01-05", "2023-06-05",
                                                         "2023-01-05", "2024-03-05"])})
    sv = survival_view({"accounts": acc, "contracts": orders}, as_of="2025-01-31")
    sv = sv.set_index("account_id")
    assert sv.loc[1, "end_date"] == D("2024-06-05") and sv.loc[1, "churned"] == 1
    # a 14-month gap is a lapse at 12 months even though the customer came back
    assert sv.loc[2, "end_date"] == D("2024-01-05") and sv.loc[2, "periods_completed"] == 0


@pytest.mark.parametrize("bt", ["saas", "tool", "hardware", "platform"])
def test_earlier_snapshot_censors_later_churn(bt):
    sim = tobmodel.simulate(bt, "maturity", n_accounts=600, seed=4)
    cut = D("2024-06-30")
    now, then = survival_view(sim), survival_view(sim, as_of=cut)
    assert (then["start_date"] < cut).all() and (then["end_date"] <= cut).all()
    assert (then["tenure_months"] > 0).all() and (now["tenure_months"] > 0).all()
    both = then.merge(now, on="account_id", suffixes=("_then", "_now"))
    # what was churn then is still churn now, at the same date
    was = both["churned_then"] == 1
    assert (both.loc[was, "churned_now"] == 1).all()
    assert (both.loc[was, "end_date_then"] == both.loc[was, "end_date_now"]).all()
    # some of those censored then churned later: censoring hid real events
    assert ((both["churned_then"] == 0) & (both["churned_now"] == 1)).any()


def test_saas_view_matches_the_true_churn_dates():
    sim = tobmodel.simulate("saas", "maturity", n_accounts=800, seed=9)
    sv = survival_view(sim).merge(sim.truth["accounts"], on="account_id")
    truly = sv["churn_date"] <= sim.as_of
    assert (sv["churned"] == truly).all()
    assert (sv.loc[truly, "end_date"] == sv.loc[truly, "churn_date"]).all()


def test_snapshot_before_the_data_is_refused():
    sim = tobmodel.simulate("saas", n_accounts=100, seed=1)
    with pytest.raises(ValueError, match="earlier than the data"):
        survival_view(sim, as_of="2001-01-01")


@pytest.mark.parametrize("business_type", ["saas", "platform", "hardware"])
def test_tables_from_files_infer_the_snapshot_not_open_contract_ends(business_type, tmp_path):
    from tobmodel.io.readers import read_tables
    from tobmodel.survival import infer_as_of
    sim = tobmodel.simulate(business_type, n_accounts=300, seed=4)
    tables = read_tables(sim.to_parquet(tmp_path, truth=False))
    assert "as_of" not in tables["accounts"].attrs
    if business_type == "saas":
        assert tables["contracts"]["end_date"].max() > sim.as_of  # open contracts end later
    assert sim.as_of - pd.Timedelta(days=3) <= infer_as_of(tables) <= sim.as_of
    pd.testing.assert_frame_equal(survival_view(tables, as_of=infer_as_of(tables)),
                                  survival_view(sim, as_of=infer_as_of(tables)))


@pytest.mark.parametrize("business", ["saas", "tool", "platform", "hardware"])
def test_one_month_convention_survival_view_and_features_agree(business):
    from tobmodel.renewal import build_account_features
    sim = tobmodel.simulate(business, n_accounts=300, seed=11)
    view = tobmodel.survival_view(sim).set_index("account_id")
    feats = build_account_features(sim).set_index("account_id")
    assert len(feats) == len(view) > 100
    assert np.allclose(feats["tenure_months"], view.loc[feats.index, "tenure_months"],
                       rtol=0, atol=1e-12)
    # a contract that runs a whole number of calendar months has a whole-number tenure
    ended = view[view["end_date"].dt.day == view["start_date"].dt.day]
    assert len(ended) and np.allclose(ended["tenure_months"], ended["tenure_months"].round())


def test_churn_rule_constants_are_defined_once():
    from tobmodel import schema, survival
    from tobmodel.simulator import params
    assert survival.LAPSE_MONTHS is schema.LAPSE_MONTHS is params.LAPSE_MONTHS
    assert survival.INACTIVE_MONTHS is schema.INACTIVE_MONTHS is params.INACTIVE_MONTHS
    assert schema.MONTH_CONVENTION in schema.data_dictionary()
