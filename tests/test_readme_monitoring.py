"""The README's "Watching the job between weeks" commands run as written.

The block is run line by line with ``bash -e`` in a temporary folder, with
``tobmodel`` from this environment on the PATH; then the report it wrote is
checked (self-contained, the expected sections, movers found).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _section_block(title: str) -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, f"expected one bash block under '{title}'"
    return blocks[0]


@pytest.mark.slow
def test_watching_the_job_commands_run_as_written(tmp_path):
    script = _section_block("Watching the job between weeks")
    bindir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", ""),
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    r = subprocess.run(["bash", "-e", "-c", script], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    html = (tmp_path / "report.html").read_text()
    assert "http://" not in html and not re.search(r"""src=["'](?!data:)""", html)
    for s in ("Summary", "Score distribution", "Drift", "Top movers", "Risk by segment"):
        assert f">{s}</h2>" in html
    assert "2026-01-14" in r.stdout and "movers:" in r.stdout
    # the folder of tables gives this week's features and, at the previous run's as_of,
    # last week's: every feature is compared with both
    import pandas as pd
    import sqlalchemy as sa
    eng = sa.create_engine(f"sqlite:///{tmp_path / 'data/exports/weekly.sqlite'}")
    try:
        drift = pd.read_sql("select * from churn_drift", eng)
    finally:
        eng.dispose()
    by = drift.groupby("against")["feature"].apply(set)
    assert {"tenure_months", "tier"} <= by["training"] and {"tenure_months", "tier"} <= \
        by["last week"]
    assert (drift["status"] == "stable").all()           # one business, three quiet weeks
