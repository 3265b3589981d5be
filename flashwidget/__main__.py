"""``python -m flashwidget``: the command line, also as ``torchrun -m flashwidget batch ...``."""

import sys

from flashwidget.cli import main

sys.exit(main())
