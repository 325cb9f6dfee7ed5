"""The vectorised scoring paths against straightforward per-row references.

``score()`` looks a proportional-hazards baseline up once per distinct tenure
(and stratum) and builds reason texts once per covariate and distinct
combination; here each row is computed on its own, in plain Python, on a few
hundred rows, and the two must agree.
"""
import math

import numpy as np
import pandas as pd
import pytest

import tobmodel
from tobmodel.renewal import build_account_features, fit_renewal_model
from tobmodel.renewal.reasons import MIN_EFFECT, phrases, reason_categories, reason_texts

COVS = ["tier", "sales_overpromised", "onboarding_completed", "logins_trend",
        "price_vs_tier_median", "unresolved_share_6m", "acquisition_channel"]


@pytest.fixture(scope="module")
def features():
    return build_account_features(tobmodel.simulate("saas", n_accounts=1500, seed=83))


@pytest.fixture(scope="module")
def rows(features):
    act = features[features["active"]]
    rows = act.sample(300, random_state=1, replace=len(act) < 300).reset_index(drop=True)
    # shared tenures across strata and risks (the groups the fast path forms), and
    # accounts older than every churner (the Weibull tail)
    rows.loc[:39, "tenure_months"] = rows.loc[0, "tenure_months"]
    rows.loc[40:59, "tenure_months"] = features["tenure_months"].max() + np.arange(20) * 7.3
    return rows


def _reference(model, rows, horizon):
    """Each row alone: its cumulative hazard at the times it needs, then the formulas."""
    out = {"next": [], "horizon": [], "rmst": []}
    for i in range(len(rows)):
        row = rows.iloc[[i]]
        s = float(row["tenure_months"].iloc[0])
        to_next = float(row["months_to_next_renewal"].iloc[0])
        edges = [s] + [math.floor(s) + k for k in range(1, int(math.ceil(horizon)) + 2)]
        edges = [min(e, s + horizon) for e in edges]
        mids = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:])]
        times = np.array([s, s + to_next, s + horizon, *mids])
        H = model.cumulative_hazard(pd.concat([row] * len(times)), times)
        surv = [math.exp(-max(h - H[0], 0.0)) for h in H]
        out["next"].append(1 - surv[1])
        out["horizon"].append(1 - surv[2])
        rmst = sum(w * sv for w, sv in zip(np.diff(edges), surv[3:]))
        out["rmst"].append(min(rmst, horizon))
    return {k: np.array(v) for k, v in out.items()}


@pytest.mark.parametrize("options", [{"baseline": "weibull"}, {"baseline": "step"},
                                     {"strata": ["contract_term", "tier"],
                                      "covariates": COVS[1:]}])
@pytest.mark.parametrize("horizon", [12, 7])
def test_conditional_scores_match_a_per_row_reference(features, rows, options, horizon):
    model = fit_renewal_model(features, **{"covariates": COVS, **options})
    assert model._risk_key == "risk"  # the grouped path is the one under test
    got = model.score(rows, horizon_months=horizon)
    ref = _reference(model, rows, horizon)
    for col, key in (("p_churn_next_renewal", "next"), ("p_churn_horizon", "horizon"),
                     ("expected_remaining_months", "rmst")):
        np.testing.assert_allclose(got[col].to_numpy(), ref[key], rtol=1e-12, atol=1e-14)
    # and the same as every row computed on its own in the vectorised per-row path
    model._risk_key = None
    rowwise = model.score(rows, horizon_months=horizon)
    for col in ("p_churn_next_renewal", "p_churn_horizon", "expected_remaining_months"):
        np.testing.assert_allclose(got[col].to_numpy(), rowwise[col].to_numpy(), rtol=1e-12,
                                   atol=1e-14)
    assert (got["beyond_followup"] == rowwise["beyond_followup"]).all()
    assert got["beyond_followup"].iloc[40:60].all()
    assert got["p_churn_horizon"].nunique() > 100  # accounts differ: not a constant


def test_churned_rows_get_no_score_in_either_path(features):
    model = fit_renewal_model(features, covariates=COVS)
    mixed = features.sample(200, random_state=3).reset_index(drop=True)
    got = model.score(mixed)
    gone = ~mixed["active"].to_numpy(bool)
    assert gone.any() and got["p_churn_horizon"][gone].isna().all()
    assert got["p_churn_horizon"][~gone].notna().all()


def _reference_reasons(df, names, contrib, top, direction):
    out = []
    for i in range(len(df)):
        v = direction * contrib[i].astype(np.float32)
        order = sorted(range(len(names)), key=lambda j: (-v[j], j))[:top]  # ties: first
        out.append("; ".join(phrases(df, names[j], np.array([i]))[0] for j in order
                             if v[j] > MIN_EFFECT))
    return np.array(out, dtype=object)


@pytest.mark.parametrize("direction", [1, -1])
def test_reason_texts_match_a_per_row_reference(features, rows, direction):
    model = fit_renewal_model(features, covariates=COVS)
    names, contrib = model.contributions(rows)
    got = reason_texts(rows, names, contrib, top=3, direction=direction)
    want = _reference_reasons(rows, names, contrib, 3, direction)
    assert got.tolist() == want.tolist()
    assert sum(t != "" for t in got) > 100 and len(set(got)) > 20


def test_reason_categories_hold_the_texts_of_reason_texts(features, rows):
    """The Categorical the score returns: row by row the texts of :func:`reason_texts`
    ("" where ``blank``), each distinct text once, sorted; the score's column is it."""
    model = fit_renewal_model(features, covariates=COVS)
    names, contrib = model.contributions(rows)
    blank = np.arange(len(rows)) % 5 == 0
    for direction in (1, -1):
        want = reason_texts(rows, names, contrib, top=3, direction=direction)
        got = reason_categories(rows, names, contrib, top=3, direction=direction, blank=blank)
        assert isinstance(got, pd.Categorical)
        assert np.asarray(got, dtype=object).tolist() == np.where(blank, "", want).tolist()
        cats = list(got.categories)
        assert cats == sorted(set(cats)) and set(cats) == set(np.where(blank, "", want))
    scored = model.score(rows)["reasons"]
    assert isinstance(scored.dtype, pd.CategoricalDtype)
    active = rows["active"].to_numpy(bool)
    assert scored.astype(object).tolist() == np.where(
        active, reason_texts(rows, names, contrib), "").tolist()


def test_categorical_reasons_name_each_category_as_text():
    """A categorical column is phrased per category; a missing one reads as text too."""
    tier = pd.Categorical(["KA", None, "SMB", "mid"], categories=["KA", "SMB", "mid", "XL"])
    df = pd.DataFrame({"tier": tier, "region": pd.Categorical(["east", "west", "east", "x"])})
    contrib = np.ones((4, 2))
    got = reason_texts(df, ["tier", "region"], contrib * [2, 1]).tolist()
    assert got == ["key account; east region", "tier nan; west region",
                   "small business; east region", "mid-market customer; x region"]
    plain = df.astype(object)
    plain.loc[1, "tier"] = np.nan
    assert reason_texts(plain, ["tier", "region"], contrib * [2, 1]).tolist() == got


def _reference_argmax_order(df, names, contrib, top, min_effect=MIN_EFFECT):
    """Each row on its own: ``top`` times the first largest value (a NaN counts as the
    largest, as ``argmax`` takes it), named when above ``min_effect``."""
    out = []
    for i in range(len(df)):
        v = [float(x) for x in np.asarray(contrib[i], np.float32)]
        left, words = list(range(len(v))), []
        for _ in range(min(top, len(v))):
            nan = [j for j in left if math.isnan(v[j])]
            j = nan[0] if nan else max(left, key=lambda c: (v[c], -c))
            left.remove(j)
            if not math.isnan(v[j]) and v[j] > np.float32(min_effect):
                words.append(phrases(df, names[j], np.array([i]))[0])
        out.append("; ".join(words))
    return out


def test_reason_texts_ties_thresholds_and_nan_as_argmax_takes_them():
    """Ties go to the covariate listed first, a value exactly at the threshold is not
    named, -0.0 and +inf are ordinary values, and a NaN takes a rank without a name,
    in rows spread over more than one block of the vectorised pass."""
    from tobmodel.renewal import reasons as R
    rng = np.random.default_rng(5)
    n, m = 2 * R._BLOCK + 77, 7
    names = [f"x{j}" for j in range(m)]
    df = pd.DataFrame({c: rng.integers(0, 4, n) for c in names})
    pool = np.array([0.0, -0.0, MIN_EFFECT, 0.2, 0.3, 0.3, np.inf, -np.inf, 1.5], np.float32)
    contrib = rng.choice(pool, size=(n, m))
    contrib[rng.random((n, m)) < 0.002] = np.nan
    rows = np.r_[0:400, R._BLOCK - 200:R._BLOCK + 200, n - 300:n]
    assert np.isnan(contrib[rows]).any(axis=1).sum() > 5   # some checked rows hold a NaN
    for top, direction in ((3, 1), (3, -1), (1, 1), (9, 1)):
        got = reason_texts(df, names, contrib, top=top, direction=direction)
        want = _reference_argmax_order(df.iloc[rows].reset_index(drop=True), names,
                                       direction * contrib[rows], top)
        assert got[rows].tolist() == want
    ties = np.full((4, m), 0.3, np.float32)
    assert reason_texts(df.iloc[:4], names, ties, top=2).tolist() == [
        f"x0 = {df.iloc[i, 0]}; x1 = {df.iloc[i, 1]}" for i in range(4)]
