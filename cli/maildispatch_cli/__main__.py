"""`maildispatch COMMAND ...` (the console script) and `python -m maildispatch_cli COMMAND ...`."""

from __future__ import annotations

import sys

from maildispatch_cli.app import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
