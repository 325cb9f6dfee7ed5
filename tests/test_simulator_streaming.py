"""Streaming simulation: the same rows as in memory, whatever the chunking and workers."""
from __future__ import annotations

import hashlib

import pandas as pd
import pytest

import tobmodel.simulator.lifecycle as lifecycle
from tobmodel.simulator import simulate, simulate_to_parquet


def _digest(folder):
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest()
            for f in sorted(folder.glob("*.parquet"))}


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(lifecycle, "CHUNK", 250)


def test_forked_workers_write_the_same_bytes(small_chunks, tmp_path):
    one = simulate_to_parquet(tmp_path / "one", "hardware", n_accounts=900, seed=5, workers=1)
    two = simulate_to_parquet(tmp_path / "two", "hardware", n_accounts=900, seed=5, workers=2)
    assert _digest(one) == _digest(two)
    assert len(_digest(one)) == 8


def test_streamed_tables_equal_the_in_memory_simulation(small_chunks, tmp_path):
    sim = simulate("saas", "growth", n_accounts=700, seed=9)
    folder = simulate_to_parquet(tmp_path, "saas", "growth", n_accounts=700, seed=9, workers=2)
    for name, df in sim.tables.items():
        pd.testing.assert_frame_equal(pd.read_parquet(folder / f"{name}.parquet"), df, obj=name)
    contracts = pd.read_parquet(folder / "contracts.parquet")
    assert contracts["contract_id"].is_unique and contracts["contract_id"].is_monotonic_increasing
