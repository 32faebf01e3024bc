"""A quiet console: loading a classifier prints no load report or progress bar; errors still show."""

import subprocess
import sys

LOAD = """
import logging, sys
sys.path.insert(0, {root!r})
if {quiet}:
    from core.quiet import quiet_console
    quiet_console()
from core import models
models.load_classifier(models.BUNDLED, ["price", "credit"])
from transformers.utils import logging as hf_logging
hf_logging.get_logger("transformers.modeling_utils").error("a real error still reaches the terminal")
"""


def _stderr(root, quiet: bool) -> str:
    env = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", LOAD.format(root=str(root), quiet=quiet)], capture_output=True,
                         text=True, timeout=180, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stderr


def test_loading_a_classifier_is_quiet_but_errors_still_show(root):
    loud = _stderr(root, quiet=False)
    assert "LOAD REPORT" in loud and "Loading weights" in loud      # what a speaker would otherwise see
    quiet = _stderr(root, quiet=True)
    assert "LOAD REPORT" not in quiet and "Loading weights" not in quiet and "MISSING" not in quiet
    assert "a real error still reaches the terminal" in quiet


def test_quiet_console_keeps_what_the_user_set():
    from core.quiet import quiet_console

    environ = {"TRANSFORMERS_VERBOSITY": "info"}
    quiet_console(environ)
    assert environ["TRANSFORMERS_VERBOSITY"] == "info" and environ["HF_HUB_DISABLE_PROGRESS_BARS"] == "1"
