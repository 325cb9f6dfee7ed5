"""HubSpot contacts are the leads: validate -> fit -> score, checked against the truth."""
from __future__ import annotations

import pandas as pd
import pytest

from tobmodel.cli import main
from tobmodel.simulator.crm_exports import write_crm_exports


@pytest.fixture(scope="module")
def hubspot(tmp_path_factory):
    return write_crm_exports(tmp_path_factory.mktemp("hs"), n_accounts=400, seed=7,
                             crm="hubspot", events=False)


def _contacts(folder):
    (path,) = folder.glob("hubspot-crm-exports-all-contacts-*.csv")
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_contacts_export_has_hubspots_property_labels(hubspot):
    raw = _contacts(hubspot)
    for col in ("Record ID", "Create Date", "Lifecycle Stage", "Lead Status", "Original Source",
                "Became a Customer Date", "Associated Company IDs", "Number of Employees"):
        assert col in raw.columns
    assert raw["Record ID"].str.fullmatch(r"7\d{9}").all()
    won = raw["Lifecycle Stage"] == "Customer"
    assert (raw.loc[won, "Became a Customer Date"] != "").all()
    assert (raw.loc[~won, "Became a Customer Date"] == "").all()
    companies = pd.read_csv(next(hubspot.glob("*all-companies*.csv")), dtype=str)
    linked = raw.loc[won & (raw["Associated Company IDs"] != ""), "Associated Company IDs"]
    assert len(linked) and linked.isin(companies["Record ID"]).all()
    assert set(raw.loc[raw["Lifecycle Stage"] == "Other", "Lead Status"]) == {"Unqualified"}


def test_contacts_validate_fit_score_open_leads_only(hubspot, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "--input", str(hubspot)]) == 0
    assert "hubspot" in capsys.readouterr().out
    assert main(["fit", "--data", str(hubspot), "--mapping", "hubspot", "--model",
                 "lead-logistic", "--output", "lead.json"]) == 0
    fitted = capsys.readouterr().out
    assert "features: channel, industry, region, company_size" in fitted
    assert main(["score", "--model", "lead.json", "--input", str(hubspot), "--mapping",
                 "hubspot", "--output", "leads.csv"]) == 0
    out = capsys.readouterr().out
    raw = _contacts(hubspot)
    # open as of the export's date: not closed, or won only after that date
    from tobmodel.mapping.jobs import read_mapped
    as_of = read_mapped(hubspot, ["hubspot"]).as_of
    became = pd.to_datetime(raw["Became a Customer Date"].replace("", None)).dt.normalize()
    is_open = (~raw["Lifecycle Stage"].isin(["Customer", "Other"]) | (became > as_of)
               ).to_numpy()
    n_open, n_closed = int(is_open.sum()), int((~is_open).sum())
    assert n_open > 10 and n_closed > 1000
    assert (f"scored {n_open:,} open leads; not scored (closed {n_closed:,}); rejected 0"
            in out)
    assert len(pd.read_csv(tmp_path / "leads.rejects.csv")) == 0
    scores = pd.read_csv(tmp_path / "leads.csv", dtype={"crm_lead_id": str})
    assert sorted(scores["crm_lead_id"]) == sorted(raw.loc[is_open, "Record ID"])
    assert scores["p_convert"].is_monotonic_decreasing  # best lead first
    calls = pd.read_csv(tmp_path / "leads.call_list.csv", dtype=str)
    assert calls["crm_lead_id"].tolist() == scores["crm_lead_id"].tolist()
    assert calls["company"].str.startswith("Prospect").all()


def test_lead_model_on_contacts_against_the_simulators_truth(hubspot):
    """A time split of the contacts: the model ranks later leads better than chance, and
    below the simulator's own conversion probabilities (which see the engagement no
    export carries); the oracle's AUC shows the contacts are tied to the right leads."""
    from tobmodel.leads import evaluate_lead_model, fit_lead_model, time_split
    from tobmodel.mapping.jobs import read_mapped
    data = read_mapped(hubspot, ["hubspot"])
    leads = data.tables["leads"]
    assert set(data.lead_features) == {"channel", "industry", "region", "company_size"}
    cutoff = leads["created_date"].max().normalize() - pd.DateOffset(months=12)
    train, test = time_split(leads, cutoff, as_seen_at_cutoff=True)
    model = fit_lead_model(train, kind="logistic", features=list(data.lead_features))
    truth = pd.read_csv(hubspot / "truth_leads.csv", dtype={"crm_lead_id": str})
    truth = truth.drop(columns="lead_id").merge(leads[["lead_id", "crm_lead_id"]],
                                                on="crm_lead_id")
    assert len(truth) == len(leads)
    table = evaluate_lead_model(model, test, truth=truth[["lead_id", "p_convert"]])
    auc = table["roc_auc"]
    assert table.loc["model", "leads"] > 250 and table.loc["model", "converted"] > 30
    assert auc["oracle"] > 0.78
    assert 0.6 < auc["model"] < auc["oracle"]
