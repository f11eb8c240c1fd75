"""``python -m realize ...``: the ``realize`` command (:func:`realize.cli.main`)."""

import sys

from realize.cli import main

if __name__ == "__main__":
    sys.exit(main())
