"""``arr`` in the account features is the value known at the snapshot date, never later."""
from __future__ import annotations

import numpy as np
import pandas as pd

import tobmodel
from tobmodel.mapping import read_export
from tobmodel.renewal import build_account_features
from tobmodel.simulator.crm_exports import write_crm_exports

CUTOFF = "2025-06-30"


def test_a_future_contract_value_changes_nothing_at_an_earlier_cutoff(tmp_path):
    """A Salesforce export: the accounts' arr is the latest contract's. An add-on signed
    after the cutoff (with a huge value) must not reach features built at the cutoff,
    and is seen at the export's own date."""
    d = write_crm_exports(tmp_path / "sf", n_accounts=150, seed=21, events=False)
    maps = [str(d / "mapping.yaml"), "zendesk"]
    before = read_export(d, maps)
    con = before.tables["contracts"]
    long = con.loc[(con["start_date"] <= CUTOFF) & (con["end_date"] > "2026-01-31")]
    assert len(long)
    target = long.iloc[0]
    raw = pd.read_csv(d / "Contract.csv", dtype=str, encoding="utf-8-sig")
    planted = raw.iloc[[0]].copy()
    planted["Id"], planted["AccountId"] = "8005g00000PLANTEDIAQ", target["crm_account_id"]
    planted["ContractNumber"], planted["Status"] = "99999999", "Activated"
    planted["StartDate"] = "2025-09-01"
    planted["EndDate"] = target["end_date"].strftime("%Y-%m-%d")
    planted["ContractTerm"], planted["ARR__c"] = "12", "9999999"
    pd.concat([raw, planted]).to_csv(d / "Contract.csv", index=False, encoding="utf-8-sig")
    after = read_export(d, maps)
    assert (after.tables["accounts"]["arr"] == 9999999).sum() == 1  # the export's own arr
    early = {k: build_account_features(t.tables, as_of=CUTOFF) for k, t in
             (("before", before), ("after", after))}
    pd.testing.assert_frame_equal(early["before"], early["after"])
    # at the export date the add-on is in force beside the main contract: both count
    late = build_account_features(after.tables).set_index("account_id")
    main = float(con.loc[con["account_id"] == target["account_id"]]["arr"].iloc[-1])
    assert late.loc[target["account_id"], "arr"] == main + 9999999


def test_arr_is_the_contract_in_force_then(tmp_path):
    """Simulated SaaS contracts expand at renewal: at each snapshot, arr is the value of
    the period running then (the accounts table holds the value at signing)."""
    sim = tobmodel.simulate("saas", n_accounts=300, seed=3)
    c = sim.contracts
    grew = c.groupby("account_id")["arr"].nunique()
    assert (grew > 1).any()
    for as_of in ("2024-06-30", "2025-12-31"):
        f = build_account_features(sim, as_of=as_of).set_index("account_id")
        t = pd.Timestamp(as_of)
        running = c.loc[(c["start_date"] <= t) & (c["end_date"] > t)]
        expect = running.groupby("account_id")["arr"].sum()
        active = f.index[f["active"]].intersection(expect.index)
        assert len(active) > 100
        np.testing.assert_allclose(f.loc[active, "arr"], expect.loc[active], rtol=1e-12)
        changed = f.loc[active, "arr"] != sim.accounts.set_index("account_id").loc[active,
                                                                                     "arr"]
        assert changed.any()  # not the value at signing
