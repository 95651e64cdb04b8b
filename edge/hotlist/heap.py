"""Give the C heap's freed pages back to the system after a large hotlist apply.

An apply's transient memory (the bundle's bytes, its decoded payload, the parsed blocks) is
freed when it ends, but glibc keeps much of it in its heaps: after freeing a large block it
raises its mmap threshold to that block's size, so later arrays of a few MB come from the heap
and their pages stay resident once freed. After a 1,000,000-entry snapshot that was ~11 MB of
the ~36 MB the apply left resident (the index itself is 21 MB); `malloc_trim(0)` returns every
whole free page of every arena. It is called once per large apply, not periodically: on the
unit's frame loop a periodic trim gave nothing back (edge.unit.memory), while here the freed
blocks are large and will not be reused until the next large bundle.

Elsewhere than glibc (musl, macOS) there is no malloc_trim: then nothing is done.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

LARGE_BUNDLE_BYTES = 1024 * 1024  # smaller applies free too little to be worth a trim


@functools.cache
def _malloc_trim():  # the C function, or None where the C library has none
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None


def give_back_freed_memory() -> bool:
    """Return the heaps' free pages to the system; False where that is not possible."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
