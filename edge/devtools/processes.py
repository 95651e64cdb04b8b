"""Starting and stopping the servers that development tools and tests run (Mosquitto,
PostgreSQL): where the broker binary is, a free loopback port, waiting until a server listens,
and an orderly stop that never leaves one behind."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

MOSQUITTO_PATHS = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")


def find_mosquitto() -> str | None:
    """The mosquitto binary on $PATH, else where Debian puts it (sbin is not on every $PATH)."""
    found = shutil.which("mosquitto")
    return found or next((p for p in MOSQUITTO_PATHS if Path(p).is_file()), None)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_listening(process: subprocess.Popen, host: str, port: int, timeout_s: float) -> bool:
    """True once `host:port` accepts a connection; False when the process exits first or
    `timeout_s` passes (the caller says why, and stops it)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def stop_server(process: subprocess.Popen, timeout_s: float, sig: int = signal.SIGTERM) -> None:
    """Ask with `sig` (the server's own orderly shutdown), wait up to `timeout_s`, then SIGKILL
    and wait again: the caller never leaves a server behind or blocks for ever."""
    process.send_signal(sig)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout_s)
