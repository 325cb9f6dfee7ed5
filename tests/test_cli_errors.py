"""Bad input through the command line: one line on stderr, non-zero exit, outputs untouched.

Each case runs ``tobmodel score`` (or ``fit``) against a folder that already
holds last week's exports (CSV, rejects and SQLite) and checks that the
failed run changed none of those bytes and left no temporary file.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pandas as pd
import pytest

from tobmodel.cli import main

AS_OF = "2025-12-31"
ROOT = os.geteuid() == 0
ROOT_REASON = ("running as root: permission bits do not stop root, so chmod cannot make "
               "this case; the directory-in-place-of-a-file test covers an unreadable input")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("inputs")
    assert main(["simulate", "--accounts", "300", "--seed", "11", "--no-truth",
                 "--output", str(d / "data")]) == 0
    assert main(["fit", "--data", str(d / "data"), "--model", "cox", "--as-of", AS_OF,
                 "--covariates", "tier,logins_trend", "--penalizer", "0.1",
                 "--output", str(d / "cox.json"),
                 "--features-out", str(d / "features.parquet")]) == 0
    return d


@pytest.fixture
def exports(inputs, tmp_path):
    """Last week's exports: scores.csv, its rejects and a SQLite database; their bytes."""
    out = tmp_path / "exports"
    args = ["score", "--model", str(inputs / "cox.json"), "--input",
            str(inputs / "features.parquet"), "--output", str(out / "scores.csv"),
            "--output", str(out / "scores.sqlite")]
    assert main(args) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert set(before) >= {"scores.csv", "scores.rejects.csv", "scores.sqlite"}
    yield out
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # untouched, no temp file


def fails(capsys, *argv, match):
    rc = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert rc == 1
    assert err.startswith("tobmodel: error: ") and err.count("\n") == 1, err
    assert match in err, err
    return err


def score(inputs, exports, **kw):
    args = {"model": inputs / "cox.json", "input": inputs / "features.parquet"}
    args.update(kw)
    argv = ["score"]
    for k, v in args.items():
        argv += [f"--{k}", v]
    return argv + ["--output", exports / "scores.csv", "--output", exports / "scores.sqlite"]


def test_wrong_path(capsys, inputs, exports):
    fails(capsys, *score(inputs, exports, input=inputs / "no_such_features.parquet"),
          match="no_such_features.parquet: no such file")


def test_wrong_model_path(capsys, inputs, exports):
    fails(capsys, *score(inputs, exports, model=inputs / "nope.json"),
          match="nope.json: no such model file")


@pytest.mark.skipif(ROOT, reason=ROOT_REASON)
def test_unreadable_file(capsys, inputs, exports, tmp_path):
    locked = tmp_path / "locked.parquet"
    locked.write_bytes((inputs / "features.parquet").read_bytes())
    locked.chmod(0)
    try:
        fails(capsys, *score(inputs, exports, input=locked), match="locked.parquet: cannot read")
    finally:
        locked.chmod(0o600)


def test_directory_in_place_of_the_file(capsys, inputs, exports, tmp_path):
    (tmp_path / "features.parquet").mkdir()
    fails(capsys, *score(inputs, exports, input=tmp_path / "features.parquet"),
          match="features.parquet: is a directory")


def test_not_a_tobmodel_model(capsys, inputs, exports, tmp_path):
    (tmp_path / "other.json").write_text(json.dumps({"coef": [1, 2]}))
    fails(capsys, *score(inputs, exports, model=tmp_path / "other.json"),
          match="other.json: not a tobmodel model file")
    fails(capsys, *score(inputs, exports, model=inputs / "features.parquet"),
          match="features.parquet: not a tobmodel model file")


def test_model_and_data_do_not_match(capsys, inputs, exports, tmp_path):
    pd.read_parquet(inputs / "features.parquet").drop(columns="tier").to_parquet(
        tmp_path / "f.parquet")
    err = fails(capsys, *score(inputs, exports, input=tmp_path / "f.parquet"),
                match="data does not match the model's features")
    assert "'tier'" in err and "f.parquet" in err
    # a lead table handed to a renewal model: same error, naming the columns
    fails(capsys, *score(inputs, exports, input=inputs / "data" / "leads.parquet"),
          match="missing columns 'tenure_months'")


def _refused_url():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/tobmodel"


def test_database_refuses_the_connection(capsys, inputs, exports):
    url = _refused_url()
    fails(capsys, "score", "--model", inputs / "cox.json", "--input", url, "--table",
          "account_features", "--output", exports / "scores.csv",
          match="cannot connect to the database")
    err = fails(capsys, *score(inputs, exports), "--output", url,
                match="cannot connect to the database")
    assert "Connection refused" in err or "connection" in err


def test_missing_table(capsys, inputs, exports):
    fails(capsys, "score", "--model", inputs / "cox.json", "--input",
          exports / "scores.sqlite", "--table", "account_features",
          "--output", exports / "scores.csv", match="no table 'account_features'")


@pytest.mark.skipif(ROOT, reason=ROOT_REASON.split(",")[0] + ", so chmod cannot make this "
                    "case; test_output_folder_blocked_by_a_file covers an unwritable output")
def test_no_permission_on_the_output_folder(capsys, inputs, exports, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "scores.csv").write_text("last week\n")
    locked.chmod(0o555)
    try:
        fails(capsys, *score(inputs, exports)[:-4], "--output", locked / "scores.csv",
              match="cannot write")
        assert (locked / "scores.csv").read_text() == "last week\n"
    finally:
        locked.chmod(0o755)


def test_output_folder_blocked_by_a_file(capsys, inputs, exports, tmp_path):
    (tmp_path / "blocker").write_text("a file where a folder should be\n")
    fails(capsys, *score(inputs, exports)[:-4], "--output", tmp_path / "blocker" / "scores.csv",
          match="cannot write")
    fails(capsys, *score(inputs, exports)[:-4], "--output",
          tmp_path / "blocker" / "scores.sqlite", match="cannot")


def test_fit_on_a_missing_folder(capsys, tmp_path):
    fails(capsys, "fit", "--data", tmp_path / "nowhere", "--output", tmp_path / "m.json",
          match="nowhere: is not a folder")
    assert not (tmp_path / "m.json").exists()


def test_a_real_process_prints_no_traceback(inputs, tmp_path):
    r = subprocess.run([sys.executable, "-m", "tobmodel", "score", "--model",
                        str(inputs / "features.parquet"), "--input", str(inputs / "data"),
                        "--output", str(tmp_path / "s.csv")], capture_output=True, text=True)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.startswith("tobmodel: error: ") and r.stderr.count("\n") == 1
    assert "Traceback" not in r.stderr and not list(tmp_path.iterdir())


def test_a_wrong_command_line_exits_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["score", "--horizon", "soon"])
    assert e.value.code == 2


# -- runs that would be silently wrong (issue 13, section 2) --------------------------------
def test_a_run_that_scores_nothing_fails_and_keeps_last_weeks_outputs(capsys, inputs, exports):
    # the features were built at 2025-12-31: scored at another as_of, every row is rejected
    fails(capsys, *score(inputs, exports, **{"as-of": "2025-12-24"}),
          match="scored 0 of")


def test_categories_matching_none_of_the_data_score_nothing(capsys, inputs, exports, tmp_path):
    f = pd.read_parquet(inputs / "features.parquet")
    f["tier"] = "enterprise-plus"  # a category the model never saw
    f.to_parquet(tmp_path / "f.parquet")
    err = fails(capsys, *score(inputs, exports, input=tmp_path / "f.parquet"),
                match="scored 0 of")
    assert "unknown category: tier" in err


def test_far_fewer_rows_than_last_week_fails(capsys, inputs, exports, tmp_path):
    f = pd.read_parquet(inputs / "features.parquet")
    f.iloc[: len(f) // 10].to_parquet(tmp_path / "few.parquet")
    err = fails(capsys, *score(inputs, exports, input=tmp_path / "few.parquet"),
                match="of the previous run")
    assert "scores.csv" in err


def test_the_drop_check_is_configurable(inputs, exports, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    for name in ("scores.csv", "scores.sqlite"):
        (out / name).write_bytes((exports / name).read_bytes())
    f = pd.read_parquet(inputs / "features.parquet")
    f.iloc[: len(f) // 10].to_parquet(tmp_path / "few.parquet")
    base = ["score", "--model", str(inputs / "cox.json"), "--input", str(tmp_path / "few.parquet"),
            "--output", str(out / "scores.csv"), "--output", str(out / "scores.sqlite")]
    assert main(base) == 1  # default 0.5
    assert main(base + ["--min-scored-fraction", "0"]) == 0
    assert len(pd.read_csv(out / "scores.csv")) == f.iloc[: len(f) // 10]["active"].sum()


@pytest.mark.parametrize("as_of, match", [
    ("12/01/2025", "is not an ISO date"),
    ("2030-06-30", "is after the latest data"),
    ("1990-01-01", "is before any account"),
])
def test_fit_refuses_an_as_of_outside_the_data_or_ambiguous(capsys, inputs, tmp_path, as_of,
                                                             match):
    fails(capsys, "fit", "--data", inputs / "data", "--as-of", as_of,
          "--output", tmp_path / "m.json", match=match)
    assert not (tmp_path / "m.json").exists()


def test_lead_fit_refuses_an_as_of_before_any_lead(capsys, inputs, tmp_path):
    fails(capsys, "fit", "--data", inputs / "data", "--model", "lead", "--as-of", "1990-01-01",
          "--output", tmp_path / "m.json", match="is before any lead")


def test_an_explicit_date_format_reads_other_forms(capsys, inputs, tmp_path):
    assert main(["fit", "--data", str(inputs / "data"), "--as-of", "12/31/2025",
                 "--date-format", "%m/%d/%Y", "--covariates", "tier",
                 "--output", str(tmp_path / "m.json")]) == 0
    assert "as of 2025-12-31" in capsys.readouterr().out


def test_score_refuses_an_as_of_after_the_data(capsys, inputs, exports):
    fails(capsys, *score(inputs, exports, input=inputs / "data", **{"as-of": "2030-06-30"}),
          match="is after the latest data (2025-12-31)")
    fails(capsys, *score(inputs, exports, **{"as-of": "31.12.2025"}), match="not an ISO date")


def test_horizon_bounds(capsys, inputs, exports):
    fails(capsys, *score(inputs, exports, horizon=1_000_000_000),
          match="horizon_months must be between 1 and 600")
