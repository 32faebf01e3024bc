"""`python -m core.finetune`: see core/finetune/cli.py."""

import sys

from core.finetune.cli import main

sys.exit(main())
