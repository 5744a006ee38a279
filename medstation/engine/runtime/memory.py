"""Freed memory kept for reuse in a batch command's process.

glibc's ``malloc`` hands every freed block above its mmap threshold (raised as it goes, at most to 32 MiB) back to
the system, and the next allocation of that size faults its pages in again. A batch job makes tensors of the same
sizes for thousands of batches: ``medstation forecast`` over set-b spent 20.6 s of 62 s in the kernel doing that
(benchmarks/README.md). A command that ends with its job asks malloc to keep large blocks for reuse
(``M_MMAP_THRESHOLD`` 1 GiB, ``M_TRIM_THRESHOLD`` 2 GiB less a byte): 0.9 s in the kernel, 51 s in all. The process
then holds its peak memory until it ends, which the workstation, running jobs for hours, does not want, so only
commands call it.
"""

from __future__ import annotations

import ctypes

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 1 << 30
TRIM_THRESHOLD = (1 << 31) - 1


def keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed blocks for reuse; False where the C library is not glibc (nothing done)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, TypeError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
