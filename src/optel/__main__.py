"""`python -m optel ...`: the optel command line (the detached uploader runs as `python -m optel upload`)."""

from __future__ import annotations

import sys

from optel.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
