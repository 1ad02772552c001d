"""``python -m ltijepa`` runs the :mod:`ltijepa.cli` command line."""

import sys

from ltijepa.cli import main

sys.exit(main())
