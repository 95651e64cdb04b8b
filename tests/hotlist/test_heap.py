"""Freed heap pages are given back after a large apply (edge.hotlist.heap)."""

from __future__ import annotations

import ctypes.util
import platform

import pytest

from edge.hotlist import heap
from edge.unit.memory import rss_mb


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="malloc_trim is glibc's",
)
def test_freed_heap_pages_go_back_to_the_system():
    assert ctypes.util.find_library("c")
    # 40 MB in blocks below glibc's mmap threshold: they come from the heap, and stay
    # resident once freed, until trimmed (every other one kept, so the heap's top cannot
    # simply shrink)
    blocks = [bytearray(64 * 1024) for _ in range(640)]
    for block in blocks:
        block[::4096] = b"x" * len(block[::4096])  # touch every page
    kept = blocks[::2]
    del blocks
    before = rss_mb()
    assert heap.give_back_freed_memory()
    after = rss_mb()
    assert before is not None and after is not None
    assert before - after > 10, (before, after)
    assert len(kept) == 320
