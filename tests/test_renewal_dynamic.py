"""Dynamic churn model: person-months known at each month, hazards projected forward."""
import json

import numpy as np
import pandas as pd
import pytest

import tobmodel
from tobmodel.protocol import RENEWAL_SCORE_COLUMNS, ScoringModel
from tobmodel.renewal.dynamic import DynamicHazardModel, fit_logistic
from tobmodel.renewal.person_months import (BEHAVIOUR, current_month, inactive_run_churn,
                                            person_months)
from tobmodel.survival import survival_view


@pytest.fixture(scope="module")
def saas():
    return tobmodel.simulate("saas", n_accounts=800, seed=11)


@pytest.fixture(scope="module")
def fitted(saas):
    return DynamicHazardModel().fit(saas)


def _copy(sim):
    return {k: v.copy() for k, v in sim.tables.items()}


def test_events_match_the_survival_view_and_annual_churn_only_at_renewals(saas):
    pm = person_months(saas)
    sv = survival_view(saas)
    per_account = pm.groupby("account_id")["churn"].sum()
    assert per_account.max() == 1
    churned = set(sv.loc[sv["churned"] == 1, "account_id"])
    assert set(per_account[per_account == 1].index) == churned
    annual = pm["contract_term"].astype(str) == "annual"
    ev = pm["churn"] == 1
    assert (pm.loc[annual & ev, "month_index"] % 12 == 0).all()
    assert not pm.loc[annual & ~pm["at_risk"], "churn"].any()
    # the last row of an account is its event month (or its last complete month)
    assert (pm.groupby("account_id")["month_index"].diff().dropna() == 1).all()


def test_no_leakage_a_planted_future_value_never_reaches_earlier_rows(saas):
    """Usage planted in month M changes no row that began before M ends; later rows see it."""
    tables = _copy(saas)
    base = person_months(tables, as_of="2024-06-30")
    u = tables["usage"]
    acc = int(base.loc[base["month_index"] == 20, "account_id"].iloc[0])
    month = pd.Timestamp(base.loc[(base["account_id"] == acc) & (base["month_index"] == 12),
                                  "month_start"].iloc[0]).to_period("M").to_timestamp()
    hit = (u["account_id"] == acc) & (u["month"] == month)
    assert hit.sum() == 1
    u.loc[hit, "active_seats"] = 0
    u.loc[hit, "logins"] = 0
    tables["support"].loc[(tables["support"]["account_id"] == acc)
                          & (tables["support"]["month"] == month), "bot_escalations"] = 50
    planted = person_months(tables, as_of="2024-06-30")
    cols = list(BEHAVIOUR)
    mine = base["account_id"] == acc
    known_before = mine & (base["month_start"] < month + pd.offsets.MonthBegin(1))
    pd.testing.assert_frame_equal(base.loc[known_before, cols], planted.loc[known_before, cols])
    later = mine & (base["month_start"] >= month + pd.offsets.MonthBegin(1))
    assert (planted.loc[later, "bot_escalations_6m"] > base.loc[later, "bot_escalations_6m"]
            ).any()
    assert (planted.loc[later, "inactive_months"] >= 1).any()


def test_data_after_as_of_changes_neither_training_rows_nor_scores(saas, fitted):
    as_of = pd.Timestamp("2024-06-30")
    tables = _copy(saas)
    base_pm, base_now = person_months(tables, as_of=as_of), current_month(tables, as_of=as_of)
    for name in ("usage", "support"):
        t = tables[name]
        late = t["month"] > as_of
        assert late.any()
        num = [c for c in t.columns if c not in ("account_id", "month")]
        t.loc[late, num] = t.loc[late, num] * 0 + 7
    pd.testing.assert_frame_equal(base_pm, person_months(tables, as_of=as_of))
    now = current_month(tables, as_of=as_of)
    pd.testing.assert_frame_equal(base_now, now)
    pd.testing.assert_frame_equal(fitted.score(base_now), fitted.score(now))


def test_scoring_rows_use_every_month_complete_at_as_of_and_no_running_one(saas):
    """A month that ended after the running month began reaches the scoring row (it is
    known now) but not the training row of that month; a month still running does not."""
    tables = _copy(saas)
    as_of = pd.Timestamp("2024-06-30")
    june = pd.Timestamp("2024-06-01")
    base = current_month(tables, as_of=as_of)
    assert (base["month_start"] >= june).all()   # at a month's end every running month began in it
    u = tables["usage"]
    pick = base.loc[base["active_seat_share_1m"] > 0.5, "account_id"].iloc[:20].to_numpy()
    hit = u["account_id"].isin(pick) & (u["month"] == june)
    assert hit.sum() == len(pick)
    mid = current_month(tables, as_of="2024-06-20")   # June still running
    train = person_months(tables, as_of="2024-08-31")
    u.loc[hit, ["active_seats", "logins"]] = 0
    now = current_month(tables, as_of=as_of).set_index("account_id").loc[pick]
    assert (now["active_seat_share_1m"] == 0).all() and (now["inactive_months"] == 1).all()
    assert (now["active_seat_share_3m"] < base.set_index("account_id").loc[
        pick, "active_seat_share_3m"]).all()
    pd.testing.assert_frame_equal(mid, current_month(tables, as_of="2024-06-20"))
    # the training rows of those running months were built from what their start knew
    cols = ["account_id", "month_index", *BEHAVIOUR]
    keys = base.set_index("account_id").loc[pick, "month_index"]
    mine = train.set_index(["account_id", "month_index"]).index.isin(
        list(zip(pick, keys.to_numpy())))
    assert mine.sum() == len(pick)
    pd.testing.assert_frame_equal(train.loc[mine, cols], person_months(
        tables, as_of="2024-08-31").loc[mine, cols])


def test_projection_holds_behaviour_and_advances_the_clocks(saas, fitted):
    now = current_month(saas).head(50).reset_index(drop=True)
    H = fitted.project_hazards(now, 14)
    for j in (0, 5, 13):
        rows = now.copy()
        rows["month_index"] = now["month_index"] + j
        rows["tenure_at_month_start"] = now["month_index"] - 1 + j
        np.testing.assert_allclose(H[:, j], fitted.predict_hazard(rows), rtol=1e-10)
    annual = (now["contract_term"].astype(str) == "annual").to_numpy()
    k = now["month_index"].to_numpy()[:, None] + np.arange(14)
    assert (H[annual][(k[annual] % 12) != 0] == 0).all()
    assert (H[~annual] > 0).all()


def _assert_scores_row_by_row(model, now):
    """Projected hazards and every score column equal the row-by-row reference to 1e-12."""
    h, ref = _row_by_row_scores(model, now, 12)
    assert np.abs(model.project_hazards(now, 24) - h).max() <= 1e-12
    got = model.score(now, horizon_months=12)
    for col, want in ref.items():
        assert np.abs(got[col].to_numpy() - want).max() <= 1e-12, col
    return got


def _row_by_row_scores(model, now, H):
    """The scores from explicit future person-month rows (behaviour held, clocks advanced)
    hazard by hazard through ``predict_hazard``: the reference for the vectorised path."""
    n = 24
    rows = now.loc[now.index.repeat(n)].reset_index(drop=True)
    rows["month_index"] = rows["month_index"] + np.tile(np.arange(n), len(now))
    rows["tenure_at_month_start"] = rows["month_index"] - 1.0
    h = model.predict_hazard(rows, months_ahead=np.tile(np.arange(n), len(now))
                             ).reshape(len(now), n)
    kept = 1 - model._already_churned(now)
    S = np.cumprod(1 - h, axis=1) * kept[:, None]
    s = now["tenure_months"].to_numpy()
    n_next = np.clip(np.ceil(s + now["months_to_next_renewal"].to_numpy() - 1e-6)
                     - np.floor(s), 1, 120).astype(int)
    S0 = np.column_stack([kept, S[:, :H]])
    return h, {"p_churn_next_renewal": 1 - S[np.arange(len(now)), n_next - 1],
               "p_churn_horizon": 1 - S[:, H - 1],
               "expected_remaining_months": ((S0[:, :-1] + S0[:, 1:]) / 2).sum(axis=1)}


def test_vectorised_scores_equal_the_row_by_row_projection(saas, fitted, monkeypatch):
    """Accounts x months matrix, clock terms per distinct combination, row chunks: the
    scores equal hazard-by-hazard ones within 1e-12, with a calibration map and the
    platform's already-churned shares too; reasons do not depend on the chunking."""
    from tobmodel.renewal import dynamic
    now = current_month(saas).sample(300, random_state=0).reset_index(drop=True)
    model = DynamicHazardModel.from_document(fitted.to_document())
    model.calibration_ = {"annual": (0.4, 0.8, 0.0), "monthly": (-0.3, 1.2, 0.05)}
    model.recalibrate_months = 12  # the months-ahead term is held beyond month 12
    model.inactive_run_churn_ = {1: 0.2, 2: 0.45}
    now.loc[:40, "inactive_months"] = 1.0
    now.loc[41:60, "inactive_months"] = 2.0
    for m in (fitted, model):
        got = _assert_scores_row_by_row(m, now)
        monkeypatch.setattr(dynamic, "CHUNK_ROWS", 7)
        small = m.score(now, horizon_months=12)
        monkeypatch.undo()
        pd.testing.assert_frame_equal(small, got, rtol=0, atol=1e-12)
    assert (model.score(now)["p_churn_horizon"] != fitted.score(now)["p_churn_horizon"]).all()


def test_scores_follow_the_protocol_and_rise_when_usage_collapses(saas, fitted):
    now = current_month(saas)
    s = fitted.score(now)
    assert tuple(s.columns) == RENEWAL_SCORE_COLUMNS
    assert s["account_id"].tolist() == now["account_id"].tolist()
    p_next, p_h = s["p_churn_next_renewal"], s["p_churn_horizon"]
    assert p_next.between(0, 1).all() and (p_h >= p_next - 1e-12).all()
    assert s["expected_remaining_months"].between(0, 12).all()
    assert ((1 - p_h) * 12 <= s["expected_remaining_months"] + 1e-9).all()
    collapsed = now.copy()
    small = (collapsed["tier"].astype(str) == "SMB").to_numpy()
    for c in ("active_seat_share_1m", "active_seat_share_3m", "key_feature_adoption_3m"):
        collapsed.loc[small, c] = 0.0
    worse = fitted.score(collapsed)
    assert (worse.loc[small, "p_churn_horizon"] > p_h[small] + 0.01).mean() > 0.8
    assert s.loc[small, "reasons"].str.len().gt(0).mean() > 0.5
    assert worse.loc[small, "reasons"].str.contains("seats active|adoption").mean() > 0.5


def test_json_round_trip_scores_the_same_and_follows_the_protocol(saas, fitted, tmp_path):
    assert isinstance(fitted, ScoringModel)
    path = fitted.save(tmp_path / "dynamic.json")
    doc = json.loads(path.read_text())
    assert doc["name"] == "dynamic" and doc["kind"] == "renewal"
    from tobmodel.registry import load_model
    loaded = load_model(path)
    now = current_month(saas)
    pd.testing.assert_frame_equal(loaded.score(now), fitted.score(now))
    del doc["coefficients"]
    with pytest.raises(KeyError):
        DynamicHazardModel.from_document(doc)


def test_schema_refuses_rows_without_the_dynamic_covariates(saas, fitted):
    from tobmodel.persist import SchemaMismatchError
    from tobmodel.renewal import build_account_features
    with pytest.raises(SchemaMismatchError, match="inactive_months"):
        fitted.score(build_account_features(saas), source="features.csv")


def test_newton_fit_matches_scikit_learn():
    from sklearn.linear_model import LogisticRegression
    rng = np.random.default_rng(3)
    Z = rng.normal(size=(5000, 4))
    y = (rng.random(5000) < 1 / (1 + np.exp(-(-2 + Z @ [0.8, -0.4, 0.0, 0.3])))).astype(int)
    b, beta = fit_logistic(Z, y, penalty=2.0)
    lr = LogisticRegression(C=0.5, tol=1e-10, max_iter=1000).fit(Z, y)
    np.testing.assert_allclose(beta, lr.coef_[0], atol=1e-4)
    assert abs(b - lr.intercept_[0]) < 1e-4
    b2, beta2 = fit_logistic(Z, y, penalty=2.0, hessian_rows=1000)  # curvature from a subset
    np.testing.assert_allclose(beta2, beta, atol=1e-5)


def test_platform_inactive_runs_count_as_possibly_churned():
    sim = tobmodel.simulate("platform", n_accounts=1500, seed=4)
    q = inactive_run_churn(sim)
    assert set(q) == {1, 2} and 0 < q[1] < q[2] <= 1
    m = DynamicHazardModel().fit(sim)
    now = current_month(sim)
    quiet = now.copy()
    quiet["inactive_months"] = 2.0
    p = m.score(quiet)["p_churn_horizon"]
    assert (p >= q[2] - 1e-12).all()
    assert (p > m.score(now)["p_churn_horizon"]).mean() > 0.95


def test_platform_fit_leaves_out_months_whose_churn_is_not_known_yet(saas):
    """A quiet platform account's months from the start of its inactive run are labelled
    "no churn" at the cutoff, yet some turn out to be churns (or months after one) once
    the run completes: the fit on the tables leaves exactly such months out."""
    from tobmodel.renewal.person_months import outcome_known
    sim = tobmodel.simulate("platform", n_accounts=1500, seed=4)
    cut = pd.Timestamp("2024-06-30")
    pm = person_months(sim, as_of=cut)
    later = person_months(sim, as_of=cut + pd.DateOffset(months=4))
    m = pm[["account_id", "month_index", "churn"]].merge(
        later[["account_id", "month_index", "churn"]], on=["account_id", "month_index"],
        how="left", suffixes=("", "_later"))
    wrong = (m["churn"] == 0) & (m["churn_later"] != 0)  # a churn, or gone by then
    assert wrong.sum() >= 10                             # the labels' bias is real
    known = outcome_known(sim, pm)
    assert not (known & wrong.to_numpy()).any()
    assert (~known).sum() < 0.01 * len(pm) and (pm.loc[~known, "churn"] == 0).all()
    model = DynamicHazardModel().fit(sim, as_of=cut)
    assert model.n_rows_ == int((pm["at_risk"].to_numpy(bool) & known).sum())
    # the rows carry it as a column: a fit on them leaves out the same months
    assert DynamicHazardModel().fit(pm).n_rows_ == model.n_rows_
    bare = pm.drop(columns="outcome_known")      # rows without it: every month at risk
    assert DynamicHazardModel().fit(bare).n_rows_ == int(pm["at_risk"].sum())
    assert outcome_known(saas, person_months(saas)).all()  # contracts: known when dated


def test_plots_return_axes(saas, fitted):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ax = fitted.plot_projection(current_month(saas).head(3))
    assert len(ax.lines) == 3
    _, ax2 = plt.subplots()
    assert fitted.plot_coefficients(ax=ax2) is ax2
    plt.close("all")


def test_cli_fits_scores_and_evaluates_the_dynamic_model(tmp_path):
    from tobmodel.cli import main
    data = tobmodel.simulate("tool", n_accounts=600, seed=5).to_parquet(tmp_path / "data")
    assert main(["fit", "--data", str(data), "--model", "dynamic",
                 "--output", str(tmp_path / "m.json")]) in (0, None)
    assert main(["score", "--model", str(tmp_path / "m.json"), "--input", str(data),
                 "--output", str(tmp_path / "s.csv")]) in (0, None)
    s = pd.read_csv(tmp_path / "s.csv")
    assert (s["model_name"] == "dynamic").all() and s["p_churn_horizon"].between(0, 1).all()
    from tobmodel.export.jobs import evaluate_model
    table = evaluate_model(str(tmp_path / "m.json"), str(data)).set_index("model")
    assert {"dynamic", "baseline", "oracle"} <= set(table.index)
    assert table.loc["dynamic", "c_index"] > table.loc["baseline", "c_index"]
    assert table.loc["dynamic", "c_index_lo"] < table.loc["dynamic", "c_index"]


def test_recalibration_on_a_past_cutoff_fixes_an_over_shrunk_model():
    """Heavy shrinkage squeezes the scores; the map learned one year earlier restores the
    spread, and the top risk bin then predicts what happens to it."""
    from tobmodel.renewal import evaluate as EV
    sim = tobmodel.simulate("saas", n_accounts=3000, seed=21)
    cutoff = pd.Timestamp(sim.as_of) - pd.DateOffset(months=18)
    split = EV.time_split(sim, cutoff)
    now = current_month(sim, as_of=cutoff)
    squeezed = DynamicHazardModel(C=1e-3, groups=()).fit(sim, as_of=cutoff)
    fixed = DynamicHazardModel(C=1e-3, groups=(), recalibrate_months=12).fit(sim, as_of=cutoff)
    assert set(fixed.calibration_) == {"annual", "monthly"}
    assert all(b > 1.5 for _, b, _ in fixed.calibration_.values())   # the spread is widened
    h = split.horizon_time(12)
    top = {}
    for name, m in (("squeezed", squeezed), ("fixed", fixed)):
        p = m.churn_curves(now)[12.0]
        cal = EV.calibration_table(split.test, p, 12, n_bins=5, horizon_time=h)
        top[name] = abs(cal["mean_predicted"].iloc[-1] - cal["observed"].iloc[-1])
    assert top["fixed"] < 0.5 * top["squeezed"]
    assert top["fixed"] < 0.06
    doc = fixed.to_document()
    assert DynamicHazardModel.from_document(doc).calibration_ == fixed.calibration_


def test_peer_churn_counts_only_churns_known_before_the_month(saas):
    """The industry's recent churn rate: planting churns after a month leaves it unchanged."""
    from tobmodel.renewal.person_months import _peer_churn
    sv = survival_view(saas, as_of="2024-06-30")
    acc = saas.tables["accounts"].set_index("account_id").loc[sv["account_id"].to_numpy()]
    r = np.arange(len(sv))
    last_m = np.full(len(sv), np.datetime64("2023-12", "M").astype(np.int64))
    base = _peer_churn(sv, acc, r, last_m, "saas")
    later = sv.copy()
    alive = later["churned"] == 0
    later.loc[alive, "churned"] = 1   # everyone still active churns in June 2024
    later.loc[alive, "end_date"] = pd.Timestamp("2024-06-15")
    np.testing.assert_array_equal(base, _peer_churn(later, acc, r, last_m, "saas"))
    earlier = sv.copy()
    earlier.loc[alive, "churned"] = 1  # ... or in November 2023: now it shows
    earlier.loc[alive, "end_date"] = pd.Timestamp("2023-11-15")
    assert (_peer_churn(earlier, acc, r, last_m, "saas") > base + 0.1).all()


def test_cause_specific_incidences_add_up_and_follow_the_mechanisms():
    from tobmodel.renewal.competing import CompetingRisksModel
    sim = tobmodel.simulate("saas", "validation", n_accounts=3000, seed=8)
    m = CompetingRisksModel().fit(sim)
    assert m.cause_counts_["product_fit"] > m.cause_counts_["other"]
    now = current_month(sim)
    cif = m.cumulative_incidence(now, 12)
    total = sum(v[:, -1] for v in cif.values())
    S = np.cumprod(1 - np.minimum(sum(mm.project_hazards(now, 12)
                                      for mm in m.models_.values()), 1), axis=1)
    np.testing.assert_allclose(total, 1 - S[:, -1], atol=1e-12)   # incidences add up
    assert (np.diff(cif["product_fit"], axis=1) >= 0).all()
    t = m.cause_table(now)
    over = now["sales_overpromised"].to_numpy(bool)
    first_year = (now["tenure_at_month_start"] < 12).to_numpy()
    pf = t["p_product_fit"].to_numpy()
    assert pf[over & first_year].mean() > 2 * pf[~over & first_year].mean()
    assert set(t["likeliest_cause"]) <= set(cif)
    with pytest.raises(ValueError, match="records no reason"):
        CompetingRisksModel().fit(tobmodel.simulate("platform", n_accounts=300, seed=1))


def test_person_months_is_the_function_whatever_was_imported_first():
    import subprocess
    import sys
    code = ("import tobmodel.renewal.dynamic\n"
            "from tobmodel.renewal import person_months\n"
            "assert callable(person_months) and person_months.__name__ == 'person_months'\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-1500:]


def test_hardware_months_since_last_order_counts_from_the_latest_order_before_the_month():
    """Was always 0 (the order date was shifted by the search offset twice)."""
    sim = tobmodel.simulate("hardware", n_accounts=200, seed=5)
    pm = person_months(sim)
    c = sim.tables["contracts"]
    rows = pm.sample(300, random_state=1)
    for acc, start, since in rows[["account_id", "month_start", "months_since_last_order"]
                                   ].itertuples(index=False):
        orders = c.loc[(c["account_id"] == acc) & (c["start_date"] <= start), "start_date"]
        last = orders.max()
        months = (start.year - last.year) * 12 + start.month - last.month
        assert since == pytest.approx(months + (start.day - last.day) / 31, abs=0.05)
    assert pm["months_since_last_order"].max() >= 11
    # the lapse deadline (last order + 12 months) falls in the event month
    ev = pm[pm["churn"] == 1]
    assert ev["months_since_last_order"].between(11, 12).all()


def _hardware_survival_from_future_rows(m, now, n):
    """P(no lapse) month by month from explicit future rows: the order clock advanced,
    churn and order hazards through ``predict_hazard``, P(lapse in j) = A_j h_j."""
    rows = now.loc[now.index.repeat(n)].reset_index(drop=True)
    j = np.tile(np.arange(n), len(now))
    rows["month_index"] = rows["month_index"] + j
    rows["tenure_at_month_start"] = rows["month_index"] - 1.0
    rows["months_since_last_order"] = rows["months_since_last_order"] + j
    h = m.predict_hazard(rows).reshape(len(now), n)
    o = m.predict_hazard(rows, event="order").reshape(len(now), n)
    A = np.cumprod(np.column_stack([np.ones(len(now)), ((1 - h) * (1 - o))[:, :-1]]), axis=1)
    return 1 - np.cumsum(A * h, axis=1)


def test_hardware_projection_advances_the_order_clock_with_an_order_hazard():
    """Months since the last order advance while no order comes; each month an order comes
    with the order hazard, the deadline month lapses with the churn hazard. The projection
    equals that computed from explicit future rows; a nearer deadline means more risk."""
    sim = tobmodel.simulate("hardware", n_accounts=1500, seed=6)
    m = DynamicHazardModel().fit(sim)
    assert m.order_clock_ and "months_since_last_order" in m.clock_columns_
    now = current_month(sim).sample(200, random_state=0).reset_index(drop=True)
    n = 15
    S = _hardware_survival_from_future_rows(m, now, n)
    got = np.cumprod(1 - m.project_hazards(now, n), axis=1)
    assert np.abs(got - S).max() <= 1e-12
    # the deadline month carries the risk: nothing lapses before it
    since = now["months_since_last_order"].to_numpy()
    before = np.arange(n)[None, :] < np.floor(11 - since)[:, None]
    assert (1 - got)[before].max() < 0.02
    # same account, a nearer deadline: more risk within 12 months
    one = now.iloc[[0] * 12].reset_index(drop=True)
    one["months_since_last_order"] = np.arange(12.0)
    p = m.score(one, horizon_months=12)["p_churn_horizon"].to_numpy()
    assert (np.diff(p) > 0).all()
    loaded = DynamicHazardModel.from_document(json.loads(json.dumps(m.to_document())))
    pd.testing.assert_frame_equal(loaded.score(now), m.score(now))


def test_hardware_recalibration_maps_the_combined_lapse_hazards_it_was_fitted_on():
    """The map is fitted on projected lapse hazards (churn and order hazards combined), so
    it is applied to them, not to the churn hazard before the orders combine with it."""
    from tobmodel.renewal.dynamic import _apply_maps
    sim = tobmodel.simulate("hardware", n_accounts=1500, seed=6)
    plain = DynamicHazardModel().fit(sim)
    now = current_month(sim).sample(200, random_state=0).reset_index(drop=True)
    maps = {"monthly": (0.5, 0.7, 0.04)}
    cal = DynamicHazardModel.from_document(plain.to_document())
    cal.calibration_, cal.recalibrate_months = maps, 12
    q = plain.project_hazards(now, 15)
    want = np.where(q > 0, _apply_maps(maps, np.where(q > 0, q, 0.5),
                                       np.minimum(np.arange(15), 11)[None, :],
                                       np.zeros((len(now), 1), bool)), 0.0)
    got = cal.project_hazards(now, 15)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-14)
    assert (got[q > 0] != q[q > 0]).all()
    S = np.cumprod(1 - got, axis=1)
    np.testing.assert_allclose(1 - cal.score(now, horizon_months=15)["p_churn_horizon"],
                               S[:, -1], rtol=1e-10, atol=1e-12)


# -- the boosted hazard ----------------------------------------------------------------
SMALL_BOOST = {"n_estimators": 40, "learning_rate": 0.1, "min_child_samples": 50}


@pytest.fixture(scope="module")
def boosted(saas):
    return DynamicHazardModel(hazard="boosting", boosting=SMALL_BOOST).fit(saas)


def test_boosted_projection_and_scores_equal_explicit_future_rows(saas, boosted):
    """The trees see each future month's clocks (behaviour held): the projected hazards
    and the scores equal those of explicit future rows, with a calibration map too."""
    assert boosted.coef_ == {} and len(boosted.trees_["trees"]) == 40
    assert any(c.startswith("tier=") for c in boosted.columns_)  # the groups as features
    now = current_month(saas).sample(300, random_state=0).reset_index(drop=True)
    model = DynamicHazardModel.from_document(boosted.to_document())
    model.calibration_ = {"annual": (0.4, 0.8, 0.0), "monthly": (-0.3, 1.2, 0.05)}
    model.recalibrate_months = 12
    for m in (boosted, model):
        _assert_scores_row_by_row(m, now)
    annual = (now["contract_term"].astype(str) == "annual").to_numpy()
    k = now["month_index"].to_numpy()[:, None] + np.arange(24)
    H = boosted.project_hazards(now, 24)
    assert (H[annual][(k[annual] % 12) != 0] == 0).all() and (H[~annual] > 0).all()
    assert len(np.unique(np.round(H[~annual, 0], 12))) > 20  # accounts differ


def test_boosted_fit_is_deterministic_and_knows_only_the_past(saas, boosted):
    """Same rows and seed, same trees; values after the as-of date (planted) change
    neither the trees nor the scores."""
    as_of = pd.Timestamp("2024-06-30")
    tables = _copy(saas)
    a = DynamicHazardModel(hazard="boosting", boosting=SMALL_BOOST).fit(tables, as_of=as_of)
    for name in ("usage", "support"):
        t = tables[name]
        late = t["month"] > as_of
        num = [c for c in t.columns if c not in ("account_id", "month")]
        t.loc[late, num] = t.loc[late, num] * 0 + 7
    b = DynamicHazardModel(hazard="boosting", boosting=SMALL_BOOST).fit(tables, as_of=as_of)
    assert json.dumps(a.trees_) == json.dumps(b.trees_)
    now = current_month(tables, as_of=as_of)
    pd.testing.assert_frame_equal(a.score(now), b.score(now))
    assert json.dumps(a.trees_) != json.dumps(boosted.trees_)  # later data: other trees


def test_boosted_file_loads_without_lightgbm_and_refuses_other_columns(saas, boosted,
                                                                       tmp_path, monkeypatch):
    import sys
    from tobmodel.registry import load_model
    path = boosted.save(tmp_path / "boosted.json")
    doc = json.loads(path.read_text())
    assert doc["config"]["hazard"] == "boosting" and "trees" in doc
    monkeypatch.setitem(sys.modules, "lightgbm", None)  # any import of it would fail
    now = current_month(saas)
    pd.testing.assert_frame_equal(load_model(path).score(now), boosted.score(now))
    short = json.loads(path.read_text())
    short["columns"] = short["columns"][:-1]
    with pytest.raises(ValueError, match="columns"):
        DynamicHazardModel.from_document(short)
    with pytest.raises(ValueError, match="hazard must be"):
        DynamicHazardModel(hazard="forest").fit(saas)


def test_boosted_reasons_are_the_trees_path_contributions(saas, boosted):
    """Per covariate the path contributions add up to the log-odds minus the trees'
    expected value; the reasons name the strongest of them, the usage ones when usage
    collapses."""
    from tobmodel.renewal.hazard_trees import tree_raw
    now = current_month(saas)
    names, M = boosted.contributions(now)
    raw = tree_raw(boosted.ensemble_, boosted._matrix(now))
    np.testing.assert_allclose(M.sum(axis=1), raw - boosted.ensemble_.bias, atol=1e-4)
    s = boosted.score(now)
    assert s["reasons"].str.len().gt(0).mean() > 0.3
    collapsed = now.copy()
    for c in ("active_seat_share_1m", "active_seat_share_3m", "key_feature_adoption_3m"):
        collapsed[c] = 0.0
    worse = boosted.score(collapsed)
    assert worse["p_churn_horizon"].mean() > s["p_churn_horizon"].mean() + 0.05
    assert (worse["p_churn_horizon"] >= s["p_churn_horizon"] - 1e-12).mean() > 0.7
    assert worse["reasons"].str.contains("seats active|adoption").mean() > 0.5


def test_boosted_hardware_projection_keeps_the_order_hazard():
    sim = tobmodel.simulate("hardware", n_accounts=1500, seed=6)
    m = DynamicHazardModel(hazard="boosting", boosting=SMALL_BOOST).fit(sim)
    assert m.order_coef_ and m.coef_ == {}
    now = current_month(sim).sample(200, random_state=0).reset_index(drop=True)
    S = _hardware_survival_from_future_rows(m, now, 15)
    got = np.cumprod(1 - m.project_hazards(now, 15), axis=1)
    assert np.abs(got - S).max() <= 1e-12
    loaded = DynamicHazardModel.from_document(json.loads(json.dumps(m.to_document())))
    pd.testing.assert_frame_equal(loaded.score(now), m.score(now))


def test_cli_fits_the_boosted_hazard_and_refuses_it_for_other_models(tmp_path, capsys):
    from tobmodel.cli import main
    data = tobmodel.simulate("tool", n_accounts=600, seed=5).to_parquet(tmp_path / "data")
    assert main(["fit", "--data", str(data), "--model", "cox", "--hazard", "boosting",
                 "--output", str(tmp_path / "c.json")]) == 1
    assert "--hazard applies to --model dynamic" in capsys.readouterr().err
    assert not (tmp_path / "c.json").exists()
    assert main(["fit", "--data", str(data), "--model", "dynamic", "--hazard", "boosting",
                 "--output", str(tmp_path / "m.json")]) in (0, None)
    doc = json.loads((tmp_path / "m.json").read_text())
    assert doc["config"]["hazard"] == "boosting" and doc["trees"]["trees"]
    from tobmodel.export.jobs import refit_options
    from tobmodel.registry import load_model
    assert refit_options(load_model(tmp_path / "m.json"))["hazard"] == "boosting"


def _tool_with_campaigns(monkeypatch, planted):
    """A tool business whose only competitor campaigns are ``planted``: {industry: (first
    month, last month)} on the calendar."""
    from tobmodel.schema import INDUSTRIES
    from tobmodel.simulator import lifecycle
    from tobmodel.simulator.params import FUTURE_MONTHS
    as_of = np.datetime64("2025-12", "M")
    drawn = lifecycle.competitor_campaigns

    def campaigns(rng, stage, n_months):
        grid = drawn(rng, stage, n_months) & False   # the same draws, none kept
        for industry, (first, last) in planted.items():
            col = [n_months - 1 - FUTURE_MONTHS + int(np.datetime64(m, "M") - as_of)
                   for m in (first, last)]
            grid[INDUSTRIES.index(industry), col[0]:col[1] + 1] = True
        return grid
    monkeypatch.setattr(lifecycle, "competitor_campaigns", campaigns)
    sim = tobmodel.simulate("tool", n_accounts=4000, seed=5, as_of="2025-12-31")
    monkeypatch.undo()
    return sim


@pytest.mark.slow
def test_recalibration_leaves_out_an_industry_hit_by_a_shock_the_data_do_not_show(monkeypatch):
    """A competitor campaign (churn x3 in one industry for eight months, in no column of the
    data) in the year the map is learned on: left in, it raises every score; the industry
    is left out of the map's fit and the map stays what a calm year gives. In a calm year
    no industry is left out."""
    from tobmodel.renewal import dynamic
    calm = _tool_with_campaigns(monkeypatch, {})
    shock = _tool_with_campaigns(monkeypatch, {"retail": ("2025-02", "2025-09")})
    true = {}
    for name, sim in (("calm", calm), ("shock", shock)):  # the planted months are the shock's
        th = sim.truth["hazard"].merge(sim.accounts[["account_id", "industry"]])
        when = pd.to_datetime(th["period_end"]).dt.to_period("M").astype(str)
        true[name] = th[(th["industry"] == "retail") & when.between("2025-03", "2025-09")
                        & ~th["after_churn"]]["hazard"].mean()
    assert true["shock"] > 2 * true["calm"]
    maps = {}
    for name, sim in (("calm", calm), ("shock", shock)):
        maps[name] = DynamicHazardModel(recalibrate_months=12).fit(sim)
    monkeypatch.setattr(dynamic, "SHOCK_Z", np.inf)          # the map without leaving out
    maps["shock, all industries"] = DynamicHazardModel(recalibrate_months=12).fit(shock)
    monkeypatch.undo()
    assert maps["calm"].calibration_left_out_ == []
    assert maps["shock"].calibration_left_out_ == ["retail"]
    assert maps["shock, all industries"].calibration_left_out_ == []
    # the maps on the same projected hazards (1%-8% a month, 0-11 months ahead)
    h = np.repeat([0.01, 0.02, 0.04, 0.08], 12)
    ahead = np.tile(np.arange(12.0), 4)
    level = {}
    for name, m in maps.items():
        p = dynamic._apply_maps(m.calibration_, h, ahead, np.zeros(len(h), bool))
        level[name] = float(np.log(p.sum() / h.sum()))
    assert abs(level["shock"] - level["calm"]) < 0.5 * abs(level["shock, all industries"]
                                                            - level["calm"])
    assert level["shock, all industries"] - level["calm"] > 0.03
    doc = json.loads(json.dumps(maps["shock"].to_document()))
    assert DynamicHazardModel.from_document(doc).calibration_left_out_ == ["retail"]
