"""Every ```bash block of README.md runs as written, in a temporary folder.

``tobmodel`` comes from the test's own environment (its ``bin`` folder first on
PATH, this source tree first on PYTHONPATH). Lines that start with ``make``
are not run here: ``make test`` is the suite itself and ``make demo`` is
covered by tests/test_cli_demo.py (the same ``tobmodel demo``); CI runs
``make test`` through ``.ci/run``. Each block runs under ``bash -e`` so the
first failing line fails the test, with its output.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def bash_blocks() -> list[list[str]]:
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    out = []
    for block in blocks:
        lines = [ln for ln in block.splitlines() if ln.strip()]
        lines = [ln for ln in lines if not ln.lstrip().startswith("make ")]
        if lines:
            out.append(lines)
    return out


BLOCKS = bash_blocks()


def test_the_readme_has_the_command_blocks_we_expect():
    # the make block is skipped as a whole; the weekly job and the notebook rebuild remain
    assert len(BLOCKS) == 2, BLOCKS
    assert any("crm.db#leads" in ln for ln in BLOCKS[0])


def run_block(lines, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = f"{ROOT}{os.pathsep}{env.get('PYTHONPATH', '')}"
    env["MPLBACKEND"] = "Agg"
    env.pop("TOBMODEL_DEBUG", None)
    script = "set -euo pipefail\n" + "\n".join(lines) + "\n"
    return subprocess.run(["bash", "-c", script], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=1800)


@pytest.mark.slow
def test_the_weekly_job_block_runs_as_written(tmp_path):
    r = run_block(BLOCKS[0], tmp_path)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    for path in ("models/cox.json", "models/lead.json", "churn_scores.csv",
                 "data/exports/tobmodel.sqlite", "crm.db", "lead_scores.parquet"):
        assert (tmp_path / path).stat().st_size > 0, path
    import pandas as pd
    leads = pd.read_parquet(tmp_path / "lead_scores.parquet")
    churn = pd.read_csv(tmp_path / "churn_scores.csv")
    assert len(leads) > 0 and (leads["as_of"].astype(str).str[:10] == "2025-12-31").all()
    assert len(churn) > 0 and churn["p_churn_horizon"].between(0, 1).all()


@pytest.mark.slow
def test_the_notebook_rebuild_block_runs_as_written(tmp_path):
    """In a copy of the notebooks folder, with ``.venv`` pointing at this environment."""
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))
    r = run_block(BLOCKS[1], tmp_path)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    nb = (tmp_path / "notebooks" / "02_business_saas.ipynb").read_text(encoding="utf-8")
    assert '"outputs": [' in nb and "image/png" not in nb  # executed, images stripped
