"""The to-B data model: every table tobmodel reads, writes and simulates.

One source of truth. The loaders validate against it, the simulator casts to
it, and ``data/README.md`` (the data dictionary) is generated from it by
``python -m tobmodel.schema > data/README.md`` (a test keeps them in step).

Kinds of column
---------------
``id``        integer key (int64)
``category``  one of ``allowed`` (stored as a string / pandas category); an ``open``
              category takes any label (tier, industry, region, channel: learnt from
              the data, any UTF-8 text; ``allowed`` lists the simulator's)
``date``      calendar date (datetime64[ns], no time of day)
``int``       whole number (int64); ``float`` finite real number (float64; inf refused)
``bool``      True / False (CSV: true/false, 1/0, yes/no, t/f, y/n in any case)

How cells are read (one vocabulary for loaders and the score job) is
:mod:`tobmodel.io.values`.

Examples
--------
>>> from tobmodel.schema import TABLES
>>> TABLES["accounts"].key
'account_id'
>>> "tier" in TABLES["accounts"].names
True
"""
from __future__ import annotations

from dataclasses import dataclass, field

BUSINESS_TYPES = ("platform", "saas", "hardware", "tool")
STAGES = ("development", "validation", "growth", "maturity", "decline")
TIERS = ("KA", "mid", "SMB")
CHANNELS = ("bidding", "referral", "content", "events", "partner", "offline_bd")
INDUSTRIES = (
    "retail", "manufacturing", "food_service", "logistics",
    "education", "healthcare", "professional_services", "tech",
)
REGIONS = ("north", "east", "south", "central", "west")
CONTRACT_TERMS = ("monthly", "annual", "none")
CONTRACT_OUTCOMES = ("renewed", "churned", "open")
LEAD_STATUSES = ("converted", "lost", "open")
INTENT_LEVELS = ("low", "medium", "high")
CHURN_REASONS = ("product_fit", "competitor", "price", "disengaged", "other")

# The churn rules where no contract says "churned" (see ``tobmodel.survival``), defined once
# here for the survival view, the simulator and the data dictionary.
INACTIVE_MONTHS = 3  # platform: calendar months without a login that count as churn
LAPSE_MONTHS = 12    # hardware: calendar months without an order that count as churn
#: how every duration in months is measured (survival view, account features, order gaps)
MONTH_CONVENTION = (
    "Every duration in months (`tenure_months`, `duration_months`, `gap_months`,"
    " `months_to_next_renewal`) counts calendar months: whole months by the calendar plus"
    " the fraction of the running month (`tobmodel.survival.calendar_months`), so"
    " 2024-01-15 to 2025-01-15 is exactly 12 and 2024-01-31 to 2024-02-29 is 1 (a day past"
    " a month's end is clamped to it). The survival view and the account features measure"
    " tenure the same way, and a contract anniversary falls on a whole number.")


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    meaning: str
    unit: str = ""
    allowed: tuple = ()
    nullable: bool = False
    min: float | None = None
    known_at_scoring: bool = True  # leads only: False marks post-outcome columns
    open: bool = False  # category: any label (learnt from the data); allowed = simulator's

    @property
    def dtype(self) -> str:
        return {
            "id": "int64", "category": "category", "date": "datetime64[ns]",
            "int": "int64", "float": "float64", "bool": "bool",
        }[self.kind] if not (self.nullable and self.kind in ("id", "int", "bool")) else {
            "id": "Int64", "int": "Int64", "bool": "boolean"}[self.kind]


@dataclass(frozen=True)
class Table:
    name: str
    grain: str
    columns: tuple
    key: str | tuple = ()
    checks: tuple = field(default=())  # names of row checks in tobmodel.io.validate

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


_C = Column

ACCOUNTS = Table(
    "accounts", "one row per customer company (account)",
    (
        _C("account_id", "id", "customer account key"),
        _C("business_type", "category", "operating model of the seller", allowed=BUSINESS_TYPES),
        _C("tier", "category", "customer size: key account, mid-market, small business",
           allowed=TIERS, open=True),
        _C("industry", "category", "customer's industry", allowed=INDUSTRIES, open=True),
        _C("region", "category", "customer's sales region", allowed=REGIONS, open=True),
        _C("acquisition_channel", "category", "channel of the lead that converted",
           allowed=CHANNELS, open=True),
        _C("first_contract_date", "date", "first contract signed / first purchase / first "
           "active month on a platform"),
        _C("contract_term", "category", "billing term; 'none' for platform (commission) and "
           "hardware (pay per purchase)", allowed=CONTRACT_TERMS),
        _C("seats", "int", "licensed seats (platform: shop staff; hardware: devices)",
           unit="seats", min=1),
        _C("price_per_seat_month", "float", "list price after discount; 0 on a platform",
           unit="CNY / seat / month", min=0),
        _C("arr", "float", "annual recurring revenue at signing (hardware: first order value; "
           "platform: yearly commission)", unit="CNY / year", min=0),
        _C("sales_overpromised", "bool", "sales promised features the product lacks "
           "(recorded at hand-over to customer success)"),
        _C("onboarding_completed", "bool", "onboarding and training finished in the first 60 days"),
    ),
    key="account_id",
)

LEADS = Table(
    "leads", "one row per lead (a prospect who left contact details, 留资)",
    (
        _C("lead_id", "id", "lead key"),
        _C("created_date", "date", "date the lead registered"),
        _C("business_type", "category", "operating model of the seller", allowed=BUSINESS_TYPES),
        _C("channel", "category", "acquisition channel: bidding (SEM), referral (relationship), "
           "content, events / trade shows, partner / distributor, offline BD", allowed=CHANNELS, open=True),
        _C("company_size", "category", "prospect size band", allowed=TIERS, open=True),
        _C("employees", "int", "prospect head count", unit="people", min=1),
        _C("industry", "category", "prospect's industry", allowed=INDUSTRIES, open=True),
        _C("region", "category", "prospect's sales region", allowed=REGIONS, open=True),
        _C("decision_maker_engaged", "bool", "the boss (decision maker) took part in a call"),
        _C("user_engaged", "bool", "an end user (employee) took part"),
        _C("requester_engaged", "bool", "the requesting department head took part"),
        _C("intent", "category", "buying intent from phone qualification", allowed=INTENT_LEVELS),
        _C("budget_confirmed", "bool", "budget confirmed at phone qualification"),
        _C("site_visits", "int", "website visits in the 14 days after registering",
           unit="visits", min=0),
        _C("trial_active_days", "int", "days with demo or trial activity in the first 14 days",
           unit="days", min=0),
        _C("reengaged_from_loss_pool", "bool", "lead came back from the loss pool (流失用户池)"),
        _C("previous_lead_id", "id", "the earlier lost lead it came back from",
           nullable=True),
        _C("qualified_date", "date", "passed phone qualification (sales-accepted lead)",
           nullable=True, known_at_scoring=False),
        _C("engaged_date", "date", "sales visit, demo or active trial (platform: first listing)",
           nullable=True, known_at_scoring=False),
        _C("status", "category", "outcome at the as-of date", allowed=LEAD_STATUSES,
           known_at_scoring=False),
        _C("outcome_date", "date", "date converted (signed / paid / active) or lost",
           nullable=True, known_at_scoring=False),
        _C("account_id", "id", "account created when the lead converted", nullable=True,
           known_at_scoring=False),
    ),
    key="lead_id",
    checks=("outcome_after_created",),
)

CONTRACTS = Table(
    "contracts", "one row per contract period (hardware: per purchase; platform: the "
    "merchant agreement)",
    (
        _C("contract_id", "id", "contract period key"),
        _C("account_id", "id", "account key"),
        _C("period", "int", "1 for the first contract, 2 for the first renewal, ...", min=1),
        _C("start_date", "date", "period start (hardware: order date)"),
        _C("end_date", "date", "period end; empty while a platform agreement or hardware "
           "purchase has no end", nullable=True),
        _C("arr", "float", "annualised value of the period (hardware: order value)",
           unit="CNY / year", min=0),
        _C("outcome", "category", "renewed (hardware: repurchased), churned, or open at the "
           "as-of date", allowed=CONTRACT_OUTCOMES),
        _C("churn_reason", "category", "reason recorded by customer success when churned",
           allowed=CHURN_REASONS, nullable=True),
    ),
    key="contract_id",
    checks=("end_after_start",),
)

USAGE = Table(
    "usage", "one row per account and calendar month while the account is a customer "
    "(in-product tracking, 埋点)",
    (
        _C("account_id", "id", "account key"),
        _C("month", "date", "first day of the calendar month"),
        _C("active_seats", "int", "seats with at least one session", unit="seats", min=0),
        _C("key_feature_adoption", "float", "share of active seats using the key feature",
           unit="fraction 0-1", min=0),
        _C("logins", "int", "sessions in the month", unit="sessions", min=0),
    ),
    key=("account_id", "month"),
)

SUPPORT = Table(
    "support", "one row per account and calendar month while the account is a customer",
    (
        _C("account_id", "id", "account key"),
        _C("month", "date", "first day of the calendar month"),
        _C("tickets_opened", "int", "support tickets opened", unit="tickets", min=0),
        _C("tickets_unresolved", "int", "tickets still open after 7 days", unit="tickets",
           min=0),
        _C("bot_sessions", "int", "chat-bot conversations (SMB and mid only; KA has a CSM)",
           unit="sessions", min=0),
        _C("bot_escalations", "int", "bot conversations escalated after three failed answers",
           unit="sessions", min=0),
    ),
    key=("account_id", "month"),
    checks=("unresolved_le_opened", "escalations_le_sessions"),
)

TABLES: dict[str, Table] = {t.name: t for t in (ACCOUNTS, LEADS, CONTRACTS, USAGE, SUPPORT)}


# -- a team's own exports (tobmodel.mapping): what each mapped field is and what it buys --

#: source -> (what a row is, {field: (required, meaning)}); fields in mapping order
EXPORT_SOURCES = {
    "accounts": ("one row per CRM account (Salesforce Account, HubSpot company)", {
        "account_id": (True, "the CRM's account id, kept as text end to end"),
        "industry": (False, "industry picklist (any labels; rare ones pooled into other)"),
        "region": (False, "sales region or billing country (any labels, UTF-8)"),
        "tier": (False, "customer size or segment (custom field, e.g. Tier__c)"),
        "acquisition_channel": (False, "lead source of the account (AccountSource)"),
        "seats": (False, "licensed seats (custom field, e.g. Seats__c)"),
        "arr": (False, "annual recurring revenue (used where no contract gives one)"),
        "price_per_seat_month": (False, "list price per seat and month"),
        "sales_overpromised": (False, "sales promised what the product lacks (true/false)"),
        "onboarding_completed": (False, "onboarding finished (true/false)"),
        "created_date": (False, "date the account was created"),
    }),
    "contracts": ("one row per contract or subscription term (Salesforce Contract, HubSpot "
                  "won deal)", {
        "account_id": (True, "account id of the contract"),
        "start_date": (True, "first day covered"),
        "contract_id": (False, "the CRM's contract id"),
        "end_date": (False, "last day covered (else start + term_months - 1 day)"),
        "term_months": (False, "term in months (any: 1, 3, 12, 36, ...)"),
        "arr": (False, "annualised contract value"),
        "status": (False, "contract status; statuses.excluded (Draft, ...) are left out"),
        "churn_reason": (False, "reason recorded when the customer left"),
    }),
    "organizations": ("one row per help-desk organization (Zendesk)", {
        "organization_id": (True, "the help desk's organization id"),
        "account_id": (True, "the CRM account id of the organization (external_id)"),
    }),
    "tickets": ("one row per support ticket (Zendesk tickets)", {
        "created_at": (True, "timestamp the ticket was opened"),
        "account_id": (False, "CRM account id (or organization_id + join)"),
        "organization_id": (False, "organization of the requester"),
        "status": (False, "new/open/pending/hold/solved/closed"),
        "solved_at": (False, "timestamp solved (empty while open)"),
    }),
    "events": ("one row per tracked product event (Segment tracks, Mixpanel)", {
        "account_id": (True, "the CRM account id (Segment group_id)"),
        "timestamp": (True, "when the event happened (any zone)"),
        "user_id": (False, "the user (active seats are distinct users per month)"),
        "event": (False, "event name (login_events and key_events are named in the mapping)"),
    }),
    "usage": ("one row per account and month from a warehouse (instead of raw events)", {
        "account_id": (True, "the CRM account id"),
        "month": (True, "the month (any day of it)"),
        "active_seats": (False, "users active in the month"),
        "key_feature_adoption": (False, "share of active users using the key feature "
                                 "(fraction 0-1, or units: percent)"),
        "logins": (False, "sessions in the month"),
    }),
    "leads": ("one row per CRM lead (Salesforce Lead, HubSpot contact): lead models fit on "
              "the closed ones and score the open ones", {
        "lead_id": (True, "the CRM's lead id"),
        "created_date": (True, "when the lead was created"),
        "channel": (False, "lead source"),
        "status": (False, "lead status; statuses.closed ones are lost unless converted"),
        "is_converted": (False, "converted (true/false)"),
        "converted_date": (False, "date converted"),
        "converted_account_id": (False, "account created on conversion"),
        "industry": (False, "industry"), "region": (False, "region or country"),
        "company_size": (False, "size band"), "employees": (False, "head count"),
    }),
}
#: model features each optional field feeds: what leaving it out costs
FEATURE_COST = {
    ("accounts", "industry"): ["industry"],
    ("accounts", "region"): ["region"],
    ("accounts", "tier"): ["tier", "price_vs_tier_median (compared within one tier)"],
    ("accounts", "acquisition_channel"): ["acquisition_channel"],
    ("accounts", "seats"): ["log_seats", "active_seat_share_3m"],
    ("accounts", "arr"): ["arr in the scores (the contracts in force at the as-of date are used)"],
    ("accounts", "price_per_seat_month"): ["price_vs_tier_median (from ARR / seats)"],
    ("accounts", "sales_overpromised"): ["sales_overpromised"],
    ("accounts", "onboarding_completed"): ["onboarding_completed"],
    ("contracts", "end_date"): ["renewal dates (from term_months instead)"],
    ("contracts", "arr"): ["arr"],
    ("contracts", "churn_reason"): ["churn reasons in reports"],
    ("tickets", "solved_at"): ["unresolved_share_6m (from status instead)"],
    ("events", "user_id"): ["active_seat_share_3m", "key_feature_adoption_3m"],
    ("events", "event"): ["key_feature_adoption_3m", "logins_trend counts every event"],
    ("usage", "key_feature_adoption"): ["key_feature_adoption_3m"],
    ("usage", "active_seats"): ["active_seat_share_3m"],
    ("usage", "logins"): ["logins_trend"],
}
#: what a whole missing source costs
TABLE_COST = {
    "events": ["logins_trend", "key_feature_adoption_3m", "active_seat_share_3m"],
    "usage": ["logins_trend", "key_feature_adoption_3m", "active_seat_share_3m"],
    "tickets": ["unresolved_share_6m"],
    "leads": ["lead scores"],
}
FEATURE_COST.update({("leads", f): [f] for f in ("channel", "industry", "region",
                                                 "company_size", "employees")})


def _exports_dictionary() -> list[str]:
    out = ["", "## Your own exports", "",
           "`tobmodel validate | fit | score | evaluate --mapping ...` read CRM, help-desk and"
           " analytics exports through mapping files (`tobmodel/mapping/`, presets"
           " salesforce, hubspot, zendesk, segment, mixpanel). Per source: the fields a"
           " mapping can fill, whether each is required, and what leaving an optional one out"
           " costs the churn model. Only `accounts` and `contracts` are required sources;"
           " without tickets the model loses " + ", ".join(TABLE_COST["tickets"]) +
           ", without events or usage " + ", ".join(TABLE_COST["events"]) + ". Chat-bot"
           " sessions (bot_escalations_6m) come from no standard export."]
    for src, (grain, fields) in EXPORT_SOURCES.items():
        out += ["", f"### {src}", "", f"{grain}.", "",
                "| field | required | meaning | without it the model loses |", "|---|---|---|---|"]
        for name, (req, meaning) in fields.items():
            cost = ", ".join(FEATURE_COST.get((src, name), [])) if not req else ""
            out.append(f"| `{name}` | {'yes' if req else 'no'} | {meaning} | {cost} |")
    return out


def lead_columns_known_at_scoring() -> list[str]:
    """Lead columns a model may use: known when the lead is scored."""
    return [c.name for c in LEADS.columns if c.known_at_scoring and c.kind != "id"]


def data_dictionary() -> str:
    """Render the data dictionary (markdown) that lives in ``data/README.md``."""
    out = [
        "# Data dictionary",
        "",
        "Generated from `tobmodel/schema.py` by `python -m tobmodel.schema > data/README.md`;"
        " a test keeps the two in step.",
        "",
        "## Files in this folder",
        "",
        "`sample_<business_type>/` holds one simulated business per type (stage: maturity,"
        " seed 2026, as of 2025-12-31) as Parquet files, one per table, plus"
        " `truth_*.parquet` with the simulator's ground truth. They are rebuilt byte for byte"
        " by `make data` (`python -m tobmodel.datasets.build`). Raw data is immutable: never"
        " edit these files by hand. `exports/` (not committed) receives score exports.",
        "",
        "Kinds: `id` int64 key; `category` one of the allowed values (exact, case-sensitive;"
        " an open category takes any label: tier, industry, region, channel);"
        " `date` calendar date, written YYYY-MM-DD; `int` int64; `float` float64, finite"
        " (inf, -inf and Infinity are refused); `bool` true/false, also 1/0, yes/no, t/f, y/n"
        " in any case. A nullable column may be empty (blank, NULL or NA in CSV). The table"
        " loaders and the weekly score job read cells by the same rules"
        " (`tobmodel.io.values`).",
    ]
    for t in TABLES.values():
        key = t.key if isinstance(t.key, str) else ", ".join(t.key)
        out += ["", f"## {t.name}", "", f"Grain: {t.grain}. Key: `{key}`.", "",
                "| column | kind (dtype) | unit | nullable | meaning | allowed values |",
                "|---|---|---|---|---|---|"]
        for c in t.columns:
            allowed = ", ".join(c.allowed)
            if c.open:
                allowed = f"any label (simulated: {allowed})"
            if c.min is not None and not allowed:
                allowed = f">= {c.min:g}"
            meaning = c.meaning + ("" if c.known_at_scoring else " (post-outcome: never a"
                                   " lead-model feature)")
            out.append(f"| `{c.name}` | {c.kind} ({c.dtype}) | {c.unit} | "
                       f"{'yes' if c.nullable else 'no'} | {meaning} | {allowed} |")
    out += ["", "## Ground truth (simulated data only)", "",
            "`truth_leads`: `lead_id`, `p_convert` (true probability that the lead converts).",
            "",
            "`truth_hazard`: `account_id`, `period`, `period_end`, `hazard` (true"
            " probability of churn at the end of that period given survival to it; monthly"
            " for monthly terms, platform and hardware (a latent lapse), yearly for annual"
            " terms), `after_churn` (the period lies after the realised churn; kept for 24"
            " months so that oracle probabilities over a horizon are exact). Runs 24 months"
            " beyond as_of so that the future can be checked.",
            "",
            "`truth_accounts`: `account_id`, `churn_date` (true, may lie after as_of; empty if"
            " none within the simulated horizon), `churn_cause`, and for accounts active at"
            " as_of `p_churn_next_renewal` and `p_churn_12m` (oracle scores).",
            "",
            "## Survival view",
            "",
            "`tobmodel.survival_view(tables)` derives one row per account: `account_id`,"
            " `start_date`, `tenure_months`, `churned` (1 = churn observed, 0 = censored at"
            " as_of), `periods_completed`. saas and tool: the contract outcome; platform: churn"
            f" is the first run of `inactive_months` (default {INACTIVE_MONTHS}) months"
            " without logins, dated at the run's first month; hardware: the event is churn"
            f" as a lapse, no repurchase for `lapse_months` (default {LAPSE_MONTHS}) after"
            " the latest order.",
            "",
            "## Months",
            "",
            MONTH_CONVENTION]
    out += _exports_dictionary()
    return "\n".join(out) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(data_dictionary(), end="")
