"""A throwaway Mosquitto on a free loopback port, for `make demo` and `anpr-edge bench` when
one is installed (tests have their own fixture). Anonymous, no persistence, queues unlimited
(the default 1,000 silently drops QoS 1 messages to a slow subscriber); stopped by its PID."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from edge.devtools.processes import free_port, stop_server, wait_until_listening


class LocalBroker:
    def __init__(self, binary: str, port: int | None = None):
        self.binary, self.host = binary, "127.0.0.1"
        self.port = port or free_port()
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
        if wait_until_listening(self.process, self.host, self.port, 10.0):
            return self
        self.__exit__()
        raise RuntimeError(f"mosquitto did not start on {self.host}:{self.port}")

    def __exit__(self, *exc_info: object) -> None:
        if self.process is not None:
            stop_server(self.process, 5.0)
            self.process = None
        shutil.rmtree(self.folder, ignore_errors=True)
