"""Every ```bash block of README.md runs as written, in a temporary folder.

``tobmodel`` comes from the test's own environment (its ``bin`` folder first on
PATH, this source tree first on PYTHONPATH). Covered elsewhere, so not run here:

* lines that start with ``make``: ``make test`` is the suite itself and
  ``make demo`` is the same ``tobmodel demo`` as tests/test_cli_demo.py; CI
  runs ``make test`` through ``.ci/run``;
* the block under "Watching the job between weeks", run (and its report
  checked) by tests/test_readme_monitoring.py.

Every other block runs under ``bash -euo pipefail`` so the first failing line
fails the test, with its output; a new block is run by the parametrised test
without any change here.
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


RUN_ELSEWHERE = {"Watching the job between weeks": "tests/test_readme_monitoring.py"}


def bash_blocks() -> dict[str, list[str]]:
    """Section title -> the command lines of its bash block (``make`` lines left out)."""
    out = {}
    for section in re.split(r"^## ", README.read_text(encoding="utf-8"), flags=re.M)[1:]:
        title = section.split("\n", 1)[0].strip()
        for i, block in enumerate(re.findall(r"```bash\n(.*?)```", section, flags=re.S)):
            lines = [ln for ln in block.splitlines() if ln.strip()]
            lines = [ln for ln in lines if not ln.lstrip().startswith("make ")]
            if lines and title not in RUN_ELSEWHERE:
                out[title if i == 0 else f"{title} ({i + 1})"] = lines
    return out


BLOCKS = bash_blocks()


def test_the_readme_blocks_are_all_found():
    assert "The weekly job on the command line" in BLOCKS and "Notebooks" in BLOCKS
    assert any("crm.db#leads" in ln for ln in BLOCKS["The weekly job on the command line"])
    for title, test in RUN_ELSEWHERE.items():
        assert f"## {title}" in README.read_text(encoding="utf-8")
        assert (ROOT / test).exists()


def run_block(lines, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = f"{ROOT}{os.pathsep}{env.get('PYTHONPATH', '')}"
    env["MPLBACKEND"] = "Agg"
    env.pop("TOBMODEL_DEBUG", None)
    script = "set -euo pipefail\n" + "\n".join(lines) + "\n"
    return subprocess.run(["bash", "-c", script], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=1800)


def prepare(title: str, folder: Path) -> None:
    """What a block assumes of the repository it runs in (a temporary copy of it)."""
    if title == "Notebooks":  # rebuilds a notebook in place, with .venv/bin tools
        shutil.copytree(ROOT / "notebooks", folder / "notebooks")
        (folder / ".venv").symlink_to(Path(sys.prefix))


def check_weekly_job(folder: Path) -> None:
    for path in ("models/cox.json", "models/lead.json", "churn_scores.csv",
                 "data/exports/tobmodel.sqlite", "crm.db", "lead_scores.parquet"):
        assert (folder / path).stat().st_size > 0, path
    import pandas as pd
    leads = pd.read_parquet(folder / "lead_scores.parquet")
    churn = pd.read_csv(folder / "churn_scores.csv")
    # the lead model's own as-of is the scoring date when --as-of is not given
    assert len(leads) > 0 and (leads["as_of"].astype(str).str[:10] == "2025-12-31").all()
    assert len(churn) > 0 and churn["p_churn_horizon"].between(0, 1).all()


def check_notebook_rebuilt(folder: Path) -> None:
    nb = (folder / "notebooks" / "02_business_saas.ipynb").read_text(encoding="utf-8")
    assert '"outputs": [' in nb and "image/png" not in nb  # executed, images stripped


CHECKS = {"The weekly job on the command line": check_weekly_job,
          "Notebooks": check_notebook_rebuilt}


@pytest.mark.slow
@pytest.mark.parametrize("title", sorted(BLOCKS))
def test_every_block_runs_as_written(title, tmp_path):
    prepare(title, tmp_path)
    r = run_block(BLOCKS[title], tmp_path)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    CHECKS.get(title, lambda folder: None)(tmp_path)
