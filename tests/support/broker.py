"""A real Mosquitto broker on a free loopback port, for tests (started and stopped by PID)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from edge.devtools.processes import find_mosquitto, free_port, stop_server, wait_until_listening


class MosquittoBroker:
    """One mosquitto process. `stop()` and `start()` again keep the port (for outage tests)."""

    def __init__(self, workdir: Path, port: int | None = None, extra_config: str = ""):
        binary = find_mosquitto()
        if binary is None:
            raise RuntimeError(
                "mosquitto is not installed: apt-get install mosquitto (see .ci/run)"
            )
        self.binary = binary
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.workdir = workdir
        self.log = workdir / "mosquitto.log"
        self.config = workdir / "mosquitto.conf"
        # The default per-client queue (1000) silently drops QoS 1 messages to a slow subscriber
        # while the publisher still gets every PUBACK: lift it so tests see every message.
        self.config.write_text(
            f"listener {self.port} {self.host}\n"
            "allow_anonymous true\n"
            "persistence false\n"
            "max_queued_messages 0\n"
            "max_queued_bytes 0\n"
            f"log_dest file {self.log}\n"
            "log_type error\nlog_type warning\nlog_type notice\n"
            f"{extra_config}"
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 10.0) -> None:
        self.process = subprocess.Popen(
            [self.binary, "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        if wait_until_listening(self.process, self.host, self.port, timeout_s):
            return
        if self.process.poll() is not None:
            err = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
            raise RuntimeError(f"mosquitto exited with {self.process.returncode}: {err}")
        self.stop()
        raise RuntimeError(f"mosquitto did not listen on {self.host}:{self.port} in {timeout_s}s")

    def stop(self, timeout_s: float = 5.0) -> None:
        if self.process is None:
            return
        stop_server(self.process, timeout_s)
        if self.process.stderr:
            self.process.stderr.close()
        self.process = None


@contextmanager
def running(broker: MosquittoBroker) -> Iterator[MosquittoBroker]:
    """The broker started for a `with` block and stopped after it, whatever happens."""
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
