"""Fitting a lead model "as of" a date learns only outcomes known on that date."""
from __future__ import annotations

import pandas as pd
import pytest

import tobmodel
from tobmodel.export import fit_model
from tobmodel.leads import leads_known_at


@pytest.fixture(scope="module")
def sim():
    return tobmodel.simulate("saas", "maturity", n_accounts=600, seed=12)


def test_snapshot_hides_later_outcomes_and_later_leads(sim):
    as_of = pd.Timestamp("2025-06-30")
    seen = leads_known_at(sim.leads, as_of)
    assert (seen["created_date"] <= as_of).all()
    later = sim.leads.set_index("lead_id").loc[seen["lead_id"], "outcome_date"] > as_of
    assert later.any()
    assert (seen.loc[later.to_numpy(), "status"] == "open").all()
    assert seen["outcome_date"].max() <= as_of


def test_fit_as_of_does_not_learn_a_planted_future_outcome(sim):
    """Plant a feature that equals the outcome for leads decided after as_of: if the fit
    saw those outcomes, the planted column would look like perfect leakage."""
    as_of = "2025-06-30"
    leads = sim.leads.copy()
    decided_later = (leads["created_date"] <= as_of) & (leads["outcome_date"] > as_of)
    assert decided_later.sum() > 20
    leads["planted_outcome"] = (leads["status"] == "converted").astype(float)
    leads.loc[~decided_later, "planted_outcome"] = 0.5  # known outcomes: no information
    model, _ = fit_model({"leads": leads}, "lead-logistic", as_of=as_of,
                         features=["channel", "planted_outcome"])
    assert model.as_of_ == pd.Timestamp(as_of)
    closed_then = ((leads["created_date"] <= as_of) & (leads["outcome_date"] <= as_of)).sum()
    assert model.training_["n_train"] == closed_then
    assert model.training_["n_open_excluded"] >= int(decided_later.sum())
