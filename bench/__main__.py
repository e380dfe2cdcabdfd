"""``python -m bench``: every benchmark part (see bench/README.md)."""

import sys

from bench.parts import PARTS
from bench.suite import main

sys.exit(main(PARTS))
