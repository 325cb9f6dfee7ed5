"""Strip image outputs and execution counts from notebooks, keep text outputs.

Usage::

    python notebooks/strip_outputs.py notebooks/01_platform.ipynb [more.ipynb ...]

Why: plots are re-made on every run and make diffs huge; nbval checks only the
text outputs of cells marked ``# NBVAL_CHECK_OUTPUT``. What is removed:

* ``display_data`` / ``execute_result`` outputs whose data holds an
  ``image/*`` type (the whole output; a figure's ``text/plain`` repr such as
  ``<Figure size 800x450 with 1 Axes>`` is noise without its image);
* run-dependent execution counts: a cell left without outputs gets none; a
  cell that keeps text outputs is numbered by its position among the code
  cells (1, 2, ...), which is what a clean top-to-bottom run gives. nbval
  refuses a cell that has outputs but no execution count ("Unrun reference
  cell has outputs"), so those counts cannot be dropped, only made stable;
* the per-cell ``execution`` timing metadata some front ends add;
* random cell ids (jupytext draws new ones on every conversion): each cell
  gets ``cell-<position>``, so re-running a notebook changes only its outputs.

Text outputs (``stream``, ``execute_result`` text, ``error``) stay. The script
is idempotent: running it twice gives the same bytes, and a file is only
rewritten when something changed.
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat


def _is_image(output) -> bool:
    data = output.get("data", {})
    return output.get("output_type") in ("display_data", "execute_result") and any(
        k.startswith("image/") for k in data)


def strip_notebook(nb) -> bool:
    """Strip ``nb`` in place; return True if anything changed."""
    changed = False
    for position, cell in enumerate(nb.cells, start=1):
        if "id" in cell and cell["id"] != f"cell-{position}":
            cell["id"] = f"cell-{position}"
            changed = True
    code_cells = [c for c in nb.cells if c.get("cell_type") == "code"]
    for position, cell in enumerate(code_cells, start=1):
        if "execution" in cell.get("metadata", {}):
            del cell["metadata"]["execution"]
            changed = True
        kept = [out for out in cell.get("outputs", []) if not _is_image(out)]
        changed |= len(kept) != len(cell.get("outputs", []))
        cell["outputs"] = kept
        count = position if kept else None
        if cell.get("execution_count") != count:
            cell["execution_count"] = count
            changed = True
        for out in kept:
            if out.get("output_type") == "execute_result" and out.get("execution_count") != count:
                out["execution_count"] = count
                changed = True
    return changed


def strip_file(path) -> bool:
    """Strip one ``.ipynb`` file in place; return True if it was rewritten."""
    path = Path(path)
    if path.suffix != ".ipynb":
        raise SystemExit(f"{path}: not a .ipynb file")
    nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    if not strip_notebook(nb):
        return False
    tmp = path.with_name(f".{path.name}.tmp")
    nbformat.write(nb, tmp)
    tmp.replace(path)
    return True


def main(argv=None) -> int:
    paths = sys.argv[1:] if argv is None else argv
    if not paths:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print("usage: strip_outputs.py NOTEBOOK.ipynb [...]", file=sys.stderr)
        return 2
    for p in paths:
        print(f"{p}: {'stripped' if strip_file(p) else 'unchanged'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
