"""A batch command asks glibc's malloc to keep freed memory for reuse."""

import platform

import pytest

from medstation.engine.runtime import keep_freed_memory


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_glibc_keeps_freed_blocks_below_a_gibibyte():
    assert keep_freed_memory() is True
