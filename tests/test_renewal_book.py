"""book_by_period: the customer book per period (in force, new, churned, churn rate, ARR)."""
import numpy as np
import pandas as pd
import pytest

import tobmodel
from tobmodel.renewal import book_by_period
from tobmodel.survival import survival_view

TYPES = ("platform", "saas", "hardware", "tool")


@pytest.fixture(scope="module", params=TYPES)
def sim(request):
    return tobmodel.simulate(request.param, "maturity", n_accounts=800, seed=21)


@pytest.fixture(scope="module")
def book(sim):
    return book_by_period(sim)


def _in_force(view, d):
    """Accounts in force at date d, counted by hand from the survival view."""
    return (view["start_date"] <= d) & ((view["churned"] == 0) | (view["end_date"] > d))


def test_flow_identity_holds_in_every_period(book):
    flow = book["customers_at_start"] + book["new_customers"] - book["churned_customers"]
    assert (flow == book["customers_at_end"]).all()
    assert (book["customers_at_end"].to_numpy()[:-1]
            == book["customers_at_start"].to_numpy()[1:]).all()
    assert book["customers_at_start"].iloc[0] == 0  # the first period holds the first start
    assert (book["churned_from_start"] <= book["churned_customers"]).all()
    assert (book["churned_from_start"] <= book["customers_at_start"]).all()
    rate = book["churn_rate"].dropna()
    assert len(rate) == len(book) - 1 and ((rate >= 0) & (rate <= 1)).all()


def test_only_complete_periods_up_to_as_of(sim, book):
    assert isinstance(book.index, pd.PeriodIndex) and book.index.freqstr.startswith("Q")
    assert book["period_end"].iloc[-1] <= sim.as_of
    assert book["period_end"].iloc[-1] + pd.offsets.QuarterEnd(1) > sim.as_of
    assert (book.index.to_timestamp(how="end").normalize() == book["period_end"]).all()
    assert pd.infer_freq(book["period_end"]) is not None  # no gaps


def test_counts_agree_with_the_survival_view_counted_by_hand(sim, book):
    view = survival_view(sim)
    for period in book.index[1:]:  # every period end, so churn dated on one is covered
        d1 = book.loc[period, "period_end"]
        d0 = book.loc[period - 1, "period_end"]
        assert book.loc[period, "customers_at_end"] == _in_force(view, d1).sum()
        assert book.loc[period, "customers_at_start"] == _in_force(view, d0).sum()
        started = (view["start_date"] > d0) & (view["start_date"] <= d1)
        assert book.loc[period, "new_customers"] == started.sum()
        lost = (view["churned"] == 1) & (view["end_date"] > d0) & (view["end_date"] <= d1)
        assert book.loc[period, "churned_customers"] == lost.sum()
        assert book.loc[period, "churned_from_start"] == (lost & _in_force(view, d0)).sum()


def test_a_churn_on_the_period_end_counts_in_that_period():
    view = pd.DataFrame({"account_id": [1, 2], "start_date": pd.to_datetime(["2024-01-10"] * 2),
                         "end_date": pd.to_datetime(["2024-06-30", "2024-07-01"]),
                         "tenure_months": [5.6, 5.7], "churned": [1, 1]})
    view.attrs.update(as_of="2024-09-30", business_type="saas")
    contracts = pd.DataFrame({"account_id": [1, 2], "start_date": view["start_date"],
                              "arr": [100.0, 10.0]})
    book = book_by_period({"contracts": contracts}, view=view)
    assert book["customers_at_end"].tolist() == [2, 1, 0]
    assert book["churned_customers"].tolist() == [0, 1, 1]
    assert book["churn_rate"].iloc[1:].tolist() == [0.5, 1.0]
    assert book["arr_at_end"].tolist() == [110.0, 10.0, 0.0]


def test_arr_at_end_agrees_with_the_contracts_table(sim, book):
    view, c = survival_view(sim), sim.contracts
    period = book.index[-3]
    d = book.loc[period, "period_end"]
    alive = view.loc[_in_force(view, d), "account_id"]
    kind = sim.accounts["business_type"].iloc[0]
    if kind in ("saas", "tool"):  # the contract running at d
        running = (c["start_date"] <= d) & ((c["end_date"] > d) | c["end_date"].isna())
        expected = c.loc[running & c["account_id"].isin(alive), "arr"].sum()
        # every customer in force has exactly one contract running
        assert running[c["account_id"].isin(alive)].sum() == len(alive)
    elif kind == "hardware":  # orders of the 12 months up to d
        window = (c["start_date"] > d - pd.DateOffset(years=1)) & (c["start_date"] <= d)
        expected = c.loc[window & c["account_id"].isin(alive), "arr"].sum()
    else:  # platform: the yearly commission of the latest agreement signed by d
        signed = c.loc[c["start_date"] <= d].sort_values("start_date")
        latest = signed.groupby("account_id")["arr"].last()
        expected = latest.reindex(alive).sum()
    assert book.loc[period, "arr_at_end"] == pytest.approx(expected, rel=1e-9)
    assert book.loc[period, "arr_at_end"] > 0


def test_an_earlier_as_of_gives_the_same_book_up_to_then():
    sim = tobmodel.simulate("saas", "maturity", n_accounts=600, seed=4)
    full = book_by_period(sim)
    cut = book_by_period(sim, as_of="2024-08-15")  # mid-quarter: 2024Q3 is not complete
    assert str(cut.index[-1]) == "2024Q2"
    pd.testing.assert_frame_equal(cut, full.loc[:cut.index[-1]])


def test_monthly_and_yearly_books_agree_at_year_ends():
    sim = tobmodel.simulate("tool", "growth", n_accounts=600, seed=5)
    view = survival_view(sim)
    monthly = book_by_period(sim, freq="M", view=view)
    yearly = book_by_period(sim, freq="Y", view=view)
    dec = monthly.loc[monthly.index.month == 12]
    both = yearly.index.year.isin(dec.index.year)
    assert (yearly.loc[both, "customers_at_end"].to_numpy()
            == dec["customers_at_end"].to_numpy()[-both.sum():]).all()
    new_by_year = monthly["new_customers"].groupby(monthly.index.year).sum()
    assert (yearly.loc[both, "new_customers"].to_numpy()
            == new_by_year.loc[yearly.index.year[both]].to_numpy()).all()


@pytest.mark.parametrize("kind", ["saas", "hardware"])
def test_decline_churns_more_than_maturity(kind):
    rates = {stage: book_by_period(tobmodel.simulate(kind, stage, n_accounts=1500, seed=3))[
        "churn_rate"].iloc[-8:].mean() for stage in ("maturity", "decline")}
    assert rates["decline"] > 1.2 * rates["maturity"], rates


def test_bad_input_is_named():
    sim = tobmodel.simulate("saas", n_accounts=100, seed=1)
    with pytest.raises(ValueError, match="freq must be one of"):
        book_by_period(sim, freq="W")
    first = sim.accounts["first_contract_date"].min()
    with pytest.raises(ValueError, match="no complete Q period"):
        book_by_period(sim, as_of=first + pd.Timedelta(days=1))
    tables = {k: v for k, v in sim.tables.items() if k != "contracts"}
    with pytest.raises(ValueError, match="'contracts' table"):
        book_by_period(tables, view=survival_view(sim))
