"""Shared fixtures: one OpenMP thread, a throwaway PostgreSQL server, one local Spark
session, stand-in scoring models.

The PostgreSQL and Spark tests skip with a reason where no server binaries or
Java runtime exist; under CI (``CI=true``) they fail instead, so a missing
install step cannot hide.
"""
from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(autouse=True, scope="session")
def one_openmp_thread():
    """Gradient boosting with OpenMP on a busy 2-core machine runs 20-40x slower."""
    from threadpoolctl import threadpool_limits
    with threadpool_limits(1, user_api="openmp"):
        yield


@pytest.fixture(scope="session")
def postgres_url():
    """URL of a private PostgreSQL server started for this test session."""
    from tobmodel.export.pgserver import find_pg_bin, throwaway_postgres
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


class StandInRenewalModel:
    """Implements the scoring protocol with a fixed logistic formula (higher = more risk)."""

    kind, name, version, id_column = "renewal", "standin", "0.0-test", "account_id"
    feature_names_ = ["tenure_months", "tier", "seats", "onboarding_completed"]
    features_ = [{"name": "tenure_months", "dtype": "number"},
                 {"name": "tier", "dtype": "category", "categories": ["KA", "SMB", "mid"]},
                 {"name": "seats", "dtype": "number"},
                 {"name": "onboarding_completed", "dtype": "bool"}]
    created_from = {"as_of": "2025-12-31"}

    def __init__(self, model_id="standin-000000000001", stall_after=None, marker=None):
        # stall_after: after that many chunks, touch ``marker`` and hang (to be killed)
        self.model_id, self.stall_after, self.marker, self.calls = (
            model_id, stall_after, marker, 0)

    def check_schema(self, df):
        from tobmodel.persist import check_schema
        check_schema(df, self.features_)

    def score(self, df, as_of=None, horizon_months=12):
        self.calls += 1
        if self.stall_after is not None and self.calls > self.stall_after:
            import pathlib
            import time
            pathlib.Path(self.marker).touch()
            time.sleep(600)
        z = (-1.0 + 1.5 * (df["tier"] == "SMB").to_numpy() - 0.02 * df["tenure_months"].to_numpy()
             - 1.0 * df["onboarding_completed"].to_numpy())
        p_next = 1 / (1 + np.exp(-z))
        p_h = 1 - (1 - p_next) ** (horizon_months / 12)
        return pd.DataFrame({
            "account_id": df["account_id"].to_numpy(),
            "next_renewal_date": pd.Timestamp(as_of) + pd.Timedelta(days=30),
            "p_churn_next_renewal": p_next, "horizon_months": horizon_months,
            "p_churn_horizon": p_h, "expected_remaining_months": 12 / np.maximum(p_h, 0.01),
            "beyond_followup": False,
            "reasons": np.where(df["tier"] == "SMB", "tier=SMB; onboarding", "tenure")})


class StandInLeadModel:
    """Lead protocol stand-in: p_convert from intent (higher = better lead)."""

    kind, name, version, id_column = "lead", "standin_lead", "0.0-test", "lead_id"
    model_id = "standin_lead-000000000001"
    feature_names_ = ["intent", "employees"]
    features_ = [{"name": "intent", "dtype": "category", "categories": ["high", "low", "medium"]},
                 {"name": "employees", "dtype": "number"}]
    created_from = {"as_of": "2025-12-31"}

    def check_schema(self, df):
        from tobmodel.persist import check_schema
        check_schema(df, self.features_)

    def score(self, df, as_of=None):
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
