"""Freed memory goes back to the OS (core.memory): without it the server's RSS
see-saws by a model or two per fine-tune (benchmarks/soak.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# 3,000 blocks of 64 KiB (under glibc's mmap threshold, so they live in the heap)
# are written, freed, and one block allocated after them pins the heap's top:
# free() alone can't shrink the heap, so RSS stays ~190 MB up until the trim.
PROGRAM = r"""
import ctypes, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from core.memory import give_back_freed_memory

def rss_mb():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024

libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
blocks = [libc.malloc(64 * 1024) for _ in range(3000)]
for block in blocks:
    ctypes.memset(block, 1, 64 * 1024)
pin = libc.malloc(64 * 1024)
for block in blocks:
    libc.free(block)
freed = rss_mb()
released = give_back_freed_memory()
print(freed, rss_mb(), released)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="malloc_trim is glibc's (Linux)")
def test_freed_heap_pages_go_back_to_the_os():
    out = subprocess.run([sys.executable, "-c", PROGRAM, str(ROOT)], capture_output=True, text=True,
                         check=True, timeout=60).stdout.split()
    after_free, after_trim, released = float(out[0]), float(out[1]), out[2]
    assert after_free - after_trim > 150, f"RSS {after_free:.0f} MB after free, {after_trim:.0f} MB after the trim"
    assert released == "True"


def test_asking_is_harmless_where_it_cannot_be_done(monkeypatch):
    from core import memory

    monkeypatch.setattr(memory, "_libc", False)
    assert memory.give_back_freed_memory() is False
