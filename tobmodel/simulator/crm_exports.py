"""Simulated businesses written as the exports of real tools, quirks included.

:func:`write_crm_exports` writes what a growth team downloads from
Salesforce (Account.csv, Contract.csv, Lead.csv), Zendesk (organizations.csv,
tickets.csv) and Segment (tracks.csv) -- or HubSpot (companies, deals, contacts) --
for a simulated SaaS business, with the tools' standard file and field names
and their quirks: 18-character text ids, zoned timestamps
(``2024-04-20T09:15:00.000+0000``, ``...Z``), CRLF line ends and a UTF-8 BOM,
Title Case picklists, Chinese region labels, custom fields (``Tier__c``,
``Seats__c``), quarterly, annual and multi-year contracts, co-termed
add-ons, draft contracts, tickets without an organization. The simulator's
truth rides along in ``truth_accounts.csv`` and ``truth_leads.csv`` (keyed by
the CRM ids) so tests can check the scores.

Examples
--------
>>> import tempfile
>>> out = write_crm_exports(tempfile.mkdtemp(), n_accounts=60, seed=3)
>>> sorted(p.name for p in out.iterdir())[:4]
['Account.csv', 'Contract.csv', 'Lead.csv', 'mapping.yaml']
>>> open(out / "Account.csv", "rb").read(3) == b"\\xef\\xbb\\xbf"  # a BOM, like Excel
True
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

INDUSTRY = {"retail": "Retail", "manufacturing": "Manufacturing",
            "food_service": "Food & Beverage", "logistics": "Transportation",
            "education": "Education", "healthcare": "Healthcare",
            "professional_services": "Consulting", "tech": "Technology"}
REGION = {"north": "华北", "east": "华东", "south": "华南", "central": "华中", "west": "西部"}
SOURCE = {"bidding": "Paid Search", "referral": "Referral", "content": "Web",
          "events": "Trade Show", "partner": "Partner", "offline_bd": "Outbound"}
#: HubSpot's own "Original Source" values for a contact
HUBSPOT_SOURCE = {"bidding": "Paid Search", "referral": "Referrals", "content": "Organic Search",
                  "events": "Offline Sources", "partner": "Other Campaigns",
                  "offline_bd": "Direct Traffic"}
#: HubSpot's contact "Number of Employees" dropdown
HUBSPOT_EMPLOYEES = ((5, "1-5"), (25, "5-25"), (50, "25-50"), (100, "50-100"),
                     (500, "100-500"), (1000, "500-1000"))
TIER = {"KA": "Key Account", "mid": "Mid-Market", "SMB": "Small Business"}
COMPANY = ("云帆科技", "Northwind", "星辰贸易", "Contoso", "Fabrikam", "华夏物流", "Litware",
           "Tailspin", "美味餐饮", "Adventure Works")
#: the custom-field mapping a Salesforce admin writes for this export (extends the preset)
SALESFORCE_CUSTOM = """\
format: tobmodel-mapping/1
extends: salesforce
description: our custom fields on Account and Contract
sources:
  accounts:
    columns:
      tier: Tier__c
      seats: Seats__c
      onboarding_completed: Onboarding_Completed__c
      sales_overpromised: Sales_Overpromised__c
    absent: [arr, price_per_seat_month]
  contracts:
    columns:
      arr: ARR__c
    absent: [churn_reason]
"""
SEGMENT_CUSTOM = """\
format: tobmodel-mapping/1
extends: segment
sources:
  events:
    key_events: [Report Exported]
"""


def _sf_id(prefix: str, n) -> np.ndarray:
    """18-character Salesforce-style ids: prefix + base-36 number + a case suffix."""
    n = np.asarray(n, dtype=np.int64)
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = np.full(len(n), "", dtype=object)
    rest = n.copy()
    for _ in range(8):  # fixed width: 8 base-36 digits
        out = np.char.add(np.array([digits[d] for d in range(36)], dtype=object)[rest % 36]
                          .astype(str), out.astype(str))
        rest //= 36
    return np.char.add(np.char.add(prefix + "5g00", out.astype(str)), "IAQ").astype(object)


def _zoned(ts: pd.Series, style: str) -> pd.Series:
    """Timestamps as the tools write them: salesforce '...000+0000', zendesk '...Z',
    segment '...123Z'."""
    if style == "salesforce":
        return ts.dt.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    if style == "zendesk":
        return ts.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return pd.Series(np.char.add(np.datetime_as_string(ts.to_numpy(), unit="ms"), "Z"),
                     index=ts.index)


def _write_csv(df, path, crlf=True, bom=True):
    df.to_csv(path, index=False, lineterminator="\r\n" if crlf else "\n",
              encoding="utf-8-sig" if bom else "utf-8")


def _contract_rows(sim, rng):
    """Simulated periods regrouped into CRM contracts: quarterly, multi-year, add-ons."""
    c = sim.contracts.copy()
    acc = sim.accounts.set_index("account_id")
    term = acc["contract_term"].astype(str).reindex(c["account_id"]).to_numpy()
    ids = sim.accounts["account_id"].to_numpy()
    style = pd.Series(rng.random(len(ids)), index=ids).reindex(c["account_id"]).to_numpy()
    quarterly = (term == "monthly") & (style < 0.3)
    multi = (term == "annual") & (style < 0.25)
    size = np.where(quarterly, 3, np.where(multi, 2, 1))
    c["grp"] = (c["period"].to_numpy() - 1) // size
    g = c.groupby(["account_id", "grp"], sort=True)
    out = g.agg(start_date=("start_date", "min"), end_date=("end_date", "max"),
                arr=("arr", "mean"), n=("period", "size"), outcome=("outcome", "last")
                ).reset_index()
    term_acc = acc["contract_term"].astype(str).reindex(out["account_id"]).to_numpy()
    out["term"] = out["n"].to_numpy() * np.where(term_acc == "annual", 12, 1)
    # a CRM end date is the last day covered (start + term - 1 day)
    out["end_date"] = out["end_date"] - pd.Timedelta(days=1)
    # co-termed add-ons: some accounts buy more seats mid-term, ending with the main contract
    main = out.drop_duplicates("account_id")
    add = main.loc[rng.random(len(main)) < 0.08].copy()
    span = (add["end_date"] - add["start_date"]).dt.days.to_numpy()
    add["start_date"] = add["start_date"] + pd.to_timedelta((span * 0.5).astype(int), "D")
    add = add.loc[add["start_date"] <= pd.Timestamp(sim.config.get("as_of", "2025-12-31"))]
    span = (add["end_date"] - add["start_date"]).dt.days.to_numpy() * 2
    add["arr"] = (add["arr"] * 0.2).round(2)
    add["term"] = np.maximum(1, np.rint(span * 0.5 / 30.44)).astype(int)
    add["status"] = "Activated"
    out["status"] = "Activated"
    drafts = main.loc[rng.random(len(main)) < 0.03].copy()
    drafts["start_date"] = pd.Timestamp(sim.config.get("as_of", "2025-12-31")) + pd.Timedelta(
        days=20)
    drafts["end_date"] = drafts["start_date"] + pd.DateOffset(years=1) - pd.Timedelta(days=1)
    drafts["term"], drafts["status"] = 12, "Draft"
    allc = pd.concat([out, add, drafts], ignore_index=True).sort_values(
        ["account_id", "start_date"], kind="stable").reset_index(drop=True)
    return allc


def write_crm_exports(folder, n_accounts: int = 300, seed: int = 2026, crm: str = "salesforce",
                      as_of: str = "2025-12-31", events: bool = True, events_format="csv",
                      events_per_login: float = 0.1):
    """Simulate a SaaS business and write it as CRM + help-desk + analytics exports.

    Parameters
    ----------
    folder : path
        Created if missing. Files go into ``salesforce/``-style names at its top
        level (``Account.csv``, ...), ``zendesk/`` and ``segment/`` subfolders.
    n_accounts, seed, as_of
        Passed to :func:`tobmodel.simulate` (stage maturity).
    crm : {'salesforce', 'hubspot'}
    events : bool
        Write the Segment ``tracks.csv`` (one row per event).
    events_format : {'csv', 'parquet'}
    events_per_login : float
        Sign-in events per simulated session (at least one per active seat).

    Returns
    -------
    Path of the folder. It also holds ``mapping.yaml`` and ``segment.yaml`` (the
    custom-field mappings an admin would write), ``truth_accounts.csv`` and
    ``truth_leads.csv`` (the simulator's conversion probability per CRM lead id).
    """
    from . import simulate
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sim = simulate("saas", "maturity", n_accounts=n_accounts, seed=seed, as_of=as_of)
    rng = np.random.default_rng(seed + 11)
    acc = sim.accounts
    n = len(acc)
    sf_ids = _sf_id("001", acc["account_id"].to_numpy()) if crm == "salesforce" else \
        (acc["account_id"].to_numpy() + 9_000_000_000).astype(str).astype(object)
    key = pd.Series(sf_ids, index=acc["account_id"].to_numpy())
    created = acc["first_contract_date"] - pd.to_timedelta(rng.integers(5, 90, n), "D") + \
        pd.to_timedelta(rng.integers(0, 86_400, n), "s")
    names = np.char.add(np.array(COMPANY, dtype=object)[rng.integers(0, len(COMPANY), n)]
                        .astype(str), (" " + pd.Series(acc["account_id"]).astype(str)).to_numpy(
        dtype=str)).astype(object)
    industry = acc["industry"].astype(str).map(INDUSTRY).to_numpy(dtype=object)
    industry[rng.random(n) < 0.05] = ""  # blank picklists happen
    region = acc["region"].astype(str).map(REGION).to_numpy(dtype=object)
    source = acc["acquisition_channel"].astype(str).map(SOURCE).to_numpy(dtype=object)
    tier = acc["tier"].astype(str).map(TIER).to_numpy(dtype=object)
    owners = _sf_id("005", rng.integers(1, 12, n))
    cons = _contract_rows(sim, rng)
    con_key = key.reindex(cons["account_id"]).to_numpy()
    if crm == "salesforce":
        pd.DataFrame({
            "Id": sf_ids, "Name": names, "Type": "Customer", "Industry": industry,
            "BillingCountry": region, "AccountSource": source,
            "NumberOfEmployees": (acc["seats"] * rng.integers(2, 6, n)).to_numpy(),
            "OwnerId": owners, "CreatedDate": _zoned(created, "salesforce").to_numpy(),
            "Tier__c": tier, "Seats__c": acc["seats"].to_numpy(),
            "Onboarding_Completed__c": np.where(acc["onboarding_completed"], "true", "false"),
            "Sales_Overpromised__c": np.where(acc["sales_overpromised"], "true", "false"),
        }).to_csv(folder / "Account.csv", index=False, lineterminator="\r\n",
                  encoding="utf-8-sig")
        pd.DataFrame({
            "Id": _sf_id("800", np.arange(1, len(cons) + 1)), "AccountId": con_key,
            "ContractNumber": [f"{i:08d}" for i in range(1, len(cons) + 1)],
            "Status": cons["status"].to_numpy(),
            "StartDate": cons["start_date"].dt.strftime("%Y-%m-%d").to_numpy(),
            "EndDate": cons["end_date"].dt.strftime("%Y-%m-%d").to_numpy(),
            "ContractTerm": cons["term"].astype(int).to_numpy(),
            "ARR__c": cons["arr"].round(2).to_numpy(),
        }).to_csv(folder / "Contract.csv", index=False, lineterminator="\r\n",
                  encoding="utf-8-sig")
        _write_leads(sim, folder, key, rng)
        (folder / "mapping.yaml").write_text(SALESFORCE_CUSTOM, encoding="utf-8")
    else:
        _write_hubspot(folder, acc, sf_ids, names, industry, region, source, owners, created,
                       cons, con_key)
        _write_contacts(sim, folder, key, np.random.default_rng(seed + 29))  # own stream
    _write_zendesk(sim, folder / "zendesk", key, names, rng)
    if events:
        _write_segment(sim, folder / "segment", key, rng, events_format, events_per_login)
        (folder / "segment.yaml").write_text(SEGMENT_CUSTOM, encoding="utf-8")
    t = sim.truth["accounts"].copy()
    t.insert(0, "crm_account_id", key.reindex(t["account_id"]).to_numpy())
    t.to_csv(folder / "truth_accounts.csv", index=False)
    tl = sim.truth["leads"].copy()
    tl.insert(0, "crm_lead_id", _lead_ids(tl["lead_id"].to_numpy(), crm))
    tl.to_csv(folder / "truth_leads.csv", index=False)
    return folder


def _lead_ids(lead_id, crm: str) -> np.ndarray:
    """Salesforce Lead ids (00Q...) or HubSpot contact Record IDs (numbers as text)."""
    if crm == "salesforce":
        return _sf_id("00Q", lead_id)
    return (np.asarray(lead_id, dtype=np.int64) + 7_000_000_000).astype(str).astype(object)


def _write_leads(sim, folder, key, rng):
    ld = sim.leads
    status = np.select([ld["status"] == "converted", ld["status"] == "lost"],
                       ["Closed - Converted", "Closed - Not Converted"], "Working - Contacted")
    ts = ld["created_date"] + pd.to_timedelta(rng.integers(0, 86_400, len(ld)), "s")
    conv = ld["status"] == "converted"
    pd.DataFrame({
        "Id": _lead_ids(ld["lead_id"].to_numpy(), "salesforce"),
        "Company": "Prospect " + ld["lead_id"].astype(str),
        "OwnerId": _sf_id("005", rng.integers(1, 12, len(ld))),
        "CreatedDate": _zoned(ts, "salesforce").to_numpy(),
        "LeadSource": ld["channel"].astype(str).map(SOURCE).to_numpy(),
        "Status": status, "IsConverted": np.where(conv, "true", "false"),
        "ConvertedDate": ld["outcome_date"].where(conv).dt.strftime("%Y-%m-%d").fillna(
            "").to_numpy(),
        "ConvertedAccountId": key.reindex(ld["account_id"].astype("float").to_numpy()
                                          ).fillna("").to_numpy(),
        "Industry": ld["industry"].astype(str).map(INDUSTRY).to_numpy(),
        "Country": ld["region"].astype(str).map(REGION).to_numpy(),
        "NumberOfEmployees": ld["employees"].to_numpy(),
    }).to_csv(folder / "Lead.csv", index=False, lineterminator="\r\n", encoding="utf-8-sig")


def _write_hubspot(folder, acc, ids, names, industry, region, source, owners, created, cons,
                   con_key):
    day = pd.Timestamp("2025-12-31").strftime("%Y-%m-%d")
    pd.DataFrame({
        "Record ID": ids, "Company name": names, "Industry": industry,
        "Country/Region": region, "Original Source Type": source,
        "Company owner": owners, "Create Date": created.dt.strftime("%Y-%m-%d %H:%M"),
        "Number of Employees": acc["seats"].to_numpy() * 3,
    }).to_csv(folder / f"hubspot-crm-exports-all-companies-{day}.csv", index=False)
    won = cons["status"] == "Activated"
    pd.DataFrame({
        "Record ID": (np.arange(len(cons)) + 5_000_000_000).astype(str),
        "Deal Name": "Renewal " + pd.Series(np.arange(len(cons))).astype(str),
        "Deal Stage": np.where(won, "Closed Won", "Contract Sent"),
        "Associated Company IDs": con_key,
        "Contract Start Date": cons["start_date"].dt.strftime("%Y-%m-%d").to_numpy(),
        "Contract End Date": cons["end_date"].dt.strftime("%Y-%m-%d").to_numpy(),
        "Annual Contract Value": cons["arr"].round(2).to_numpy(),
    }).to_csv(folder / f"hubspot-crm-exports-all-deals-{day}.csv", index=False)


def _write_contacts(sim, folder, key, rng):
    """HubSpot contacts (the leads) with the default property labels: open contacts at
    Lead .. Opportunity, won ones at Customer with their "Became a Customer Date" and
    company, lost ones at Other with Lead Status "Unqualified"."""
    ld = sim.leads
    n = len(ld)
    status = ld["status"].astype(str).to_numpy()
    won, lost = status == "converted", status == "lost"
    open_stage = np.array(["Lead", "Marketing Qualified Lead", "Sales Qualified Lead",
                           "Opportunity"], dtype=object)[rng.integers(0, 4, n)]
    stage = np.where(won, "Customer", np.where(lost, "Other", open_stage))
    open_status = np.array(["New", "Open", "In Progress", "Attempted to Contact",
                            "Connected"], dtype=object)[rng.integers(0, 5, n)]
    lead_status = np.where(won, "", np.where(lost, "Unqualified", open_status))
    ts = ld["created_date"] + pd.to_timedelta(rng.integers(0, 86_400, n), "s")
    became = (ld["outcome_date"] + pd.to_timedelta(rng.integers(0, 86_400, n), "s")).where(won)
    cuts = np.array([c for c, _ in HUBSPOT_EMPLOYEES])
    labels = np.array([label for _, label in HUBSPOT_EMPLOYEES] + ["1000+"], dtype=object)
    size = labels[np.searchsorted(cuts, ld["employees"].to_numpy(), side="left")]
    company = key.reindex(ld["account_id"].astype("float").to_numpy()).to_numpy(dtype=object)
    day = pd.Timestamp(sim.config.get("as_of", "2025-12-31")).strftime("%Y-%m-%d")
    pd.DataFrame({
        "Record ID": _lead_ids(ld["lead_id"].to_numpy(), "hubspot"),
        "First Name": "Contact", "Last Name": ld["lead_id"].astype(str).to_numpy(),
        "Email": ("contact" + ld["lead_id"].astype(str) + "@example.com").to_numpy(),
        "Company Name": ("Prospect " + ld["lead_id"].astype(str)).to_numpy(),
        "Contact owner": _sf_id("005", rng.integers(1, 12, n)),
        "Create Date": ts.dt.strftime("%Y-%m-%d %H:%M").to_numpy(),
        "Lifecycle Stage": stage, "Lead Status": lead_status,
        "Original Source": ld["channel"].astype(str).map(HUBSPOT_SOURCE).to_numpy(),
        "Became a Customer Date": became.dt.strftime("%Y-%m-%d %H:%M").fillna("").to_numpy(),
        "Associated Company IDs": np.where(won, pd.Series(company).fillna("").to_numpy(), ""),
        "Industry": ld["industry"].astype(str).map(INDUSTRY).to_numpy(),
        "Country/Region": ld["region"].astype(str).map(REGION).to_numpy(),
        "Number of Employees": size,
    }).to_csv(folder / f"hubspot-crm-exports-all-contacts-{day}.csv", index=False)


def _write_zendesk(sim, folder, key, names, rng):
    folder.mkdir(exist_ok=True)
    acc = sim.accounts
    org_ids = (acc["account_id"].to_numpy() + 360_000_000_000).astype(np.int64)
    ext = key.to_numpy().copy()
    ext[rng.random(len(ext)) < 0.02] = ""  # an organization nobody linked to the CRM
    pd.DataFrame({"id": org_ids, "name": names, "external_id": ext,
                  "created_at": _zoned(acc["first_contract_date"] + pd.Timedelta(hours=3),
                                       "zendesk").to_numpy()}
                 ).to_csv(folder / "organizations.csv", index=False)
    s = sim.support
    s = s.loc[s["tickets_opened"] > 0]
    rep = s["tickets_opened"].to_numpy()
    acc_id = np.repeat(s["account_id"].to_numpy(), rep)
    month = np.repeat(s["month"].to_numpy(), rep)
    unresolved = np.repeat(s["tickets_unresolved"].to_numpy(), rep)
    k = np.arange(len(acc_id)) - np.repeat(np.cumsum(rep) - rep, rep)  # ticket within month
    late = k < unresolved
    created = pd.Series(month) + pd.to_timedelta(rng.integers(0, 27 * 86_400, len(acc_id)), "s")
    solve_days = np.where(late, rng.uniform(8, 30, len(acc_id)), rng.uniform(0.1, 6,
                                                                             len(acc_id)))
    solved = created + pd.to_timedelta(solve_days * 86_400, "s")
    as_of = pd.Timestamp(sim.config.get("as_of", "2025-12-31")) + pd.Timedelta(days=1)
    still_open = solved >= as_of
    status = np.where(still_open, "open", np.where(rng.random(len(acc_id)) < 0.5, "solved",
                                                   "closed"))
    org = pd.Series(org_ids, index=acc["account_id"].to_numpy()).reindex(acc_id).astype(
        "Int64").astype(str).to_numpy(dtype=object)
    org[rng.random(len(org)) < 0.03] = ""  # tickets from people outside any organization
    order = np.argsort(created.to_numpy(), kind="stable")
    pd.DataFrame({
        "id": np.arange(1, len(acc_id) + 1),
        "created_at": _zoned(created, "zendesk").to_numpy()[order],
        "updated_at": _zoned(solved.where(~still_open, as_of - pd.Timedelta(hours=1)),
                             "zendesk").to_numpy()[order],
        "status": status[order], "priority": "normal", "organization_id": org[order],
        "solved_at": np.where(still_open, "", _zoned(solved, "zendesk").to_numpy())[order],
        "subject": "Question about reports",
    }).to_csv(folder / "tickets.csv", index=False)


def _write_segment(sim, folder, key, rng, fmt, per_login):
    """One row per event: active seats sign in; adopters export a report.

    ``per_login`` sign-in events are written per simulated session (at least one
    per active seat): a smaller file, the same trends.
    """
    folder.mkdir(exist_ok=True)
    u = sim.usage
    u = u.loc[u["logins"] > 0]
    seats = np.maximum(u["active_seats"].to_numpy(), 1)
    logins = np.maximum(np.ceil(u["logins"].to_numpy() * per_login).astype(np.int64), seats)
    key_users = np.rint(u["key_feature_adoption"].to_numpy() * seats).astype(np.int64)
    n_ev = logins + key_users
    acc = np.repeat(u["account_id"].to_numpy(), n_ev)
    month = np.repeat(u["month"].to_numpy(), n_ev)
    k = np.arange(len(acc)) - np.repeat(np.cumsum(n_ev) - n_ev, n_ev)
    is_login = k < np.repeat(logins, n_ev)
    # logins cycle over the active seats (every seat signs in at least once if logins allow);
    # the first key_users seats export a report
    seat_no = np.where(is_login, k % np.repeat(seats, n_ev), k - np.repeat(logins, n_ev))
    ts = pd.Series(month) + pd.to_timedelta(rng.integers(0, 27 * 86_400_000, len(acc)), "ms")
    ext = key.reindex(acc).to_numpy()
    users = ("usr_" + pd.Series(acc).astype(str) + "_" + pd.Series(seat_no).astype(str)
             ).to_numpy(dtype=object)
    df = pd.DataFrame({"timestamp": _zoned(ts, "segment").to_numpy(), "user_id": users,
                       "group_id": ext,
                       "event": np.where(is_login, "Signed In", "Report Exported")})
    if fmt == "parquet":
        df.to_parquet(folder / "tracks.parquet", index=False)
    else:
        df.to_csv(folder / "tracks.csv", index=False)
