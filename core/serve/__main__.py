"""`python -m core.serve`: see core/serve/cli.py."""

import sys

from core.serve.cli import main

sys.exit(main())
