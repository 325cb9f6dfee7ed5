"""Shared fixtures: a throwaway PostgreSQL server, one local Spark session,
stand-in scoring models (the session-wide ones are in the top-level conftest.py).

The stand-ins follow :mod:`tobmodel.protocol` exactly (they subclass ModelBase and
carry no attribute a real model lacks); tests/test_model_contract.py checks them
beside the real models.

The PostgreSQL and Spark tests skip with a reason where no server binaries or
Java runtime exist; under CI (``CI=true``) they fail instead, so a missing
install step cannot hide.
"""
from __future__ import annotations

import os
from contextlib import contextmanager

import numpy as np
import pandas as pd
import pytest

from tobmodel.protocol import ModelBase

AS_OF = "2025-12-31"


@pytest.fixture(scope="session")
def postgres_url():
    """URL of a private PostgreSQL server started for this test session."""
    from pgserver import find_pg_bin, throwaway_postgres
    if find_pg_bin() is None:
        reason = "PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI must run the PostgreSQL tests: {reason}")
        pytest.skip(reason)
    with throwaway_postgres() as url:
        yield url


def _missing_or_fail(reason: str) -> None:
    """Skip a test whose tools are missing; under CI (``CI=true``) fail instead."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI must run these tests: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def spark():
    """One local Spark session (local[2]) for the whole test session."""
    import shutil
    try:
        import pyspark  # noqa: F401
    except ImportError:
        _missing_or_fail("pyspark is not installed: pip install -e '.[dev]'")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        _missing_or_fail("no Java runtime for Spark: apt-get install openjdk-17-jre-headless")
    from tobmodel.engines.connect import spark_session
    session = spark_session("local[2]", app_name="tobmodel-tests",
                            conf={"spark.sql.shuffle.partitions": "2",
                                  "spark.default.parallelism": "2",
                                  "spark.driver.memory": "1g"})
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture
def pg_url(postgres_url):
    """A fresh empty database on the session's server for one test."""
    import sqlalchemy as sa
    name = f"t{os.urandom(6).hex()}"
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f"CREATE DATABASE {name}")
    yield postgres_url.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as c:
        c.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
    admin.dispose()


@contextmanager
def snapshot_reader(url: str):
    """``(connection, runs)``: a REPEATABLE READ reader whose snapshot is taken on entry by
    counting the run log (``runs``), as a reader that began before a weekly run."""
    import sqlalchemy as sa
    engine = sa.create_engine(url, isolation_level="REPEATABLE READ")
    try:
        with engine.connect() as c:
            yield c, c.exec_driver_sql("SELECT COUNT(*) FROM score_runs").scalar()
    finally:
        engine.dispose()


class _StandIn(ModelBase):
    """A pre-fitted stand-in: its state is set at construction; the document round-trips."""

    def __init__(self, model_id: str):
        self.model_id_, self.as_of_, self.saved_by_version_ = model_id, AS_OF, "0.0-test"
        self.features_ = [dict(f) for f in self.FEATURES]

    def to_document(self) -> dict:
        return {**self.header_document(), "config": {"model_id": self.model_id_}}

    @classmethod
    def from_document(cls, doc: dict):
        return cls(model_id=doc["config"]["model_id"]).read_header(doc)


class StandInRenewalModel(_StandIn):
    """Follows the scoring protocol with a fixed logistic formula (higher = more risk)."""

    kind, name, id_column = "renewal", "standin", "account_id"
    FEATURES = ({"name": "tenure_months", "dtype": "number"},
                {"name": "tier", "dtype": "category", "categories": ["KA", "SMB", "mid"]},
                {"name": "seats", "dtype": "number"},
                {"name": "onboarding_completed", "dtype": "bool"})

    def __init__(self, model_id="standin-000000000001", stall_after=None, marker=None):
        # stall_after: after that many chunks, touch ``marker`` and hang (to be killed)
        super().__init__(model_id)
        self.stall_after, self.marker, self.calls = stall_after, marker, 0

    def score(self, df, as_of=None, horizon_months=None, source="data", progress=False,
              checked=False):  # the protocol's checked=: these stand-ins check anyway
        self.check_schema(df, source)
        self.calls += 1
        if self.stall_after is not None and self.calls > self.stall_after:
            import pathlib
            import time
            pathlib.Path(self.marker).touch()
            time.sleep(600)
        horizon_months = 12 if horizon_months is None else horizon_months
        as_of = pd.Timestamp(self.as_of_ if as_of is None else as_of)
        z = (-1.0 + 1.5 * (df["tier"] == "SMB").to_numpy() - 0.02 * df["tenure_months"].to_numpy()
             - 1.0 * df["onboarding_completed"].to_numpy())
        p_next = 1 / (1 + np.exp(-z))
        p_h = 1 - (1 - p_next) ** (horizon_months / 12)
        return pd.DataFrame({
            "account_id": df["account_id"].to_numpy(),
            "next_renewal_date": as_of + pd.Timedelta(days=30),
            "p_churn_next_renewal": p_next, "horizon_months": horizon_months,
            "p_churn_horizon": p_h, "expected_remaining_months": horizon_months * (1 - p_h / 2),
            "beyond_followup": False,
            "reasons": np.where(df["tier"] == "SMB", "tier=SMB; onboarding", "tenure")})


class StandInLeadModel(_StandIn):
    """Lead protocol stand-in: p_convert from intent (higher = better lead)."""

    kind, name, id_column = "lead", "standin_lead", "lead_id"
    FEATURES = ({"name": "intent", "dtype": "category", "categories": ["high", "low", "medium"]},
                {"name": "employees", "dtype": "number"})

    def __init__(self, model_id="standin_lead-000000000001"):
        super().__init__(model_id)

    def score(self, df, as_of=None, horizon_months=None, source="data", progress=False,
              checked=False):  # the protocol's checked=: these stand-ins check anyway
        self.check_schema(df, source)
        p = df["intent"].map({"low": 0.05, "medium": 0.2, "high": 0.5}).astype(float).to_numpy()
        return pd.DataFrame({"lead_id": df["lead_id"].to_numpy(), "p_convert": p,
                             "score": np.round(p * 100), "grade": np.where(p > 0.3, "A", "C"),
                             "reasons": "intent"})


def account_features(n: int, seed: int = 0, start_id: int = 1) -> pd.DataFrame:
    """A small per-account feature table in the shape the stand-in expects."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "account_id": np.arange(start_id, start_id + n, dtype=np.int64),
        "tenure_months": rng.uniform(1, 48, n).round(2),
        "tier": rng.choice(["KA", "mid", "SMB"], n),
        "seats": rng.integers(1, 200, n),
        "onboarding_completed": rng.random(n) < 0.7,
        "active": True,
    })


@pytest.fixture
def churn_model():
    return StandInRenewalModel()


@pytest.fixture
def lead_model():
    return StandInLeadModel()


@pytest.fixture
def make_features():
    return account_features
