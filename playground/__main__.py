"""`python -m playground app|train|presets`: the same commands as the installed `gan-playground`
console script (both call playground.cli.main)."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
