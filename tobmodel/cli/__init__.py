"""The ``tobmodel`` command: simulate, fit, score, evaluate, report, demo.

A thin layer over the Python API (:func:`tobmodel.simulate`,
:func:`tobmodel.export.fit_model`, :func:`tobmodel.export.export_scores`,
:func:`tobmodel.export.evaluate_model`, :func:`tobmodel.demo.run_demo`).
Importing this module loads no heavy library (pandas, scikit-learn,
lifelines), so ``tobmodel --help`` answers at once; each command imports what
it needs.

Errors end the command with one line on stderr, ``tobmodel: error: ...``,
and exit status 1 (2 for a wrong command line, 3 for a stale model or drifted
data when ``tobmodel score`` was asked to fail on it, 130 for Ctrl-C); set
``TOBMODEL_DEBUG=1`` to see the traceback.

Examples
--------
>>> main(["--version"])  # doctest: +SKIP
tobmodel 0.1.0
"""
from __future__ import annotations

import os
import sys
import warnings

from .parser import build_parser

__all__ = ["main", "build_parser"]

# errors a user can fix (bad path, data, model file, database): shown without a type name
_USER_ERRORS = (ValueError, OSError, LookupError)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if isinstance(exc, _USER_ERRORS) else f"{type(exc).__name__}: {text}"


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"tobmodel: warning: {' '.join(str(message).split())}", file=sys.stderr)


def _iso_dates(args) -> None:
    """``--as-of`` as ISO text: ambiguous forms refused unless ``--date-format`` reads them."""
    if getattr(args, "as_of", None) is not None and hasattr(args, "date_format"):
        from ..export.guards import parse_as_of
        args.as_of = str(parse_as_of(args.as_of, args.date_format, "--as-of").date())


def main(argv=None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    from . import commands
    run = getattr(commands, f"run_{args.command}")
    debug = os.environ.get("TOBMODEL_DEBUG", "") not in ("", "0")
    try:
        with warnings.catch_warnings():
            if not debug:
                warnings.showwarning = _show_warning
            _iso_dates(args)
            status = run(args)
    except KeyboardInterrupt:
        print("tobmodel: interrupted; outputs left as they were", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the command line's one-line error contract
        if debug:
            raise
        print(f"tobmodel: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    return status or 0
