"""validate, fit and score on one export count its events once; a changed byte counts again."""
import pandas as pd
import pytest

from tobmodel.mapping import events as mapping_events
from tobmodel.mapping import events_cache
from tobmodel.mapping.events import EventFile, account_months_of_files

KEYS = pd.DataFrame({"crm_account_id": ["001A", "001B"], "account_id": [7, 8]})
COLS = {"timestamp": "timestamp", "user_id": "user_id", "account_id": "group_id",
        "event": "event"}


def _export(path, timestamps, users=("u1", "u2", "u3")):
    pd.DataFrame({"timestamp": timestamps, "user_id": list(users)[:len(timestamps)],
                  "group_id": ["001A", "001A", "001B"][:len(timestamps)],
                  "event": ["Signed In"] * len(timestamps)}).to_csv(path, index=False)
    return [EventFile(path.name, path, COLS, list(COLS.values()))]


def _count(files, problems=None):
    return account_months_of_files(files, KEYS, tz="UTC", login_events=["signed in"],
                                   problems=problems)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    d = tmp_path / "cache"
    monkeypatch.setenv("TOBMODEL_CACHE_DIR", str(d))
    return d


@pytest.fixture
def counts(monkeypatch):
    """How many times the events were really counted."""
    seen = []
    real = mapping_events._count

    def counting(*a, **k):
        seen.append(1)
        return real(*a, **k)
    monkeypatch.setattr(mapping_events, "_count", counting)
    return seen


TS = ["2025-11-03T09:00:00Z", "2025-11-04T10:00:00Z", "2025-12-01T08:00:00Z"]


def test_the_second_run_on_the_same_export_reads_the_kept_count(tmp_path, cache, counts):
    files = _export(tmp_path / "tracks.csv", TS)
    first = _count(files)
    second = _count(files)
    assert len(counts) == 1
    pd.testing.assert_frame_equal(first[0], second[0])
    assert first[1:] == second[1:] == (3, 0)
    assert first[0].attrs["latest"] == second[0].attrs["latest"]


def test_a_changed_byte_of_the_same_size_is_counted_again(tmp_path, cache, counts):
    path = tmp_path / "tracks.csv"
    files = _export(path, TS)
    before = _count(files)[0]
    _export(path, TS, users=("u1", "u1", "u3"))  # same size, one user fewer in November
    after = _count(files)[0]
    assert len(counts) == 2
    nov = pd.Timestamp("2025-11-01")
    seats = lambda u: int(u.loc[(u.account_id == 7) & (u.month == nov), "active_seats"].iloc[0])  # noqa: E731
    assert (seats(before), seats(after)) == (2, 1)


def test_a_count_with_problems_is_not_kept_and_reports_them_every_run(tmp_path, cache, counts):
    files = _export(tmp_path / "tracks.csv", ["2025-11-03T09:00:00Z", "not a date",
                                               "2025-12-01T08:00:00Z"])
    for _ in range(2):
        problems = []
        _count(files, problems)
        assert any("timestamp" in str(p.column) for p in problems)
    assert len(counts) == 2
    assert not list(cache.glob("*.json"))


def test_another_cut_or_mapping_is_another_key(tmp_path, cache, counts):
    files = _export(tmp_path / "tracks.csv", TS)
    _count(files)
    account_months_of_files(files, KEYS, tz="UTC", login_events=["signed in"],
                            cut=pd.Timestamp("2025-12-01"))
    account_months_of_files(files, KEYS, tz="Asia/Shanghai", login_events=["signed in"])
    assert len(counts) == 3


def test_off_keeps_nothing(tmp_path, monkeypatch, counts):
    monkeypatch.setenv("TOBMODEL_CACHE_DIR", "off")
    files = _export(tmp_path / "tracks.csv", TS)
    _count(files)
    _count(files)
    assert len(counts) == 2
    assert events_cache.cache_dir() is None
    assert events_cache.cache_key(files, KEYS) is None  # no digest is read when off


def test_the_oldest_results_are_dropped(tmp_path, cache, monkeypatch):
    monkeypatch.setattr(events_cache, "CACHE_KEEP", 2)
    for k in range(4):
        _count(_export(tmp_path / f"t{k}.csv", TS[:k % 3 + 1]))
    assert len(list(cache.glob("*.json"))) == 2
    assert len(list(cache.glob("*.parquet"))) == 2
