"""A throwaway Mosquitto on a free loopback port, for `make demo` and `anpr-edge bench` when
one is installed (tests have their own fixture). Anonymous, no persistence, queues unlimited
(the default 1,000 silently drops QoS 1 messages to a slow subscriber); stopped by its PID."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PATHS = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")


def find_mosquitto() -> str | None:
    return shutil.which("mosquitto") or next((p for p in PATHS if Path(p).is_file()), None)


class LocalBroker:
    def __init__(self, binary: str, port: int | None = None):
        self.binary, self.host = binary, "127.0.0.1"
        self.port = port or _free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="anpr-broker-"))
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> LocalBroker:
        config = self.folder / "mosquitto.conf"
        config.write_text(
            f"listener {self.port} {self.host}\nallow_anonymous true\npersistence false\n"
            "max_queued_messages 0\nmax_queued_bytes 0\n"
        )
        self.process = subprocess.Popen(
            [self.binary, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        self.__exit__()
        raise RuntimeError(f"mosquitto did not start on {self.host}:{self.port}")

    def __exit__(self, *exc_info: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
            self.process = None
        shutil.rmtree(self.folder, ignore_errors=True)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
