"""``python -m model``: the batch command line (see ``model.cli``)."""

import sys

from model.cli import main

sys.exit(main())
