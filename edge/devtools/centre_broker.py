"""Mosquitto on the centre's committed configuration (firmware_config/mosquitto-centre.conf and
.acl), for the fleet simulation: only the file paths, the port and the run-as user rewritten,
as tests/security_support.py does for the security tests. Started and stopped by PID.

Also what the simulation measures of it: CPU seconds and resident memory from /proc, and the
bytes on its TCP connections (`ss -ti`: TLS records as sent, before TCP/IP headers)."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from edge.devtools.pki import ForceCA
from edge.devtools.processes import find_mosquitto, free_port, stop_server, wait_until_listening

REPO = Path(__file__).resolve().parents[2]
CENTRE_CONF = REPO / "firmware_config" / "mosquitto-centre.conf"
CENTRE_ACL = REPO / "firmware_config" / "mosquitto-centre.acl"
REWRITTEN = ("user", "listener", "cafile", "certfile", "keyfile", "crlfile", "acl_file",
             "persistence_location", "log_dest")  # fmt: skip


def rewrite(committed: str, port: int, files: dict[str, str], extra: str = "") -> str:
    """The committed file with the machine-specific values of REWRITTEN replaced; every other
    line verbatim. Raises ValueError when one of them is missing or twice."""
    out, seen = [], set()
    for line in committed.splitlines():
        words = line.split()
        if not words or words[0].startswith("#") or words[0] not in REWRITTEN:
            out.append(line)
            continue
        if words[0] in seen:
            raise ValueError(f"{words[0]} twice in the committed configuration")
        seen.add(words[0])
        if words[0] == "listener":
            out.append(f"listener {port} 127.0.0.1")
        elif words[0] == "log_dest":
            out.append(f"log_dest file {files['log_dest']}")
        else:
            out.append(f"{words[0]} {files[words[0]]}")
    if set(REWRITTEN) - seen:
        raise ValueError(f"the committed configuration lacks {sorted(set(REWRITTEN) - seen)}")
    return "\n".join(out) + "\n" + extra


class CentreBroker:
    def __init__(self, folder: Path, ca: ForceCA, port: int | None = None, extra: str = ""):
        binary = find_mosquitto()
        if binary is None:
            raise RuntimeError("mosquitto is not installed (apt-get install mosquitto)")
        self.binary, self.host, self.port = binary, "127.0.0.1", port or free_port()
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        server = ca.issue("broker", server_ip=self.host)
        data = folder / "data"
        data.mkdir(exist_ok=True, mode=0o700)
        self.log = folder / "mosquitto.log"
        self.config = folder / "mosquitto.conf"
        files = {
            # as root Mosquitto would drop to "mosquitto", who cannot enter our 0700 folder
            "user": "root" if os.geteuid() == 0 else "mosquitto",
            "cafile": str(ca.cert_path), "certfile": str(server.cert),
            "keyfile": str(server.key), "crlfile": str(ca.write_crl()),
            "acl_file": str(CENTRE_ACL), "persistence_location": f"{data}/",
            "log_dest": str(self.log),
        }  # fmt: skip
        self.config.write_text(rewrite(CENTRE_CONF.read_text(), self.port, files, extra))
        self.config.chmod(0o600)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 20.0) -> None:
        self.process = subprocess.Popen(
            [self.binary, "-c", str(self.config)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        if wait_until_listening(self.process, self.host, self.port, timeout_s):
            return
        if self.process.poll() is not None:
            raise RuntimeError(f"mosquitto exited with {self.process.returncode}; see {self.log}")
        self.stop()
        raise RuntimeError(f"mosquitto did not listen on {self.host}:{self.port}")

    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGTERM: Mosquitto saves its persistence file (sessions, queues, retained) first."""
        if self.process is None:
            return
        stop_server(self.process, timeout_s, signal.SIGTERM)
        self.process = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0


def socket_bytes(
    port: int, *, side: str, pids: set[int] | None = None
) -> dict[tuple[str, str], tuple[int, int]]:
    """(bytes_sent, bytes_received) of every established TCP connection to `port` (`side`
    "client": the clients' ends, only those of processes `pids` if given; "server": the
    broker's), keyed by (local, peer)."""
    flt = f"( dport = :{port} )" if side == "client" else f"( sport = :{port} )"
    out = subprocess.run(["ss", "-tinpH", "state", "established", flt],
                         capture_output=True, text=True, timeout=30, check=True).stdout  # fmt: skip
    found: dict[tuple[str, str], tuple[int, int]] = {}
    key: tuple[str, str] | None = None
    for line in out.splitlines():
        if not line.startswith((" ", "\t")):
            words = line.split()
            users = words[-1] if words[-1].startswith("users:") else ""
            words = words[:-1] if users else words
            key = (words[-2], words[-1])
            if pids is not None and not any(f"pid={pid}," in users for pid in pids):
                key = None
            continue
        if key is None:
            continue
        stats = dict(w.split(":", 1) for w in line.split() if w.startswith("bytes_"))
        found[key] = (int(stats.get("bytes_sent", 0)), int(stats.get("bytes_received", 0)))
        key = None
    return found


def bytes_between(before: dict, after: dict) -> tuple[int, int]:
    """Sent and received on the connections present at both samples (reconnects excluded)."""
    sent = received = 0
    for key, (s, r) in after.items():
        if key in before:
            sent += s - before[key][0]
            received += r - before[key][1]
    return sent, received
