"""``python -m training``: see ``training.train``."""

import sys

from training.train import main

sys.exit(main())
