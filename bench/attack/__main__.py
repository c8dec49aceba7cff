"""``python -m bench.attack``: the command line of the package (see its docstring)."""

import sys

from .run import main

if __name__ == "__main__":
    sys.exit(main())
