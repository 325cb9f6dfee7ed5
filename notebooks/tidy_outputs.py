"""Make executed notebooks stable to commit: keep their figures, drop run-dependent noise.

Usage::

    python notebooks/tidy_outputs.py notebooks/02_business_saas.ipynb [more.ipynb ...]

A reader opening a committed notebook sees every table and figure as it was
last run (figures are PNG at the teaching style's 80 dpi, see
:mod:`tobmodel.style`, so a notebook stays a few hundred kB). nbval checks the
text outputs of cells tagged ``nbval-check-output`` and ignores images. What
is changed:

* execution counts: every code cell is numbered by its position among the
  code cells (1, 2, ...), which is what a clean top-to-bottom run gives, so
  re-running a notebook changes only outputs that really changed;
* the per-cell ``execution`` timing metadata some front ends add is removed;
* random cell ids (jupytext draws new ones on every conversion) become
  ``cell-<position>``;
* a warning's kernel file (``/tmp/ipykernel_12650/672124300.py:10:``, new on every
  run) becomes ``cell line 10:``;
* a figure's ``text/plain`` repr (``<Figure size 600x320 with 1 Axes>``) is
  dropped where an image is shown;
* PNG figures are re-encoded with a 128-colour palette (Pillow, which
  matplotlib already needs): about a third of the size, no visible change for
  line and bar charts. A palette image is left as it is, so tidying is idempotent.

The script is idempotent: running it twice gives the same bytes, and a file is
only rewritten when something changed.
"""
from __future__ import annotations

import base64
import io
import re
import sys
from pathlib import Path

import nbformat
from PIL import Image

PALETTE_COLOURS = 128
KERNEL_FILE = re.compile(r"\S*ipykernel_\d+[/\\]\d+\.py:(\d+): ")


def _small_png(b64: str) -> str:
    """The PNG with a palette of at most 128 colours (unchanged if it has one already)."""
    raw = base64.b64decode(b64)
    img = Image.open(io.BytesIO(raw))
    if img.mode == "P":
        return b64
    out = io.BytesIO()
    img.convert("RGB").quantize(colors=PALETTE_COLOURS, method=Image.Quantize.MEDIANCUT).save(
        out, "PNG", optimize=True)
    return base64.b64encode(out.getvalue()).decode("ascii") + "\n"


def _tidy_output(out, count) -> bool:
    changed = False
    data = out.get("data", {})
    if any(k.startswith("image/") for k in data) and "text/plain" in data:
        del data["text/plain"]
        changed = True
    if out.get("output_type") == "stream" and KERNEL_FILE.search(out.get("text", "")):
        out["text"] = KERNEL_FILE.sub(r"cell line \1: ", out["text"])
        changed = True
    if "image/png" in data:
        small = _small_png(data["image/png"])
        if small != data["image/png"]:
            data["image/png"] = small
            changed = True
    if out.get("output_type") == "execute_result" and out.get("execution_count") != count:
        out["execution_count"] = count
        changed = True
    return changed


def tidy_notebook(nb) -> bool:
    """Tidy ``nb`` in place; return True if anything changed."""
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
        if cell.get("execution_count") != position:
            cell["execution_count"] = position
            changed = True
        for out in cell.get("outputs", []):
            changed |= _tidy_output(out, position)
    return changed


def tidy_file(path) -> bool:
    """Tidy one ``.ipynb`` file in place; return True if it was rewritten."""
    path = Path(path)
    if path.suffix != ".ipynb":
        raise SystemExit(f"{path}: not a .ipynb file")
    nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    if not tidy_notebook(nb):
        return False
    tmp = path.with_name(f".{path.name}.tmp")
    nbformat.write(nb, tmp)
    tmp.replace(path)
    return True


def main(argv=None) -> int:
    paths = sys.argv[1:] if argv is None else argv
    if not paths:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print("usage: tidy_outputs.py NOTEBOOK.ipynb [...]", file=sys.stderr)
        return 2
    for p in paths:
        print(f"{p}: {'tidied' if tidy_file(p) else 'unchanged'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
