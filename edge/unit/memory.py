"""The process's resident memory as the kernel counts it: now (VmRSS) and at its peak (VmHWM).

The peak is read from /proc/self/status, not from getrusage(): ru_maxrss also counts the memory
of the process this one was started from, as it was when it started us (the kernel carries the
old address space's high-water mark across exec). `anpr-edge run` started by a bench or soak
tool that itself held 430 MB reported a 434 MB "peak" of its own that it never reached; VmHWM
belongs to this address space only.

`release_large_buffers()` makes glibc give every buffer of 1 MiB or more back to the kernel when
it is freed. By default glibc raises its mmap threshold to the size of any large block freed
(up to 32 MiB): after the first 4.75 MB frame or 12.7 MB float field is freed, every frame,
grey copy and temporary comes from the heaps of the threads that allocate them (capture,
pipeline), is kept there when freed, and fragments them. Measured on the soak's road (4 min):
200 MB resident with the default, 158 MB with the threshold fixed at 1 MiB, which also stops
the heaps creeping upwards. The price, mapping and zeroing a frame's pages afresh, is about a
millisecond a frame.

`reset_peak()` starts the peak again from the memory resident now (`echo 5 >
/proc/self/clear_refs`), so one phase of a long process (the hit-latency run of `anpr-edge
bench`) can be measured on its own.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from pathlib import Path

log = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3  # mallopt() parameter, glibc's malloc.h
LARGE_BUFFER_BYTES = 1024 * 1024
STATUS = Path("/proc/self/status")
CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_mb(field: str, status: Path = STATUS) -> float | None:
    try:
        for line in status.read_text().splitlines():
            if line.startswith(field + ":"):
                return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError):
        pass
    return None  # not Linux, or the process is gone


def rss_mb(status: Path = STATUS) -> float | None:
    """Resident memory now, in MiB."""
    return _status_mb("VmRSS", status)


def peak_rss_mb(status: Path = STATUS) -> float | None:
    """The most resident memory since start (or since reset_peak()), in MiB."""
    return _status_mb("VmHWM", status)


def reset_peak() -> bool:
    """Start the peak again from now; False where the kernel does not allow it."""
    try:
        CLEAR_REFS.write_text("5")
        return True
    except OSError:
        return False


def release_large_buffers(threshold: int = LARGE_BUFFER_BYTES) -> bool:
    """Fix glibc's mmap threshold (see the module's doc); False where libc is not glibc."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False  # musl, macOS: their allocators return large blocks anyway
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    done = mallopt(M_MMAP_THRESHOLD, threshold) == 1
    if not done:
        log.debug("mallopt(M_MMAP_THRESHOLD, %d) refused", threshold)
    return done
