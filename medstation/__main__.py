"""``python -m medstation``."""

import sys

from medstation.cli import main

sys.exit(main())
