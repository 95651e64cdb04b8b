"""The process's resident memory as the kernel counts it: now (VmRSS) and at its peak (VmHWM).

The peak is read from /proc/self/status, not from getrusage(): ru_maxrss also counts the memory
of the process this one was started from, as it was when it started us (the kernel carries the
old address space's high-water mark across exec). `anpr-edge run` started by a bench or soak
tool that itself held 430 MB reported a 434 MB "peak" of its own that it never reached; VmHWM
belongs to this address space only.

Not done, measured: glibc keeps freed frames in its heaps (it raises its mmap threshold to the
largest block freed), ~30 MB of the unit's ~200 MB resident on the soak's road. Fixing the
threshold at 1 MiB (mallopt, or MALLOC_MMAP_THRESHOLD_) gave those back (173 against 202 MB)
but cost 50 % more CPU per frame (22.7 against 15.0 ms: every frame's pages faulted in afresh);
malloc_trim() every 10 s gave nothing back (200 MB). The heaps level off within minutes.

`reset_peak()` starts the peak again from the memory resident now (`echo 5 >
/proc/self/clear_refs`), so one phase of a long process (the hit-latency run of `anpr-edge
bench`) can be measured on its own.
"""

from __future__ import annotations

from pathlib import Path

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
