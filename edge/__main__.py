"""`python -m edge` is the same as the `anpr-edge` command."""

import sys

from edge.cli import main

sys.exit(main())
