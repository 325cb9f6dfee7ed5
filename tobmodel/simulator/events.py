"""Event-level usage at scale: tracked events and tickets streamed to Parquet partitions.

The account-month simulator (:func:`tobmodel.simulate`) gives each account a
realistic life but holds its tables in memory; the scale path needs billions
of raw events instead. :func:`simulate_events_to_parquet` writes them block
by block of accounts, so memory is bounded by ``events_per_file`` whatever
the total:

``accounts.parquet``
    ``account_id, first_contract_date, seats, tier, churned_at`` (empty while
    a customer; events stop then).
``events/part-NNNNN.parquet``
    ``timestamp`` (UTC, microseconds), ``user_id`` (``account_id * 1000 + j``),
    ``account_id``, ``event`` (``login``, ``key_feature``, ``view``,
    ``export``), the shape of a Segment ``tracks`` export.
``tickets/part-NNNNN.parquet``
    ``ticket_id, account_id, created_at, solved_at`` (empty while open),
    ``via`` (``web``, ``email`` or ``bot``), ``escalated``.

Same seed, same files: block ``b`` draws from ``default_rng([seed, b])``.

Examples
--------
>>> import tempfile, pyarrow.parquet as pq
>>> out = simulate_events_to_parquet(tempfile.mkdtemp(), n_accounts=50, n_events=2_000, seed=1)
>>> pq.read_metadata(out["accounts"]).num_rows
50
>>> sum(pq.read_metadata(p).num_rows for p in sorted(out["events"].glob("*.parquet")))
2000
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

EVENT_KINDS = ("login", "key_feature", "view", "export")
EVENT_SHARES = (0.35, 0.15, 0.40, 0.10)
TIERS = ("KA", "mid", "SMB")
_US_PER_DAY = 86_400_000_000


def _block_accounts(rng, ids, as_of_us, history_months):
    n = len(ids)
    span = history_months * 30.44 * _US_PER_DAY
    start = as_of_us - (rng.random(n) * span).astype(np.int64) - _US_PER_DAY
    start -= start % _US_PER_DAY  # a contract starts on a calendar day
    tier = rng.choice(3, n, p=(0.1, 0.3, 0.6))
    seats = np.maximum(1, np.round(rng.lognormal(np.array([4.0, 2.5, 1.2])[tier], 0.6)))
    churns = rng.random(n) < 0.2
    churned_at = np.where(churns, start + (rng.random(n) * (as_of_us - start)).astype(np.int64),
                          np.iinfo(np.int64).min)
    return start, seats.astype(np.int64), tier, churned_at


def _block_events(rng, ids, start, end, seats, n_events):
    """``n_events`` events spread over the accounts in proportion to their log seats."""
    w = np.log1p(seats) * (end - start)
    counts = rng.multinomial(n_events, w / w.sum())
    acc = np.repeat(np.arange(len(ids)), counts)
    ts = start[acc] + (rng.random(len(acc)) * (end - start)[acc]).astype(np.int64)
    users = np.minimum(seats, 999)[acc]
    user = ids[acc] * 1000 + (rng.random(len(acc)) * users).astype(np.int64)
    kind = rng.choice(len(EVENT_KINDS), len(acc), p=EVENT_SHARES).astype(np.int8)
    return ts, user, ids[acc], kind


def _block_tickets(rng, ids, start, end, seats, per_account, first_id):
    counts = rng.poisson(per_account * np.log1p(seats) / 2)
    acc = np.repeat(np.arange(len(ids)), counts)
    created = start[acc] + (rng.random(len(acc)) * (end - start)[acc]).astype(np.int64)
    days = rng.exponential(3.0, len(acc))
    solved = created + (days * _US_PER_DAY).astype(np.int64)
    never = rng.random(len(acc)) < 0.1
    via = rng.choice(3, len(acc), p=(0.45, 0.25, 0.30)).astype(np.int8)
    escalated = (via == 2) & (rng.random(len(acc)) < 0.25)
    return pd.DataFrame({
        "ticket_id": first_id + np.arange(len(acc), dtype=np.int64),
        "account_id": ids[acc],
        # microseconds: Spark cannot read nanosecond Parquet timestamps
        "created_at": created.astype("datetime64[us]"),
        "solved_at": np.where(never, np.iinfo(np.int64).min, solved).astype("datetime64[us]"),
        "via": pd.Categorical.from_codes(via, ["web", "email", "bot"]),
        "escalated": escalated})


def _write(table, path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    t = table if isinstance(table, pa.Table) else pa.Table.from_pandas(table, preserve_index=False)
    pq.write_table(t, path, compression="snappy", row_group_size=1_000_000)


def simulate_events_to_parquet(folder, n_accounts: int = 10_000, n_events: int = 1_000_000, *,
                               seed: int = 2026, as_of="2025-12-31", history_months: int = 36,
                               events_per_file: int = 5_000_000,
                               tickets_per_account: float = 2.0) -> dict:
    """Write accounts, event-level usage and tickets under ``folder``; bounded memory.

    Parameters
    ----------
    folder : path
        Created if missing; ``accounts.parquet``, ``events/`` and ``tickets/``
        are replaced only once all parts are written.
    n_accounts, n_events : int
        Accounts and tracked events in total (events spread over accounts in
        proportion to log seats and time as a customer).
    seed : int
    as_of : date-like
        Events run up to the end of this day (and not after a churn).
    history_months : int
        Accounts start uniformly over this many months before ``as_of``.
    events_per_file : int
        Events per Parquet part; memory is bounded by it (about 60 bytes an
        event while a part is built).
    tickets_per_account : float
        Mean tickets of a two-seat account (more seats, more tickets).

    Returns
    -------
    dict with the paths ``accounts``, ``events``, ``tickets`` and the counts
    ``n_accounts``, ``n_events``, ``n_tickets``.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq
    if n_accounts < 1 or n_events < 0 or events_per_file < 1:
        raise ValueError("n_accounts must be >= 1, n_events >= 0 and events_per_file >= 1")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    as_of_us = (pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)).value // 1000
    n_blocks = max(1, -(-n_events // events_per_file))
    n_blocks = min(n_blocks, n_accounts)
    bounds = np.linspace(0, n_accounts, n_blocks + 1).astype(np.int64)
    per_block = np.diff(np.linspace(0, n_events, n_blocks + 1).astype(np.int64))
    tmp = folder / f".events-{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "events").mkdir(parents=True)
    (tmp / "tickets").mkdir()
    kinds = pa.array(EVENT_KINDS, pa.string())
    acc_schema = pa.schema([("account_id", pa.int64()), ("first_contract_date", pa.date32()),
                            ("seats", pa.int64()), ("tier", pa.string()),
                            ("churned_at", pa.timestamp("us"))])
    n_tickets = 0
    try:
        with pq.ParquetWriter(tmp / "accounts.parquet", acc_schema, compression="snappy") as aw:
            for b in range(n_blocks):
                rng = np.random.default_rng([seed, b])
                ids = np.arange(bounds[b] + 1, bounds[b + 1] + 1, dtype=np.int64)
                start, seats, tier, churned_at = _block_accounts(rng, ids, as_of_us,
                                                                 history_months)
                end = np.where(churned_at > 0, churned_at, as_of_us)
                aw.write_table(pa.table({
                    "account_id": ids,
                    "first_contract_date": pa.array(start // _US_PER_DAY, pa.int32()).cast(
                        pa.date32()),
                    "seats": seats, "tier": np.array(TIERS)[tier],
                    "churned_at": pa.array(np.where(churned_at > 0, churned_at, 0),
                                           pa.timestamp("us"), mask=churned_at <= 0)},
                    schema=acc_schema))
                ts, user, acc, kind = _block_events(rng, ids, start, end, seats, per_block[b])
                _write(pa.table({
                    "timestamp": pa.array(ts, pa.timestamp("us")), "user_id": user,
                    "account_id": acc,
                    "event": pa.DictionaryArray.from_arrays(pa.array(kind), kinds)}),
                    tmp / "events" / f"part-{b:05d}.parquet")
                del ts, user, acc, kind
                t = _block_tickets(rng, ids, start, end, seats, tickets_per_account,
                                   n_tickets + 1)
                _write(t, tmp / "tickets" / f"part-{b:05d}.parquet")
                n_tickets += len(t)
        for name in ("accounts.parquet", "events", "tickets"):
            target = folder / name
            if target.is_dir():
                shutil.rmtree(target)
            os.replace(tmp / name, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"accounts": folder / "accounts.parquet", "events": folder / "events",
            "tickets": folder / "tickets", "n_accounts": n_accounts,
            "n_events": int(per_block.sum()), "n_tickets": n_tickets}
