"""``python -m tobmodel`` runs the command line (see :mod:`tobmodel.cli`)."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
