"""Only active accounts and open leads are scored; the others are counted, never rejects."""
from __future__ import annotations

import pandas as pd

import tobmodel
from tobmodel.cli import main


def test_folder_scoring_counts_churned_accounts_and_closed_leads_as_not_scored(
        tmp_path, capsys):
    data = tobmodel.simulate("saas", n_accounts=400, seed=9).to_parquet(tmp_path / "data")
    assert main(["fit", "--data", str(data), "--covariates", "tier,log_seats",
                 "--output", str(tmp_path / "cox.json")]) == 0
    assert main(["score", "--model", str(tmp_path / "cox.json"), "--input", str(data),
                 "--output", str(tmp_path / "s.csv")]) == 0
    out = capsys.readouterr().out
    from tobmodel.export.jobs import read_renewal_features
    feats = read_renewal_features(str(data))
    churned, active = int((~feats["active"]).sum()), int(feats["active"].sum())
    assert churned > 0
    assert f"scored {active:,}, not scored (churned {churned:,}); rejected 0" in out
    assert len(pd.read_csv(tmp_path / "s.csv")) == active
    assert len(pd.read_csv(tmp_path / "s.rejects.csv")) == 0
    assert main(["fit", "--data", str(data), "--model", "lead-logistic",
                 "--output", str(tmp_path / "lead.json")]) == 0
    assert main(["score", "--model", str(tmp_path / "lead.json"), "--input", str(data),
                 "--output", str(tmp_path / "l.csv"), "--as-of", "2025-12-31"]) == 0
    out = capsys.readouterr().out
    leads = pd.read_parquet(data / "leads.parquet")
    closed = int((leads["status"] != "open").sum())
    assert f"not scored (closed {closed:,}); rejected 0" in out


def test_default_outputs_are_relative_to_the_working_directory(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    env = {k: v for k, v in os.environ.items() if k != "TOBMODEL_HOME"}
    env["PYTHONPATH"] = str(root)
    r = subprocess.run([sys.executable, "-c", "from tobmodel import paths; "
                        "print(paths.DEFAULT_DATABASE_URL); print(paths.SAMPLES_DIR)"],
                       cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    url, samples = r.stdout.split()
    assert url == f"sqlite:///{tmp_path.resolve() / 'data' / 'exports' / 'tobmodel.sqlite'}"
    assert Path(samples) == root / "data"  # the shipped samples stay where they are


def test_a_features_file_counts_churned_accounts_like_a_folder(tmp_path, capsys):
    """The same accounts from a folder of tables and from a precomputed features file:
    the same scores and the same summary; churned rows are not scored, never rejects."""
    data = tobmodel.simulate("saas", n_accounts=300, seed=12).to_parquet(tmp_path / "data")
    from tobmodel.export.jobs import read_renewal_features
    feats = read_renewal_features(str(data))
    feats.to_parquet(tmp_path / "features.parquet")
    feats.to_csv(tmp_path / "features.csv", index=False)
    assert main(["fit", "--data", str(data), "--covariates", "tier,log_seats",
                 "--output", str(tmp_path / "cox.json")]) == 0
    capsys.readouterr()
    churned = int((~feats["active"]).sum())
    assert churned > 0
    lines = {}
    for name, source in (("folder", data), ("parquet", tmp_path / "features.parquet"),
                         ("csv", tmp_path / "features.csv")):
        assert main(["score", "--model", str(tmp_path / "cox.json"), "--input", str(source),
                     "--output", str(tmp_path / f"{name}.csv")]) == 0
        lines[name] = capsys.readouterr().out.splitlines()[-1].split(" (written to")[0]
        assert len(pd.read_csv(tmp_path / f"{name}.rejects.csv")) == 0
    assert set(lines.values()) == {
        f"scored {len(feats) - churned:,}, not scored (churned {churned:,}); rejected 0"}
    assert (tmp_path / "folder.csv").read_bytes() == (tmp_path / "parquet.csv").read_bytes()
