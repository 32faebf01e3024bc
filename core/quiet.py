"""A quiet console: no transformers load reports or download progress bars in the terminal.

A speaker's terminal may be on the projector. Loading a classifier prints a
"LOAD REPORT" table (the new layer's weights are "MISSING", as they should be) and
a "Loading weights" progress bar; a download prints bars too. None of it is news on
a normal run. Real errors still reach the log: only transformers' info and warnings
and the progress bars are turned off.

Environment variables, because transformers and huggingface_hub read them when they
are first imported (lazily, long after app start); set only where the user has not
set them. If transformers is already imported, its logger is told directly too.
"""

from __future__ import annotations

import os
import sys

QUIET_ENV = {
    "TRANSFORMERS_VERBOSITY": "error",       # transformers' default log level: no load reports, no advice
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",     # huggingface_hub's bars; transformers' "Loading weights" reads it too
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
}


def quiet_console(environ=os.environ) -> None:
    """Once, at start (app.py, the CLIs): transformers says only what went wrong."""
    for name, value in QUIET_ENV.items():
        environ.setdefault(name, value)
    if "transformers" in sys.modules:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
