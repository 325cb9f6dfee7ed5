"""Discrete renewals: the sBG cohort model and the person-period hazard model vs the truth."""
import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats
from threadpoolctl import threadpool_limits

matplotlib.use("Agg")

import tobmodel  # noqa: E402
from tobmodel.renewal import discrete as Q  # noqa: E402
from tobmodel.renewal import plotting as P  # noqa: E402
from tobmodel.survival import survival_view  # noqa: E402

# Fader & Hardie (2007), Table 1: customers alive at years 0-12 of a 1000-customer cohort.
# (Survivors 289, 262, 241 at years 5-7; published fit on years 0-7: alpha 0.704, beta 1.182.)
REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241, 223, 207, 194, 183, 173]
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491, 468, 445, 427, 409, 394]
STATIC = ["account_id", "tier", "contract_term", "acquisition_channel", "industry", "seats",
          "price_per_seat_month", "sales_overpromised", "onboarding_completed"]


@pytest.fixture(autouse=True)
def one_thread():
    with threadpool_limits(1):   # 2 shared cores: OpenMP oversubscription slows HGB 20x
        yield


def _sbg_survivors(alpha, beta, n, periods, seed):
    rng = np.random.default_rng(seed)
    lifetime = rng.geometric(rng.beta(alpha, beta, n))     # renewals survived + 1
    return [int((lifetime > t).sum()) for t in range(periods + 1)]


@pytest.mark.parametrize("alpha,beta,seed", [(0.7, 1.2, 1), (2.0, 6.0, 2)])
def test_sbg_recovers_its_own_parameters(alpha, beta, seed):
    m = Q.ShiftedBetaGeometric().fit(_sbg_survivors(alpha, beta, 20_000, 7, seed))
    est, se = np.array([m.alpha_, m.beta_]), m.standard_errors_
    assert np.all(np.abs(est - [alpha, beta]) < 4 * se)
    assert np.all(np.abs(est / [alpha, beta] - 1) < 0.2) and np.all(se < 0.1 * est)


def test_sbg_several_cohorts_of_different_lengths():
    cohorts = [_sbg_survivors(1.0, 3.0, 6000, k, seed) for seed, k in enumerate((7, 4, 2))]
    m = Q.ShiftedBetaGeometric().fit(cohorts)
    assert abs(m.alpha_ - 1.0) < 4 * m.standard_errors_[0]
    assert abs(m.beta_ - 3.0) < 4 * m.standard_errors_[1]
    table = pd.DataFrame([c + [np.nan] * (8 - len(c)) for c in cohorts])
    m2 = Q.ShiftedBetaGeometric().fit(table)
    assert (m2.alpha_, m2.beta_) == pytest.approx((m.alpha_, m.beta_), rel=1e-5)


@pytest.mark.parametrize("data,alpha,beta", [(REGULAR, 0.704, 1.182), (HIGH_END, 0.668, 3.806)])
def test_sbg_book_example_matches_published_estimates(data, alpha, beta):
    m = Q.ShiftedBetaGeometric().fit(data[:8])
    assert m.alpha_ == pytest.approx(alpha, abs=0.002) and m.beta_ == pytest.approx(beta, abs=0.002)
    # the paper's point: the fit on 7 years projects years 8-12 within a few percent
    projected = m.project(12)["expected_survivors"].to_numpy()[8:]
    assert np.all(np.abs(projected / np.array(data[8:]) - 1) < 0.06)


def test_sbg_curves_are_consistent():
    m = Q.ShiftedBetaGeometric().fit(REGULAR[:8])
    t = np.arange(1, 15)
    assert np.allclose(m.retention_rate(t), m.survival(t) / m.survival(t - 1))
    assert np.all(np.diff(m.retention_rate(t)) > 0)          # survivors are the loyal ones
    assert np.allclose(m.churn_probability_next_renewal(t - 1), 1 - m.retention_rate(t))
    proj = m.project(10, cohort_size=500)
    assert np.allclose(proj["expected_survivors"], 500 * m.survival(np.arange(11)))


@pytest.mark.parametrize("renewals,discount", [(0, 0.1), (3, 0.1), (2, 0.25)])
def test_discounted_residual_lifetime_equals_its_definition(renewals, discount):
    m = Q.ShiftedBetaGeometric().fit(REGULAR[:8])
    a, b, x = m.alpha_, m.beta_ + renewals, 1 / (1 + discount)
    # sum_k>=1 E[(1-theta)^k] x^(k-1) with theta ~ Beta(a, b) (posterior after the renewals)
    value, _ = integrate.quad(lambda th: (1 - th) / (1 - (1 - th) * x) * stats.beta.pdf(th, a, b),
                              0, 1, limit=200)
    assert m.expected_residual_lifetime(renewals, discount) == pytest.approx(value, rel=1e-6)
    assert np.isinf(m.expected_residual_lifetime(0, 0.0))    # alpha < 1: undiscounted infinite
    m.alpha_ = 2.5
    assert m.expected_residual_lifetime(1, 0.0) == pytest.approx((m.beta_ + 1) / 1.5)


def test_sbg_refuses_bad_counts():
    with pytest.raises(ValueError, match="all censored"):
        Q.ShiftedBetaGeometric().fit([100, 100, 100])
    with pytest.raises(ValueError, match="rise from period 1"):
        Q.ShiftedBetaGeometric().fit([100, 80, 90])
    with pytest.raises(ValueError, match="at least one later count"):
        Q.ShiftedBetaGeometric().fit([100])


@pytest.fixture(scope="module")
def saas():
    sim = tobmodel.simulate("saas", n_accounts=1500, seed=21)
    view = survival_view(sim)
    acc = sim.accounts[STATIC]
    truth = sim.truth["accounts"][["account_id", "p_churn_next_renewal", "p_churn_12m"]]
    active = view[view["churned"] == 0].merge(acc, on="account_id").merge(truth, on="account_id")
    return sim, view, acc, active


def test_cohort_survivors_feed_the_sbg(saas):
    sim, view, acc, _ = saas
    annual = view[view["account_id"].isin(acc.loc[acc["contract_term"] == "annual",
                                                  "account_id"])]
    s = Q.cohort_survivors(annual, period_months=12)
    assert list(s.columns[:2]) == [0, 1] and s.index.name == "start_cohort"
    assert (s[0].to_numpy() == pd.to_datetime(annual["start_date"]).dt.year.value_counts()
            .sort_index().to_numpy()).all()
    m = Q.ShiftedBetaGeometric().fit(s)
    # one year on, the fitted churn at the first renewal is the observed share
    first = s[[0, 1]].dropna()
    assert float(m.churn_probability_next_renewal(0)) == pytest.approx(
        1 - first[1].sum() / first[0].sum(), abs=0.03)


def test_person_period_rows_by_hand():
    v = pd.DataFrame({"account_id": [1, 2, 3, 4, 5], "churned": [1, 1, 0, 0, 1],
                      "tenure_months": [24.02, 3.0, 30.0, 6.0, 11.98]})
    f = pd.DataFrame({"account_id": [1, 2, 3, 4, 5],
                      "contract_term": ["annual", "monthly", "annual", "annual", "annual"],
                      "churned": 9})   # ignored: the survival view says who churned
    pp = Q.person_period(v, f, period_months="term")
    got = pp.groupby("account_id").agg(rows=("period", "size"), events=("churned", "sum"),
                                       last=("churned", "last"), month=("renewal_month", "max"))
    assert got["rows"].to_dict() == {1: 2, 2: 3, 3: 2, 5: 1}     # account 4: no renewal yet
    assert got["events"].to_dict() == {1: 1, 2: 1, 3: 0, 5: 1}
    assert got["month"].to_dict() == {1: 24, 2: 3, 3: 24, 5: 12}
    assert (pp.groupby("account_id")["period"].apply(list).loc[2] == [1, 2, 3])


def test_person_period_on_simulated_book_has_one_event_per_churner(saas):
    _, view, acc, _ = saas
    pp = Q.person_period(view, acc, period_months="term")
    assert pp["churned"].sum() == view["churned"].sum()
    assert (pp.groupby("account_id")["churned"].sum() <= 1).all()
    with pytest.raises(ValueError, match="no row for 1 accounts"):
        Q.person_period(view, acc.iloc[1:])


def _spearman(a, b):
    return stats.spearmanr(a, b).statistic


@pytest.mark.parametrize("estimator,bar", [("logistic", 0.35), ("hgb", 0.3)])
def test_next_renewal_probability_tracks_the_true_hazard(saas, estimator, bar):
    _, view, acc, active = saas
    annual_ids = acc.loc[acc["contract_term"] == "annual", "account_id"]
    pp = Q.person_period(view[view["account_id"].isin(annual_ids)], acc, period_months=12)
    model = Q.DiscreteTimeHazard(estimator).fit(pp)
    ann = active[active["contract_term"] == "annual"]
    p = model.predict_next_renewal(ann)
    truth = ann["p_churn_next_renewal"].to_numpy()
    assert p.index.tolist() == ann["account_id"].tolist()
    assert _spearman(p, truth) > bar                     # higher = more risk, like the truth
    assert abs(p.mean() - truth.mean()) < 0.03           # calibrated on average
    deciles = pd.qcut(p.rank(method="first"), 5, labels=False).to_numpy()
    gap = pd.Series(p.to_numpy() - truth).groupby(deciles).mean().abs()
    assert gap.max() < 0.06                              # and within each fifth of risk
    # a broken model (covariates shuffled across accounts) fails the same bar
    broken = pp.copy()
    cols = ["tier", "price_per_seat_month", "seats", "onboarding_completed"]
    broken[cols] = broken[cols].sample(frac=1, random_state=0).to_numpy()
    bad = Q.DiscreteTimeHazard(estimator).fit(broken.astype(pp.dtypes.to_dict()))
    assert _spearman(bad.predict_next_renewal(ann), truth) < bar


def test_churn_within_horizon_on_the_whole_book(saas):
    _, view, acc, active = saas
    model = Q.DiscreteTimeHazard("logistic").fit(Q.person_period(view, acc, "term"))
    p12 = model.predict_churn_within(active, 12)
    nxt = model.predict_next_renewal(active)
    assert _spearman(p12, active["p_churn_12m"]) > 0.35
    assert abs(p12.mean() - active["p_churn_12m"].mean()) < 0.04
    assert (p12.to_numpy() >= nxt.to_numpy() - 1e-12).all()   # next renewal is within 12 months
    monthly = (active["contract_term"] == "monthly").to_numpy()
    assert (p12[monthly].to_numpy() > nxt[monthly].to_numpy()).all()   # 12 monthly decisions
    assert (model.predict_churn_within(active, 0).to_numpy() == 0).all()


def test_hazard_model_bad_input(saas):
    _, view, acc, active = saas
    with pytest.raises(ValueError, match="estimator must be"):
        Q.DiscreteTimeHazard("forest").fit(Q.person_period(view, acc, 12))
    with pytest.raises(ValueError, match="lacks"):
        Q.DiscreteTimeHazard().fit(pd.DataFrame({"account_id": [1], "churned": [0]}))
    model = Q.DiscreteTimeHazard().fit(Q.person_period(view, acc, 12))
    with pytest.raises(ValueError, match=r"lacks columns \['tier'\]"):
        model.predict_next_renewal(active.drop(columns="tier"))
    with pytest.raises(ValueError, match="'contract_term'"):
        Q.person_period(view, acc.drop(columns="contract_term"), "term")


def test_sbg_plots():
    m = Q.ShiftedBetaGeometric().fit(REGULAR[:8])
    ax = P.plot_sbg_projection(m, REGULAR)
    assert "alpha=0.704" in ax.get_title() and ax.get_xlabel() == "renewal period"
    ax = P.plot_sbg_retention(m, 12, survivors=REGULAR)
    assert np.allclose(ax.lines[0].get_ydata(), m.retention_rate(np.arange(1, 13)))
    import matplotlib.pyplot as plt
    plt.close("all")
