"""Person-months in SQL: the dynamic model's training rows, defined once for DuckDB and Spark.

The same rows as :func:`tobmodel.renewal.person_months` (one row per account
per complete month at risk, with what was known when the month began; a
test holds the two to 1e-12 on all four business types), built where the
data lives from

``accounts``
    :mod:`tobmodel.schema`'s accounts (``account_id, first_contract_date,
    seats, contract_term, tier, industry, price_per_seat_month, arr`` and the
    flags ``sales_overpromised, onboarding_completed``);
``contracts``
    ``account_id, start_date, end_date, arr, outcome``;
``usage``, ``support``
    the account-month tables (:func:`tobmodel.engines.events.account_months`,
    :func:`~tobmodel.engines.events.ticket_months`, or the schema's tables).

The steps, each a common table expression of one SQL text
(:func:`person_months_sql`) in the subset DuckDB and Spark SQL share:

1. the survival view (:func:`tobmodel.survival_view`) per business type:
   saas / tool: the earliest contract ended ``churned`` by ``as_of``;
   hardware: the first order not followed by another within 12 months;
   platform: the first run of ``INACTIVE_MONTHS`` calendar months without a
   login (churn dated at its first day), counted in complete months only;
2. months at risk ``k = 1 .. k_last`` (all complete months of a censored
   account, through the churn month of a churned one), expanded by an
   equality join on a small table of month numbers;
3. usage and support of the calendar months completed before each month
   began, as window sums over the account's months (``ROWS BETWEEN n
   PRECEDING AND 1 PRECEDING``); peer churn per industry over the 3 months
   before (a platform churn is known ``INACTIVE_MONTHS`` later); the contract
   running at the month's start (ARR change, months since the last order).

Dates are days (contract and churn dates at midnight, as in the schema); only
rows dated on or before ``as_of`` are read, so a value planted after it
changes nothing (tested). Two contracts of an account starting the same day
are ordered by ARR (the pandas path keeps the file's order). The platform
attribute ``inactive_run_churn`` of the pandas rows (how often a run of months
without a login became a churn) is :func:`inactive_run_churn`.

Examples
--------
>>> import tobmodel
>>> sim = tobmodel.simulate("saas", n_accounts=200, seed=2)
>>> pm = to_pandas(person_months(sim.tables, as_of="2025-12-31"))
>>> bool(pm.groupby("account_id")["churn"].sum().le(1).all())
True
"""
from __future__ import annotations

import pandas as pd

from ..schema import INACTIVE_MONTHS, LAPSE_MONTHS
from .connect import EngineError, run_sql, to_pandas  # noqa: F401  (to_pandas: public)
from .events import _as_of, _last_complete_month, _month_index, _open, _require

BUSINESS_TYPES = ("saas", "tool", "platform", "hardware")
ACCOUNT_COLUMNS = ("account_id", "first_contract_date", "seats", "contract_term", "tier",
                   "industry", "price_per_seat_month", "arr", "sales_overpromised",
                   "onboarding_completed")
#: the output columns, in the order of :func:`tobmodel.renewal.person_months`
COLUMNS = ("account_id", "month_index", "month_start", "at_risk", "tenure_at_month_start",
           "first_year", "renewal_number", "no_history", "active_seat_share_1m",
           "active_seat_share_3m", "seat_share_trend", "active_seat_share_12m",
           "key_feature_adoption_12m", "key_feature_adoption_3m", "logins_trend",
           "inactive_months", "unresolved_share_to_date", "unresolved_tickets_6m",
           "bot_escalations_6m", "tickets_per_seat_6m", "peer_churn_3m", "log_arr_change",
           "months_since_last_order", "log_seats", "price_vs_tier_median",
           "sales_overpromised", "onboarding_completed", "tier", "contract_term", "industry",
           "churn", "outcome_known")

#: the covariates of the scoring rows that cover every month complete at ``as_of``
NOW_COLUMNS = ("no_history", "active_seat_share_1m", "active_seat_share_3m", "seat_share_trend",
               "active_seat_share_12m", "key_feature_adoption_12m", "key_feature_adoption_3m",
               "logins_trend", "inactive_months", "unresolved_share_to_date",
               "unresolved_tickets_6m", "bot_escalations_6m", "tickets_per_seat_6m",
               "peer_churn_3m")


def _mi(x: str) -> str:
    """Month index (year * 12 + month - 1) of a date expression."""
    return f"(year({x}) * 12 + month({x}) - 1)"


def _add_months(d: str, n: str) -> str:
    """``d`` plus ``n`` calendar months, the day clamped to the month's end (both engines)."""
    t = f"({_mi(d)} + ({n}))"
    y = f"CAST(FLOOR({t} / 12) AS INT)"
    m = f"CAST({t} - 12 * FLOOR({t} / 12) + 1 AS INT)"
    return f"make_date({y}, {m}, LEAST(day({d}), day(last_day(make_date({y}, {m}, 1)))))"


def _days(a: str, b: str) -> str:
    """Days from date ``a`` to date ``b``."""
    return f"CAST({b} - {a} AS INT)"


def _calendar_months(s: str, e: str, whole: str) -> str:
    """:func:`tobmodel.survival.calendar_months` of dates ``s`` .. ``e`` given ``whole``
    (the whole months, already corrected for the day of the month)."""
    a, b = _add_months(s, whole), _add_months(s, f"{whole} + 1")
    return f"({whole} + CAST({_days(a, e)} AS DOUBLE) / CAST({_days(a, b)} AS DOUBLE))"


def _whole_months(s: str, e: str) -> str:
    w = f"({_mi(e)} - {_mi(s)})"
    return f"({w} - CASE WHEN {_add_months(s, w)} > {e} THEN 1 ELSE 0 END)"


def _churn_sql(btype: str, iso: str, as_of_day: pd.Timestamp) -> str:
    """CTE ``churn``: (account_id, churn_d) of the accounts whose churn was seen by as_of."""
    if btype in ("saas", "tool"):
        return f"""churn AS (
  SELECT CAST(account_id AS BIGINT) AS account_id, MIN(CAST(end_date AS DATE)) AS churn_d
  FROM contracts
  WHERE start_date <= TIMESTAMP '{iso}' AND end_date <= TIMESTAMP '{iso}'
    AND CAST(outcome AS STRING) = 'churned'
  GROUP BY CAST(account_id AS BIGINT)
)"""
    if btype == "hardware":
        return f"""orders AS (
  SELECT CAST(account_id AS BIGINT) AS account_id, CAST(start_date AS DATE) AS d
  FROM contracts WHERE start_date <= TIMESTAMP '{iso}'
), lapses AS (
  SELECT account_id, {_add_months('d', str(LAPSE_MONTHS))} AS deadline,
         LEAD(d) OVER (PARTITION BY account_id ORDER BY d) AS nxt
  FROM orders
), churn AS (
  SELECT account_id, MIN(deadline) AS churn_d FROM lapses
  WHERE (nxt IS NOT NULL AND nxt > deadline) OR (nxt IS NULL AND deadline <= DATE '{iso}')
  GROUP BY account_id
)"""
    # platform: complete months only (the as_of month counts once it has ended)
    e = _last_complete_month(as_of_day)
    k = INACTIVE_MONTHS
    return f"""login_months AS (
  SELECT u.account_id, u.m FROM (
    SELECT CAST(account_id AS BIGINT) AS account_id, {_mi('month')} AS m
    FROM usage WHERE logins > 0 AND {_mi('month')} <= {e}) u
  JOIN acc a ON a.account_id = u.account_id
), gaps AS (
  SELECT l.account_id, l.m,
         COALESCE(LAG(l.m) OVER (PARTITION BY l.account_id ORDER BY l.m), a.start_m - 1) AS prev,
         LEAD(l.m) OVER (PARTITION BY l.account_id ORDER BY l.m) AS nxt
  FROM login_months l JOIN acc a ON a.account_id = l.account_id
), runs AS (
  SELECT account_id, prev + 1 AS cm FROM gaps WHERE m - prev - 1 >= {k}
  UNION ALL
  SELECT account_id, m + 1 AS cm FROM gaps WHERE nxt IS NULL AND {e} - m >= {k}
  UNION ALL
  SELECT a.account_id, a.start_m AS cm
  FROM acc a LEFT JOIN (SELECT DISTINCT account_id FROM login_months) l
    ON l.account_id = a.account_id
  WHERE l.account_id IS NULL AND {e} - a.start_m + 1 >= {k}
), first_run AS (
  SELECT account_id, MIN(cm) AS cm FROM runs GROUP BY account_id
), churn AS (
  SELECT r.account_id,
         CASE WHEN make_date(CAST(FLOOR(r.cm / 12) AS INT),
                             CAST(r.cm - 12 * FLOOR(r.cm / 12) + 1 AS INT), 1) <= a.start_d
              THEN CAST(a.start_d + INTERVAL 1 DAY AS DATE)
              ELSE make_date(CAST(FLOOR(r.cm / 12) AS INT),
                             CAST(r.cm - 12 * FLOOR(r.cm / 12) + 1 AS INT), 1) END AS churn_d
  FROM first_run r JOIN acc a ON a.account_id = r.account_id
)"""


_SUMMED = ("act", "adoption", "logins", "opened", "unresolved", "escalations")
_BY_MONTH = "PARTITION BY account_id ORDER BY month_index"


def _running(agg: str) -> str:
    """``agg`` over the account's months up to and including this one."""
    return f"{agg} OVER ({_BY_MONTH} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"


def _lag(col: str, n: int) -> str:
    return f"LAG({col}, {n}) OVER ({_BY_MONTH})"


def _window(col: str, first: int | None, last: int = 1) -> str:
    """Sum of ``col`` over the account's months ``first`` .. ``last`` before this one
    (``first`` None: all earlier months), as a difference of running sums: one running
    sum per column, then lags, instead of a framed sum per window (at 100,000 accounts
    about 15% less CPU and peak memory; no gain measured at 1M). The months of an
    account are consecutive rows from 1."""
    upto = f"COALESCE({_lag(f'c_{col}', last)}, 0.0)"
    if first is None:
        return upto
    return f"({upto} - COALESCE({_lag(f'c_{col}', first + 1)}, 0.0))"


def _count(first: int, last: int = 1) -> str:
    """Months ``first`` .. ``last`` before this one that the account had (months 1, 2, ...)."""
    return (f"CAST(GREATEST(LEAST(month_index - {last}, {first - last + 1}), 0) AS DOUBLE)")


def _clip(x: str, lo: float, hi: float) -> str:
    return f"LEAST(GREATEST({x}, {lo}), {hi})"


def person_months_sql(as_of, business_type: str, current: bool = False) -> str:
    """The SQL of :func:`person_months` (reads ``accounts, contracts, usage, support`` and
    ``month_numbers``: columns ``months, k`` with k = 1..months for every months), or
    with ``current`` that of :func:`current_month`."""
    day, iso, _ = _as_of(as_of)
    if business_type not in BUSINESS_TYPES:
        raise EngineError(f"business_type {business_type!r}: expected one of "
                          f"{', '.join(BUSINESS_TYPES)}")
    as_of_m = _month_index(day)
    lag = INACTIVE_MONTHS if business_type == "platform" else 0
    whole = _whole_months("start_d", "end_d")
    ms = "month_start"
    per_seat = ("CASE WHEN price_per_seat_month > 0 THEN CAST(price_per_seat_month AS DOUBLE) "
                "ELSE CAST(arr AS DOUBLE) / seats / 12.0 END")
    return f"""
WITH acc AS (
  SELECT CAST(account_id AS BIGINT) AS account_id,
         CAST(first_contract_date AS DATE) AS start_d,
         {_mi('first_contract_date')} AS start_m,
         GREATEST(CAST(seats AS DOUBLE), 1.0) AS seats,
         CAST(contract_term AS STRING) AS contract_term, CAST(tier AS STRING) AS tier,
         CAST(industry AS STRING) AS industry,
         price_per_seat_month, arr,
         CASE WHEN sales_overpromised THEN 1.0 ELSE 0.0 END AS sales_overpromised,
         CASE WHEN onboarding_completed THEN 1.0 ELSE 0.0 END AS onboarding_completed
  FROM accounts WHERE first_contract_date < TIMESTAMP '{iso}'
), {_churn_sql(business_type, iso, day)}, sv AS (
  SELECT a.*, c.churn_d IS NOT NULL AS churned,
         COALESCE(c.churn_d, DATE '{iso}') AS end_d
  FROM acc a LEFT JOIN churn c ON c.account_id = a.account_id
), span AS (
  SELECT sv.*, {whole} AS whole, {_mi('end_d')} AS end_m FROM sv
), sv2 AS (
  SELECT span.*,
         CASE WHEN churned
              THEN GREATEST(whole + CASE WHEN end_d > {_add_months('start_d', 'whole')}
                                         THEN 1 ELSE 0 END, 1)
              ELSE whole END AS k_last,
         CASE WHEN churned THEN NULL
              ELSE GREATEST({_calendar_months('start_d', 'end_d', 'whole')}, {1 / 31!r})
         END AS tenure
  FROM span
), priced AS (
  SELECT sv2.*,
         CASE WHEN {per_seat} > 0 THEN LN(CASE WHEN {per_seat} > 0 THEN {per_seat} END)
         END AS log_price
  FROM sv2
), tiers AS (
  SELECT COALESCE(tier, '') AS tier_key, median(log_price) AS med FROM priced
  GROUP BY COALESCE(tier, '')
), pm AS (
  SELECT p.account_id, n.k AS month_index, p.start_d, p.start_m, p.churned, p.k_last, p.tenure,
         p.seats, p.contract_term, p.tier, p.industry, p.sales_overpromised,
         p.onboarding_completed,
         COALESCE(p.log_price - t.med, 0.0) AS price_vs_tier_median,
         {_add_months('p.start_d', 'n.k - 1')} AS month_start
  FROM priced p JOIN month_numbers n
    ON n.months = {'CASE WHEN p.churned THEN p.k_last ELSE p.k_last + 1 + CASE WHEN '
                   f'p.start_m + p.k_last <= {_last_complete_month(day)} THEN 1 ELSE 0 END END'
                   if current else 'p.k_last'}
  JOIN tiers t ON t.tier_key = COALESCE(p.tier, '')
), u AS (
  SELECT CAST(account_id AS BIGINT) AS account_id, {_mi('month')} AS m,
         SUM(CAST(logins AS DOUBLE)) AS logins,
         SUM(CAST(active_seats AS DOUBLE)) AS active_seats,
         SUM(CAST(key_feature_adoption AS DOUBLE)) AS adoption
  FROM usage WHERE {_mi('month')} <= {as_of_m}
  GROUP BY CAST(account_id AS BIGINT), {_mi('month')}
), s AS (
  SELECT CAST(account_id AS BIGINT) AS account_id, {_mi('month')} AS m,
         SUM(CAST(tickets_opened AS DOUBLE)) AS opened,
         SUM(CAST(tickets_unresolved AS DOUBLE)) AS unresolved,
         SUM(CAST(COALESCE(bot_escalations, 0) AS DOUBLE)) AS escalations
  FROM support WHERE {_mi('month')} <= {as_of_m}
  GROUP BY CAST(account_id AS BIGINT), {_mi('month')}
), panel AS (
  SELECT pm.*, COALESCE(u.logins, 0.0) AS logins, COALESCE(u.active_seats, 0.0) AS act,
         COALESCE(u.adoption, 0.0) AS adoption, COALESCE(s.opened, 0.0) AS opened,
         COALESCE(s.unresolved, 0.0) AS unresolved,
         COALESCE(s.escalations, 0.0) AS escalations
  FROM pm
  LEFT JOIN u ON u.account_id = pm.account_id AND u.m = pm.start_m + pm.month_index - 1
  LEFT JOIN s ON s.account_id = pm.account_id AND s.m = pm.start_m + pm.month_index - 1
), cum AS (
  SELECT panel.*, {", ".join(f"{_running(f'SUM({c})')} AS c_{c}" for c in _SUMMED)},
         {_running('MAX(CASE WHEN logins > 0 THEN month_index - 1 END)')} AS max_login
  FROM panel
), w AS (
  SELECT account_id, month_index, start_d, start_m, churned, k_last, tenure, seats,
         contract_term,
         tier, industry, sales_overpromised, onboarding_completed, price_vs_tier_median,
         month_start,
         {_window('act', 12)} AS s12, {_window('adoption', 12)} AS a12, {_count(12)} AS n12,
         {_window('act', 1)} AS s1, {_count(1)} AS n1,
         {_window('act', 3)} AS s3, {_count(3)} AS n3,
         {_window('act', 6, 4)} AS p3, {_count(6, 4)} AS m3,
         {_window('adoption', 3)} AS a3,
         {_window('logins', 3)} AS l3, {_window('logins', 6, 4)} AS lp,
         COALESCE({_lag('max_login', 1)}, -1) AS last_login,
         {_window('opened', None)} AS op, {_window('unresolved', None)} AS un,
         {_window('unresolved', 6)} AS u6, {_window('escalations', 6)} AS e6,
         {_window('opened', 6)} AS t6
  FROM cum
), shares AS (
  SELECT w.*,
         CASE WHEN n1 > 0 THEN s1 / GREATEST(n1, 1.0) / seats ELSE 0.0 END AS share1,
         CASE WHEN n3 > 0 THEN s3 / GREATEST(n3, 1.0) / seats ELSE 0.0 END AS share3
  FROM w
), moves AS (
  SELECT shares.*,
         CASE WHEN m3 > 0 THEN p3 / GREATEST(m3, 1.0) / seats ELSE share3 END AS prev3
  FROM shares
), industry_months AS (
  SELECT i.industry, lo.lo + n.k - 1 AS m
  FROM (SELECT DISTINCT industry FROM sv2) i
  CROSS JOIN (SELECT MIN(start_m) AS lo FROM sv2) lo
  CROSS JOIN (SELECT k FROM month_numbers WHERE months = (SELECT MAX(months)
                                                            FROM month_numbers)) n
), moves_in AS (
  SELECT industry, start_m AS m, 1.0 AS delta, 0.0 AS churns FROM sv2
  UNION ALL
  SELECT industry, end_m + 1 AS m, -1.0 AS delta, 0.0 AS churns FROM sv2 WHERE churned
  UNION ALL
  SELECT industry, end_m AS m, 0.0 AS delta, 1.0 AS churns FROM sv2 WHERE churned
), industry_delta AS (
  SELECT industry, m, SUM(delta) AS delta, SUM(churns) AS churns
  FROM moves_in GROUP BY industry, m
), in_force AS (
  SELECT g.industry, g.m, COALESCE(d.churns, 0.0) AS churns,
         SUM(COALESCE(d.delta, 0.0)) OVER (PARTITION BY g.industry ORDER BY g.m
                                           ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
           AS in_force
  FROM industry_months g
  LEFT JOIN industry_delta d ON d.industry = g.industry AND d.m = g.m
), peers AS (
  SELECT industry, m,
         SUM(churns) OVER (PARTITION BY industry ORDER BY m
                           ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS n_churn,
         SUM(in_force) OVER (PARTITION BY industry ORDER BY m
                             ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS exposure
  FROM in_force
), contract_rows AS (
  SELECT c.account_id, CAST(c.start_date AS DATE) AS d, CAST(c.arr AS DOUBLE) AS arr,
         a.start_d, a.start_m
  FROM (SELECT CAST(account_id AS BIGINT) AS account_id, start_date, arr FROM contracts) c
  JOIN sv2 a ON a.account_id = c.account_id
), first_contract AS (
  SELECT account_id, arr AS first_arr FROM (
    SELECT account_id, arr,
           ROW_NUMBER() OVER (PARTITION BY account_id ORDER BY d, arr) AS r
    FROM contract_rows) x WHERE r = 1
), contract_k AS (
  SELECT account_id, d, arr,
         GREATEST(({_mi('d')} - start_m) + CASE WHEN
           {_add_months('start_d', f"{_mi('d')} - start_m")} >= d THEN 1 ELSE 2 END, 1) AS k
  FROM contract_rows
), contract_at_k AS (
  SELECT account_id, k, d, arr FROM (
    SELECT account_id, k, d, arr,
           ROW_NUMBER() OVER (PARTITION BY account_id, k ORDER BY d DESC, arr DESC) AS r
    FROM contract_k) x WHERE r = 1
), running AS (
  SELECT mv.account_id, mv.month_index,
         MAX(CASE WHEN ck.account_id IS NOT NULL THEN mv.month_index END) OVER (
           PARTITION BY mv.account_id ORDER BY mv.month_index
           ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS k_current
  FROM moves mv
  LEFT JOIN contract_at_k ck ON ck.account_id = mv.account_id AND ck.k = mv.month_index
), cur AS (
  SELECT r.account_id, r.month_index, ck.d AS cur_d, ck.arr AS cur_arr, f.first_arr
  FROM running r
  LEFT JOIN contract_at_k ck ON ck.account_id = r.account_id AND ck.k = r.k_current
  LEFT JOIN first_contract f ON f.account_id = r.account_id
), since AS (
  SELECT mv.*, cur.cur_d, cur.cur_arr, cur.first_arr,
         CASE WHEN cur.cur_d IS NULL THEN NULL
              ELSE {_whole_months('cur.cur_d', f'mv.{ms}')} END AS since_whole
  FROM moves mv
  LEFT JOIN cur ON cur.account_id = mv.account_id AND cur.month_index = mv.month_index
){_quiet_sql(business_type, day)}, final AS (
SELECT x.account_id,
       CAST(x.month_index AS BIGINT) AS month_index,
       CAST(x.{ms} AS TIMESTAMP) AS month_start,
       (x.contract_term <> 'annual' OR x.month_index % 12 = 0) AS at_risk,
       CAST(x.month_index - 1 AS DOUBLE) AS tenure_at_month_start,
       CASE WHEN x.month_index - 1 < 12 THEN 1.0 ELSE 0.0 END AS first_year,
       CASE WHEN x.contract_term = 'annual'
            THEN CAST(CEIL(CAST(x.month_index AS DOUBLE) / 12.0) AS DOUBLE)
            ELSE CAST(x.month_index AS DOUBLE) END AS renewal_number,
       CASE WHEN x.month_index = 1 THEN 1.0 ELSE 0.0 END AS no_history,
       {_clip('x.share1', 0.0, 1.0)} AS active_seat_share_1m,
       {_clip('x.share3', 0.0, 1.0)} AS active_seat_share_3m,
       {_clip('x.share3 - x.prev3', -1.0, 1.0)} AS seat_share_trend,
       {_clip('CASE WHEN x.n12 > 0 THEN x.s12 / GREATEST(x.n12, 1.0) / x.seats ELSE 0.0 END',
              0.0, 1.0)} AS active_seat_share_12m,
       CASE WHEN x.n12 > 0 THEN x.a12 / GREATEST(x.n12, 1.0) ELSE 0.0 END
         AS key_feature_adoption_12m,
       CASE WHEN x.n3 > 0 THEN x.a3 / GREATEST(x.n3, 1.0) ELSE 0.0 END
         AS key_feature_adoption_3m,
       CASE WHEN x.n3 > 0 AND x.m3 > 0
            THEN LN(1 + x.l3 / GREATEST(x.n3, 1.0)) - LN(1 + x.lp / GREATEST(x.m3, 1.0))
            ELSE 0.0 END AS logins_trend,
       CASE WHEN x.month_index >= 2
            THEN CAST(LEAST(x.month_index - 2 - x.last_login, 12) AS DOUBLE)
            ELSE 0.0 END AS inactive_months,
       CASE WHEN x.op > 0 THEN x.un / GREATEST(x.op, 1.0) ELSE 0.0 END
         AS unresolved_share_to_date,
       x.u6 AS unresolved_tickets_6m,
       x.e6 AS bot_escalations_6m,
       x.t6 / x.seats AS tickets_per_seat_6m,
       COALESCE(CASE WHEN p.exposure > 0 THEN p.n_churn / p.exposure ELSE 0.0 END, 0.0)
         AS peer_churn_3m,
       COALESCE(LN(CASE WHEN x.cur_arr / NULLIF(x.first_arr, 0) > 0
                        THEN x.cur_arr / NULLIF(x.first_arr, 0) END), 0.0) AS log_arr_change,
       {'0.0' if business_type != 'hardware' else
        "CASE WHEN x.cur_d IS NULL THEN 0.0 ELSE GREATEST("
        + _calendar_months('x.cur_d', f'x.{ms}', 'x.since_whole') + ", 0.0) END"}
         AS months_since_last_order,
       LN(x.seats) AS log_seats,
       x.price_vs_tier_median,
       x.sales_overpromised, x.onboarding_completed,
       x.tier, x.contract_term, x.industry,
       CAST(CASE WHEN x.churned AND x.month_index = x.k_last THEN 1 ELSE 0 END AS TINYINT)
         AS churn,
       {_known_sql(business_type, day)} AS outcome_known,
       x.churned, x.k_last, x.tenure, x.start_d
FROM since x
LEFT JOIN peers p ON p.industry = x.industry AND p.m = x.start_m + x.month_index - 2 - {lag}
{'LEFT JOIN quiet q ON q.account_id = x.account_id' if business_type == 'platform' else ''}
)
{_current_select(iso) if current else
 f"SELECT {', '.join(COLUMNS)} FROM final WHERE month_index <= k_last"}
"""


def _quiet_sql(btype: str, as_of_day: pd.Timestamp) -> str:
    """Platform: CTE ``quiet`` (account_id, m0): the calendar month after the account's
    last login month complete at ``as_of`` (its first month if none), where a run
    without a login that may still become a churn began (see :func:`_known_sql`)."""
    if btype != "platform":
        return ""
    return f""", quiet AS (
  SELECT a.account_id, COALESCE(MAX(l.m) + 1, a.start_m) AS m0
  FROM acc a LEFT JOIN login_months l ON l.account_id = a.account_id
  GROUP BY a.account_id, a.start_m
)"""


def _known_sql(btype: str, as_of_day: pd.Timestamp) -> str:
    """The row's ``outcome_known``
    (:func:`tobmodel.renewal.person_months.outcome_known`): on a platform, False for
    the months of an account not churned from the month holding the first day of its
    current run without a login (the run may still become a churn dated there)."""
    if btype != "platform":
        return "TRUE"
    run_start = ("make_date(CAST(FLOOR(q.m0 / 12) AS INT), "
                 "CAST(q.m0 - 12 * FLOOR(q.m0 / 12) + 1 AS INT), 1)")
    return (f"(x.churned OR q.m0 > {_last_complete_month(as_of_day)} "
            f"OR {_add_months('x.start_d', 'x.month_index')} < {run_start})")


def _current_select(iso: str) -> str:
    """The running month of every active account, with the scoring columns (steps kept
    flat: Spark's parser runs out of memory on deeply nested date arithmetic).

    Its behaviour covariates (:data:`NOW_COLUMNS`) cover every calendar month complete
    at ``as_of``: when the running month's own calendar month is complete, they are
    those of the next month's row (whose windows end with that month), built for it."""
    one = (pd.Timestamp(iso) + pd.DateOffset(months=1)).date()  # clamped to the month's end
    step = "CASE WHEN contract_term = 'annual' THEN 12 ELSE 1 END"
    row = [c for c in COLUMNS if c not in ("churn", "outcome_known")]
    merged = ", ".join(
        f"CASE WHEN nx.account_id IS NULL THEN f.{c} ELSE nx.{c} END AS {c}" if c in NOW_COLUMNS
        else f"f.{c}" for c in (*row, "churned", "k_last", "tenure", "start_d"))
    cols = [*row[:2], f"TIMESTAMP '{iso}' AS as_of", "tenure AS tenure_months", *row[2:]]
    return f""", now_rows AS (
  SELECT {merged}
  FROM final f LEFT JOIN final nx
    ON nx.account_id = f.account_id AND nx.month_index = f.k_last + 2
  WHERE NOT f.churned AND f.month_index = f.k_last + 1
), running_month AS (
  SELECT now_rows.*, DATE '{one}' AS one_d,
         CAST((FLOOR(tenure / {step}) + 1) * {step} AS BIGINT) AS next_k
  FROM now_rows
), to_next AS (
  SELECT running_month.*, {_whole_months('start_d', 'one_d')} AS one_whole,
         {_add_months('start_d', 'next_k')} AS next_d
  FROM running_month
)
SELECT {', '.join(cols)}, TRUE AS active,
       CAST(CASE WHEN contract_term = 'none' THEN one_d ELSE next_d END AS TIMESTAMP)
         AS next_renewal_date,
       CASE WHEN contract_term = 'none'
            THEN {_calendar_months('start_d', 'one_d', 'one_whole')} - tenure
            ELSE CAST(next_k AS DOUBLE) - tenure END AS months_to_next_renewal
FROM to_next"""


def month_numbers(n: int) -> pd.DataFrame:
    """The table ``month_numbers``: (months, k) for k = 1..months, months = 0..n."""
    import numpy as np
    months = np.repeat(np.arange(n + 1, dtype=np.int64), np.arange(n + 1))
    starts = np.repeat(np.cumsum(np.r_[0, np.arange(n)]), np.arange(n + 1))
    return pd.DataFrame({"months": months, "k": np.arange(len(months)) - starts + 1})


def person_months(tables, *, as_of, business_type: str | None = None, engine: str = "duckdb",
                  con=None, memory_limit: str = "2GB"):
    """Training rows of the dynamic model, on DuckDB or Spark (see the module docstring).

    Parameters
    ----------
    tables : dict or Simulation
        ``accounts, contracts, usage, support``: paths, pandas frames or
        engine relations (a Simulation's tables).
    as_of : date-like
        Only what was known by the end of this day is used.
    business_type : str, optional
        The churn rule; default the one ``business_type`` of ``accounts``
        (one aggregate; mixed types are refused, as in the pandas path).
    engine, con, memory_limit
        As in :func:`tobmodel.engines.events.account_months`.

    Returns
    -------
    DuckDB relation or Spark DataFrame with :data:`COLUMNS`, one row per
    account and month at risk (unordered; sort by ``account_id,
    month_index`` when it matters).
    """
    return _run(tables, as_of, business_type, engine, con, memory_limit, current=False)[0]


def current_month(tables, *, as_of, business_type: str | None = None, engine: str = "duckdb",
                  con=None, memory_limit: str = "2GB"):
    """The running month of every active account at ``as_of``: the dynamic model's scoring rows.

    The same rows as :func:`tobmodel.renewal.current_month` (tested to 1e-12):
    :data:`COLUMNS` without ``churn``, plus ``as_of, tenure_months, active,
    next_renewal_date, months_to_next_renewal``; the behaviour covariates
    (:data:`NOW_COLUMNS`) cover every calendar month complete at ``as_of``, ready for
    :func:`tobmodel.engines.spark_scoring.score_on_spark` or
    :func:`tobmodel.export.export_scores` with a dynamic model. Parameters as
    in :func:`person_months`.
    """
    return _run(tables, as_of, business_type, engine, con, memory_limit, current=True)[0]


def _inputs(tables, as_of, engine, con, memory_limit, needed):
    """(tables, con, accounts' columns) with the ``needed`` tables checked."""
    tables = tables.tables if hasattr(tables, "tables") else dict(tables)
    missing = [t for t in needed if t not in tables]
    if missing:
        raise EngineError(f"person_months needs tables {', '.join(missing)} "
                          f"(got {', '.join(sorted(tables))})")
    _as_of(as_of)
    con = _open(engine, con, memory_limit)
    src = {t: tables[t] for t in needed}
    cols = _require(engine, con, "accounts", src["accounts"], ACCOUNT_COLUMNS)
    for name, want in (("contracts", ("account_id", "start_date", "end_date", "arr", "outcome")),
                       ("usage", ("account_id", "month", "active_seats",
                                  "key_feature_adoption", "logins")),
                       ("support", ("account_id", "month", "tickets_opened",
                                    "tickets_unresolved", "bot_escalations"))):
        if name in src:
            _require(engine, con, name, src[name], want)
    return src, con, cols


def _business_type(engine, con, cols, business_type) -> str:
    """The given type, else the one ``business_type`` of ``accounts`` (mixed: refused)."""
    if business_type is not None:
        return business_type
    if "business_type" not in cols:
        raise EngineError("accounts has no business_type column: pass business_type=")
    types = to_pandas(run_sql("SELECT DISTINCT CAST(business_type AS STRING) AS t "
                              "FROM accounts", {}, engine=engine, con=con))["t"].tolist()
    if len(types) != 1:
        raise EngineError(f"accounts mix business types {sorted(map(str, types))}: "
                          "run once per type (pass business_type=)")
    return types[0]


def _run(tables, as_of, business_type, engine, con, memory_limit, current):
    """(the rows' relation, the business type they were built for, the connection)."""
    src, con, cols = _inputs(tables, as_of, engine, con, memory_limit,
                             ("accounts", "contracts", "usage", "support"))
    day, iso, _ = _as_of(as_of)
    first = to_pandas(run_sql(
        "SELECT MIN(first_contract_date) AS first FROM accounts "
        f"WHERE first_contract_date < TIMESTAMP '{iso}'", {}, engine=engine, con=con))
    if pd.isna(first["first"].iloc[0]):
        raise EngineError(f"accounts: no account started before as_of {iso}")
    business_type = _business_type(engine, con, cols, business_type)
    start = pd.Timestamp(first["first"].iloc[0])
    n = _month_index(day) - _month_index(start) + 2
    return (run_sql(person_months_sql(as_of, business_type, current),
                    {**src, "month_numbers": month_numbers(n)}, engine=engine, con=con),
            business_type, con)


def training_rows(tables, *, as_of, business_type: str | None = None, engine: str = "duckdb",
                  con=None, memory_limit: str = "2GB") -> pd.DataFrame:
    """:func:`person_months` as a pandas frame with what
    :meth:`DynamicHazardModel.fit <tobmodel.renewal.dynamic.DynamicHazardModel.fit>`
    reads beside the rows: ``attrs`` ``as_of``, ``business_type`` and (platform)
    ``inactive_run_churn``, as :func:`tobmodel.renewal.person_months` gives them. The
    column ``outcome_known`` leaves out a platform's months whose churn is not known yet.
    Parameters as in :func:`person_months`.

    Examples
    --------
    >>> import tobmodel
    >>> from tobmodel.renewal.dynamic import DynamicHazardModel
    >>> sim = tobmodel.simulate("platform", n_accounts=300, seed=2)
    >>> rows = training_rows(sim.tables, as_of="2025-12-31")
    >>> rows.attrs["business_type"], sorted(rows.attrs["inactive_run_churn"])
    ('platform', [1, 2])
    >>> m = DynamicHazardModel().fit(rows)
    >>> m.n_rows_ == DynamicHazardModel().fit(sim, as_of="2025-12-31").n_rows_
    True
    """
    rel, btype, con = _run(tables, as_of, business_type, engine, con, memory_limit,
                           current=False)
    rows = to_pandas(rel).sort_values(["account_id", "month_index"], kind="stable",
                                      ignore_index=True)
    day, _, _ = _as_of(as_of)
    rows.attrs.update(as_of=str(day.date()), business_type=btype,
                      inactive_run_churn=inactive_run_churn(
                          tables, as_of=as_of, business_type=btype, engine=engine, con=con,
                          memory_limit=memory_limit))
    return rows


def inactive_run_churn_sql(as_of) -> str:
    """The SQL of :func:`inactive_run_churn` (reads ``accounts`` and ``usage``): per run
    length ``j``, the runs counted and those that went on to ``INACTIVE_MONTHS``."""
    day, iso, _ = _as_of(as_of)
    k = INACTIVE_MONTHS
    # runs start after a login month p (or before the first month: p = start - 1) and last
    # until the next login month q; a run of j months is seen whenever q > p + j, and it
    # became a churn when q > p + k. Only runs whose outcome was known: p + k <= the last
    # complete month (the as_of month is running)
    last = _month_index(day) - 1
    runs = ",\n       ".join(
        f"CAST(SUM(CASE WHEN q IS NULL OR q > p + {j} THEN 1 ELSE 0 END) AS BIGINT) AS runs_{j}"
        for j in range(1, k))
    return f"""
WITH acc AS (
  SELECT CAST(account_id AS BIGINT) AS account_id, {_mi('first_contract_date')} AS start_m
  FROM accounts WHERE first_contract_date < TIMESTAMP '{iso}'
), login_months AS (
  SELECT DISTINCT u.account_id, u.m FROM (
    SELECT CAST(account_id AS BIGINT) AS account_id, {_mi('month')} AS m
    FROM usage WHERE logins > 0) u
  JOIN acc a ON a.account_id = u.account_id
  WHERE u.m >= a.start_m AND u.m <= {last + 1}
), points AS (
  SELECT account_id, m FROM login_months
  UNION ALL
  SELECT account_id, start_m - 1 AS m FROM acc
), gaps AS (
  SELECT m AS p, LEAD(m) OVER (PARTITION BY account_id ORDER BY m) AS q FROM points
)
SELECT {runs},
       CAST(SUM(CASE WHEN q IS NULL OR q > p + {k} THEN 1 ELSE 0 END) AS BIGINT) AS churned
FROM gaps WHERE p + {k} <= {last}
"""


def inactive_run_churn(tables, *, as_of, business_type: str | None = None,
                       engine: str = "duckdb", con=None, memory_limit: str = "2GB") -> dict:
    """Share of runs of ``j`` months without a login that became a platform churn, in SQL.

    The same figures as :func:`tobmodel.renewal.person_months.inactive_run_churn`
    (tested): ``{j: share}`` for ``j = 1 .. INACTIVE_MONTHS - 1``, over the
    runs whose outcome was known by ``as_of``; empty for other business types.
    The dynamic model reads it from the training rows' ``attrs``, which
    :func:`training_rows` sets.

    Parameters as in :func:`person_months` (reads ``accounts`` and ``usage``).
    """
    src, con, cols = _inputs(tables, as_of, engine, con, memory_limit, ("accounts", "usage"))
    if _business_type(engine, con, cols, business_type) != "platform":
        return {}
    row = to_pandas(run_sql(inactive_run_churn_sql(as_of), src, engine=engine, con=con))
    row = row.iloc[0] if len(row) else None
    churned = 0 if row is None or pd.isna(row["churned"]) else int(row["churned"])
    out = {}
    for j in range(1, INACTIVE_MONTHS):
        n = 0 if row is None or pd.isna(row[f"runs_{j}"]) else int(row[f"runs_{j}"])
        if n:
            out[j] = churned / n
    return out


__all__ = ["ACCOUNT_COLUMNS", "BUSINESS_TYPES", "COLUMNS", "NOW_COLUMNS", "current_month",
           "inactive_run_churn", "inactive_run_churn_sql", "month_numbers", "person_months",
           "person_months_sql", "to_pandas", "training_rows"]
