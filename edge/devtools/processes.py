"""Stopping the servers that development tools and tests start (Mosquitto, PostgreSQL)."""

from __future__ import annotations

import signal
import subprocess


def stop_server(process: subprocess.Popen, timeout_s: float, sig: int = signal.SIGTERM) -> None:
    """Ask with `sig` (the server's own orderly shutdown), wait up to `timeout_s`, then SIGKILL
    and wait again: the caller never leaves a server behind or blocks for ever."""
    process.send_signal(sig)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout_s)
