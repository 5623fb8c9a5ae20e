"""`python -m tutorial_gen` is `tutorial-gen`."""

import sys

from .cli import main

sys.exit(main())
