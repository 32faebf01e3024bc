"""Giving freed memory back to the operating system.

When a session's previous model (~90 MB of tensors) is dropped, Python and torch
free it, but glibc's allocator keeps most of those pages for reuse: the server's
resident memory then see-saws by one or two models' worth from run to run
(measured: 780 → 1,017 MB over 30 fine-tunes in one server, lows ~890 MB).
`malloc_trim(0)` hands the free pages back at once; it takes a few milliseconds.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import sys

_libc = None


def _malloc_trim():
    """glibc's malloc_trim, or None where there is none (macOS, musl, Windows)."""
    global _libc
    if _libc is None:
        if not sys.platform.startswith("linux"):
            _libc = False
        else:
            try:
                _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
                _libc.malloc_trim.argtypes = [ctypes.c_size_t]
            except (OSError, AttributeError):
                _libc = False
    return _libc.malloc_trim if _libc else None


def give_back_freed_memory() -> bool:
    """Collect garbage cycles, then return free heap pages to the OS.
    True if the allocator released anything (False also where it can't be asked)."""
    gc.collect()
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False
