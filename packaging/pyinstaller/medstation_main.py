"""Entry point of the frozen application: the same ``medstation`` command as the installed one."""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from medstation.cli import main

    sys.exit(main())
