"""Train a stage from the command line, in one process or several (helpers.training.launch).

    python -m helpers.launch STAGE [--config JSON] [--data-dir D] [--checkpoint-root R] [--quiet]
"""
import sys

from helpers.training.launch import main

if __name__ == "__main__":
    sys.exit(main())
