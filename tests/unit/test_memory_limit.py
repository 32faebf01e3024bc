"""The hostile model zips of test_model_io_attacks.py, run again inside the memory a
hosted copy gets (Streamlit Community Cloud: 2.7 GB). Inside a cgroup
(`systemd-run --scope -p MemoryMax=2700M`) where the platform has one, else under
an address-space limit on the test process (resource.RLIMIT_AS): an attack that
allocated what its config declares would die here instead of passing."""

import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIMIT_MB = 2700


def _systemd_scope_works() -> bool:
    if not shutil.which("systemd-run"):
        return False
    probe = subprocess.run(["systemd-run", "--scope", "--quiet", "-p", f"MemoryMax={LIMIT_MB}M", "true"],
                           capture_output=True, timeout=30)
    return probe.returncode == 0


def _address_space_limit():
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT_MB * 2**20, LIMIT_MB * 2**20))


def run_limited(*args: str) -> subprocess.CompletedProcess:
    """`python args...` in the repository, inside the memory limit."""
    command = [sys.executable, *args]
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               OMP_NUM_THREADS="2")
    if _systemd_scope_works():
        return subprocess.run(["systemd-run", "--scope", "--quiet", "-p", f"MemoryMax={LIMIT_MB}M",
                               "-p", "MemorySwapMax=0", *command],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
                          preexec_fn=_address_space_limit)


def test_the_limit_is_in_force():
    """The check that makes the next test mean something: 3 GB can't be had inside it."""
    result = run_limited("-c", "b = bytearray(3 * 2**30); b[::4096] = b'x' * len(b[::4096]); print('allocated')")
    assert result.returncode != 0 and "allocated" not in result.stdout


def test_every_zip_attack_is_refused_within_a_hosted_copys_memory():
    result = run_limited("-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/unit/test_model_io_attacks.py")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "failed" not in result.stdout
