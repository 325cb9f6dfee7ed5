"""Person-months in SQL: the pandas rows of the dynamic model, on DuckDB and Spark."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import tobmodel
from tobmodel.engines.connect import EngineError, duckdb_connection
from tobmodel.engines.person_months import (COLUMNS, current_month, inactive_run_churn,
                                            person_months, to_pandas)
from tobmodel.renewal import current_month as pandas_current_month
from tobmodel.renewal import person_months as pandas_person_months

KEYS = ["account_id", "month_index"]
EARLY = "2024-06-15"  # mid-month, mid-history: most of the data lies after it


@pytest.fixture(scope="module", params=["saas", "tool", "platform", "hardware"])
def sim(request):
    return tobmodel.simulate(request.param, n_accounts=300, seed=2)


def _sorted(df) -> pd.DataFrame:
    return df.sort_values(KEYS, kind="stable").reset_index(drop=True)


def assert_same_rows(got: pd.DataFrame, want: pd.DataFrame, at_least: int = 1000) -> None:
    got, want = _sorted(got), _sorted(want)
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want) > at_least
    for c in want.columns:
        w, g = want[c], got[c]
        if w.dtype.kind == "f":
            np.testing.assert_allclose(g.to_numpy(float), w.to_numpy(), rtol=1e-12, atol=1e-12,
                                       err_msg=c)
        elif w.dtype.kind == "M":
            np.testing.assert_array_equal(pd.to_datetime(g).to_numpy(), w.to_numpy(), err_msg=c)
        elif w.dtype.kind in "iub":
            np.testing.assert_array_equal(g.to_numpy(w.dtype), w.to_numpy(), err_msg=c)
        else:  # categories: compared as text
            np.testing.assert_array_equal(g.astype(str).to_numpy(), w.astype(str).to_numpy(),
                                          err_msg=c)


@pytest.mark.parametrize("as_of", ["2025-12-31", EARLY])
def test_sql_rows_equal_the_pandas_person_months(sim, as_of):
    want = pandas_person_months(sim, as_of=as_of)
    got = to_pandas(person_months(sim.tables, as_of=as_of))
    assert tuple(got.columns) == COLUMNS
    assert_same_rows(got, want)
    assert got["churn"].sum() > 0 and (~got["at_risk"]).sum() >= 0
    # the platform's share of short inactive runs that became churns (empty elsewhere)
    runs = inactive_run_churn(sim.tables, as_of=as_of)
    assert runs == pytest.approx(want.attrs["inactive_run_churn"], rel=1e-12, abs=1e-12)
    platform = sim.tables["accounts"]["business_type"].iloc[0] == "platform"
    assert (sorted(runs) == [1, 2] and 0 < runs[1] < runs[2] < 1) if platform else runs == {}


@pytest.mark.parametrize("as_of", ["2025-12-31", EARLY])
def test_sql_scoring_rows_equal_the_pandas_current_month(sim, as_of):
    want = pandas_current_month(sim, as_of=as_of)
    got = to_pandas(current_month(sim.tables, as_of=as_of))
    assert_same_rows(got, want, at_least=100)
    assert got["active"].all() and (got["months_to_next_renewal"] > 0).all()


def test_the_dynamic_model_scores_the_sql_rows_as_the_pandas_ones():
    from tobmodel.renewal.dynamic import DynamicHazardModel
    sim = tobmodel.simulate("saas", n_accounts=600, seed=3)
    m = DynamicHazardModel().fit(sim)
    want = m.score(pandas_current_month(sim)).sort_values("account_id", ignore_index=True)
    rows = to_pandas(current_month(sim.tables, as_of=sim.tables["accounts"].attrs["as_of"]))
    got = m.score(rows).sort_values("account_id", ignore_index=True)
    np.testing.assert_array_equal(got["account_id"], want["account_id"])
    # the rows agree to 1e-12; the model's projection carries their last bits a little further
    for c in ("p_churn_next_renewal", "p_churn_horizon", "expected_remaining_months"):
        np.testing.assert_allclose(got[c], want[c], rtol=1e-10, atol=1e-12, err_msg=c)


def test_a_platform_fit_on_the_sql_rows_equals_the_fit_on_the_tables():
    """The SQL rows carry ``outcome_known`` and training_rows() the attrs: a fit on them
    leaves out the same not-yet-known months and keeps the inactive-run shares."""
    from tobmodel.engines.person_months import training_rows
    from tobmodel.renewal.dynamic import DynamicHazardModel
    sim = tobmodel.simulate("platform", n_accounts=1500, seed=4)
    cut = "2024-06-30"
    rows = training_rows(sim.tables, as_of=cut)
    assert (~rows["outcome_known"]).sum() >= 10
    n_at_risk = int(rows["at_risk"].sum())
    want = DynamicHazardModel().fit(sim, as_of=cut)
    got = DynamicHazardModel().fit(rows)
    assert got.n_rows_ == want.n_rows_ < n_at_risk == int(rows["at_risk"].sum())  # unchanged
    assert got.inactive_run_churn_ == pytest.approx(want.inactive_run_churn_, rel=1e-12)
    for key, c in want.coef_.items():
        np.testing.assert_allclose(got.coef_[key]["coef"], c["coef"], rtol=1e-6, atol=1e-8)
    now = pandas_current_month(sim, as_of=cut)
    np.testing.assert_allclose(got.score(now)["p_churn_horizon"],
                               want.score(now)["p_churn_horizon"], rtol=1e-6, atol=1e-9)


def test_a_value_planted_after_as_of_changes_nothing(sim):
    t = {k: v.copy() for k, v in sim.tables.items()}
    cut = pd.Timestamp(EARLY)
    running = cut.to_period("M").to_timestamp()  # the as_of month, not complete yet
    later = t["usage"]["month"] >= running
    t["usage"].loc[later, "logins"] = 10**6
    t["usage"].loc[later, "active_seats"] = 0
    t["usage"].loc[later, "key_feature_adoption"] = 1.0
    t["support"].loc[t["support"]["month"] >= running, ["tickets_opened", "tickets_unresolved",
                                                        "bot_escalations"]] = 999
    c = t["contracts"]
    future = c["start_date"] > cut
    c.loc[future, "arr"] = c.loc[future, "arr"] * 50
    ended_later = c["end_date"] > cut
    c.loc[ended_later, "outcome"] = "churned"  # a churn not yet known at as_of
    for rows in (person_months, current_month):
        base = _sorted(to_pandas(rows(sim.tables, as_of=EARLY)))
        planted = _sorted(to_pandas(rows(t, as_of=EARLY)))
        pd.testing.assert_frame_equal(planted, base)
    assert inactive_run_churn(t, as_of=EARLY) == inactive_run_churn(sim.tables, as_of=EARLY)
    # and the plant is live: at the data's own as_of it shows
    assert not to_pandas(person_months(t, as_of="2025-12-31"))["logins_trend"].equals(
        to_pandas(person_months(sim.tables, as_of="2025-12-31"))["logins_trend"])


def test_a_small_duckdb_memory_cap_gives_the_same_rows(tmp_path):
    sim = tobmodel.simulate("saas", n_accounts=3000, seed=4)
    # DuckDB needs about 128 MB per thread whatever the size (its operators' own buffers;
    # 64 MB runs out even here); above that the windows spill (bench_scale person_months)
    small = duckdb_connection("128MB", threads=1, temp_directory=tmp_path / "spill")
    got = _sorted(to_pandas(person_months(sim.tables, as_of="2025-12-31", con=small)))
    want = _sorted(to_pandas(person_months(sim.tables, as_of="2025-12-31",
                                           memory_limit="2GB")))
    assert len(got) > 50_000
    pd.testing.assert_frame_equal(got, want)


def test_bad_input_is_one_line_naming_the_table():
    sim = tobmodel.simulate("saas", n_accounts=100, seed=1)
    tables = dict(sim.tables, contracts=sim.tables["contracts"].drop(columns=["arr"]))
    with pytest.raises(EngineError, match="contracts lacks column arr"):
        person_months(tables, as_of="2025-12-31")
    with pytest.raises(EngineError, match="needs tables support"):
        person_months({k: v for k, v in sim.tables.items() if k != "support"},
                      as_of="2025-12-31")
    mixed = pd.concat([sim.tables["accounts"],
                       sim.tables["accounts"].head(1).assign(account_id=10**9,
                                                             business_type="platform")])
    with pytest.raises(EngineError, match="mix business types"):
        person_months(dict(sim.tables, accounts=mixed), as_of="2025-12-31")
    with pytest.raises(EngineError, match="no account started before"):
        person_months(sim.tables, as_of="1990-01-01")


@pytest.mark.spark
def test_spark_runs_the_same_text_with_identical_rows(spark):
    for btype in ("platform", "hardware"):
        sim = tobmodel.simulate(btype, n_accounts=200, seed=3)
        tables = {k: v.astype({c: str for c in v.columns if isinstance(v[c].dtype,
                                                                       pd.CategoricalDtype)})
                  for k, v in sim.tables.items() if k != "leads"}
        duck = to_pandas(person_months(tables, as_of=EARLY))
        on_spark = to_pandas(person_months(tables, as_of=EARLY, engine="spark", con=spark))
        assert_same_rows(on_spark, duck)
        # the scoring rows too (the month complete since the running month began)
        assert_same_rows(to_pandas(current_month(tables, as_of=EARLY, engine="spark",
                                                 con=spark)),
                         to_pandas(current_month(tables, as_of=EARLY)), at_least=50)
        assert inactive_run_churn(tables, as_of=EARLY, engine="spark", con=spark) == \
            pytest.approx(inactive_run_churn(tables, as_of=EARLY), rel=1e-12)


@pytest.mark.spark
def test_the_dynamic_model_scores_sql_rows_on_spark_as_on_one_machine(spark, tmp_path):
    from tobmodel.engines.spark_scoring import score_on_spark
    from tobmodel.renewal.dynamic import DynamicHazardModel
    sim = tobmodel.simulate("saas", n_accounts=600, seed=3)
    m = DynamicHazardModel().fit(sim)
    path = m.save(tmp_path / "dynamic.json")
    tables = {k: v.astype({c: str for c in v.columns if isinstance(v[c].dtype,
                                                                   pd.CategoricalDtype)})
              for k, v in sim.tables.items() if k != "leads"}
    rows = current_month(tables, as_of="2025-12-31", engine="spark", con=spark)
    summary = score_on_spark(str(path), rows, str(tmp_path / "s.parquet"), spark=spark)
    want = m.score(pandas_current_month(sim)).sort_values("account_id", ignore_index=True)
    got = pd.read_parquet(tmp_path / "s.parquet").sort_values("account_id", ignore_index=True)
    assert summary.scored == len(want) and summary.rejected == 0
    np.testing.assert_array_equal(got["account_id"], want["account_id"])
    np.testing.assert_allclose(got["p_churn_horizon"], want["p_churn_horizon"], rtol=1e-10,
                               atol=1e-12)
