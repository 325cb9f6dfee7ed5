"""The README's "Use your own data" commands run as written (export -> validate -> fit ->
score -> evaluate on a simulated Salesforce + Zendesk + Segment export).

The bash block runs with ``bash -e`` in a temporary folder, ``tobmodel`` from this
environment on the PATH; then the call list it wrote is checked.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_use_your_own_data_commands_run_as_written(tmp_path):
    text = (ROOT / "README.md").read_text()
    section = text.split("## Use your own data\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1
    bindir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", ""),
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    r = subprocess.run(["bash", "-e", "-c", blocks[0]], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    # two validate runs: the first writes the mapping, the second confirms it
    assert r.stdout.count("usable: yes") == 2
    calls = pd.read_csv(tmp_path / "churn_scores.call_list.csv", dtype={"crm_account_id": str})
    assert len(calls) > 50 and calls["p_churn_horizon"].is_monotonic_decreasing
    assert calls["crm_account_id"].str.startswith("0015g").all()
    assert {"account_name", "owner", "reasons"} <= set(calls.columns)
    assert "beats_baseline" in r.stdout
