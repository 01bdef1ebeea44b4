"""``python -m statewright`` runs the command line."""

import sys

from statewright.cli import main

sys.exit(main())
