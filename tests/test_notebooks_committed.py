"""What a reader sees when opening a committed notebook in JupyterLab.

The committed ``.ipynb`` files are the executed copies of ``notebooks/*.py``:
they show their figures, number their cells 1..n, hide test scaffolding
(checks cells are folded, no NBVAL comments or ``assert`` in visible code),
fold worked answers, and never point outside the repository.
"""
from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _cells(path):
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _src(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _hidden(cell):
    return cell.get("metadata", {}).get("jupyter", {}).get("source_hidden", False)


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 13


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebook_is_fully_run_with_its_figures(path):
    code = [c for c in _cells(path) if c["cell_type"] == "code"]
    assert [c["execution_count"] for c in code] == list(range(1, len(code) + 1)), \
        f"{path.name}: not executed top to bottom (run make notebooks-build)"
    plots = [c for c in code if "plt." in _src(c) or "plot" in _src(c)]
    images = [o for c in code for o in c.get("outputs", [])
              if any(k.startswith("image/") for k in o.get("data", {}))]
    if plots:
        assert images, f"{path.name}: figures were stripped"
    size = path.stat().st_size
    assert size < 2_500_000, f"{path.name}: {size:,} bytes; figures should be low-resolution"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_test_scaffolding_in_view(path):
    for i, cell in enumerate(_cells(path)):
        src = _src(cell)
        if cell["cell_type"] != "code":
            continue
        assert "NBVAL" not in src, f"{path.name} cell {i}: NBVAL comment (use the cell tag)"
        if _hidden(cell):
            continue
        tree = ast.parse(src.replace("%matplotlib", "#"))
        asserts = [n for n in tree.body if isinstance(n, ast.Assert)]
        assert not asserts, f"{path.name} cell {i}: visible assert (move it to a checks cell)"
        assigned = [n for n in tree.body if isinstance(n, ast.Assign)
                    and [getattr(t, "id", None) for t in n.targets] == ["_"]]
        assert not assigned, f"{path.name} cell {i}: '_ = ...' in view (end with plt.show())"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_worked_answers_are_folded(path):
    cells = _cells(path)
    for i, cell in enumerate(cells):
        if cell["cell_type"] == "markdown" and "Worked answer" in _src(cell):
            nxt = cells[i + 1]
            assert nxt["cell_type"] == "code" and _hidden(nxt), \
                f"{path.name} cell {i + 1}: the worked answer's code is not folded"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_nothing_points_outside_the_repository(path):
    text = path.read_text(encoding="utf-8")
    for needle in ("../shared", "DOMAIN.md", "seeds/", "source article"):
        assert needle not in text, f"{path.name}: mentions {needle!r}"
