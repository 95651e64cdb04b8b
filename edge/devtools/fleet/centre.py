"""The centre's side of the simulation: the force CA, Mosquitto on the committed centre
configuration, PostgreSQL, the consumer processes (`python -m edge.centre`, a shared
subscription group) and the signed hotlist bundles with the centre's own publisher
(edge.hotlist.publish, under the `anpr.centre.hotlists` certificate)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from edge.devtools.centre_broker import CentreBroker
from edge.devtools.hotlist_snapshot import make_snapshot
from edge.devtools.pki import ForceCA, Identity
from edge.devtools.postgres import Postgres
from edge.hotlist.bundle import delta_payload, seal, snapshot_payload
from edge.hotlist.publish import Published, publish_bundle
from edge.hotlist.sample import sample_registrations
from edge.hotlist.signing import generate_keypair, load_signing_key
from edge.mqtt import BrokerSettings

PREFIX = "anpr/v1"
ISSUED_AT = "2026-12-01T00:00:00Z"


class Centre:
    def __init__(self, folder: Path, consumers: int = 2, *, pg_fsync: bool = True,
                 share: bool = True):  # fmt: skip
        if not (2 if share else 1) <= consumers <= (4 if share else 1):
            raise ValueError("2 to 4 shared consumers (anpr.centre.ingest-1 … -4 in the ACL), "
                             "or 1 not shared")  # fmt: skip
        self.share = share
        self.folder = folder
        self.ca = ForceCA(folder / "pki")
        self.broker = CentreBroker(folder / "broker", self.ca)
        self.pg = Postgres(fsync=pg_fsync)
        self.ingest = [self.ca.issue(f"anpr.centre.ingest-{i + 1}") for i in range(consumers)]
        self.publisher_id = self.ca.issue("anpr.centre.hotlists")
        keys = folder / "keys"
        _, self.signing_path, public_a = generate_keypair(keys, "centre-a")
        _, _, public_b = generate_keypair(keys, "centre-b")  # the second trusted key (rotation)
        self.trusted = (public_a, public_b)
        self.signing_key = load_signing_key(self.signing_path)
        self.consumers: list[subprocess.Popen[bytes]] = []

    def unit_identity(self, unit_id: str) -> Identity:
        return self.ca.issue(unit_id)

    def start(self, timeout_s: float = 60.0) -> None:
        """The broker, PostgreSQL and the consumers, once each consumer has subscribed."""
        self.broker.start()
        self.pg.start()
        for identity in self.ingest:
            self.consumers.append(self._consumer(identity))

        def subscribed() -> bool:
            return all(s.get("subscribed", 0) >= 2 for s in self.consumer_stats())

        if wait_for(subscribed, timeout_s, 0.1) is None:
            raise RuntimeError(f"the consumers did not subscribe: see {self.folder}/*.log")

    def _consumer(self, identity: Identity) -> subprocess.Popen[bytes]:
        log = open(self.folder / f"{identity.cn}.log", "ab")  # noqa: SIM115 (the child's)
        return subprocess.Popen(
            [sys.executable, "-m", "edge.centre", "--host", self.broker.host,
             "--port", str(self.broker.port), "--ca", str(self.ca.cert_path),
             "--cert", str(identity.cert), "--key", str(identity.key), "--dsn", self.pg.dsn(),
             "--client-id", identity.cn, "--stats-file", str(self.stats_path(identity)),
             "--log-level", "WARNING", *([] if self.share else ["--no-share"])],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])},
        )  # fmt: skip

    def stats_path(self, identity: Identity) -> Path:
        return self.folder / f"{identity.cn}.stats.json"

    def consumer_stats(self) -> list[dict]:
        out = []
        for identity in self.ingest:
            try:
                out.append(json.loads(self.stats_path(identity).read_text()))
            except (OSError, ValueError):
                out.append({})
        return out

    def pause_consumers(self, paused: bool) -> None:
        """SIGSTOP (a consumer that stalls: its TCP window fills, the broker queues) or
        SIGCONT."""
        for process in self.consumers:
            process.send_signal(signal.SIGSTOP if paused else signal.SIGCONT)

    def stop(self) -> None:
        for process in self.consumers:
            process.send_signal(signal.SIGCONT)
            process.terminate()
        for process in self.consumers:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        self.consumers.clear()
        self.broker.stop()
        self.pg.stop()

    # --- the database ------------------------------------------------------------------------

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with psycopg.connect(self.pg.dsn()) as conn:
            return conn.execute(sql, params).fetchall()

    def counts(self) -> dict[str, int]:
        try:
            reads, hits = self.query("SELECT (SELECT count(*) FROM reads), "
                                     "(SELECT count(*) FROM hits)")[0]  # fmt: skip
        except psycopg.errors.UndefinedTable:
            return {"reads": 0, "hits": 0}
        return {"reads": reads, "hits": hits}

    # --- hotlists -------------------------------------------------------------------------------

    def publish(self, bundle: bytes) -> Published:
        # The PUBACK waits up to connect_timeout_s + 1 s a MB (edge.hotlist.publish). Mosquitto
        # acknowledges a QoS 1 publish only once it has queued it for every subscriber: a 9.7 MB
        # snapshot to 200 units on the loaded 2 cores took over 40 s (docs/fleet.md), so the
        # simulation waits longer and reports how long it took (publish_puback_s).
        settings = BrokerSettings(
            self.broker.host, self.broker.port, "anpr.centre.hotlists", tls=True,
            ca=self.ca.cert_path, cert=self.publisher_id.cert, key=self.publisher_id.key,
            connect_timeout_s=300.0,
        )  # fmt: skip
        return publish_bundle(bundle, settings, prefix=PREFIX)

    def snapshot(self, list_id: str, version: int, entries: int, seed: int) -> bytes:
        if entries >= 100_000:  # streamed into the compressor (edge.devtools.hotlist_snapshot)
            path, _ = make_snapshot(self.folder, entries, seed, list_id=list_id,
                                    version=version, signing_key=self.signing_path)  # fmt: skip
            data = path.read_bytes()
            path.unlink()
            return data
        lines = [_entry(vrm) for vrm in _plates(entries, seed)]
        return seal(snapshot_payload(list_id, version, ISSUED_AT, lines), self.signing_key)

    def delta(self, list_id: str, base: int, version: int, adds: int, seed: int) -> bytes:
        lines = [["add", *_entry(vrm)] for vrm in _plates(adds, seed)]
        return seal(delta_payload(list_id, version, base, ISSUED_AT, lines), self.signing_key)


def _plates(count: int, seed: int) -> list[str]:
    import numpy as np

    rng = np.random.default_rng(seed)
    plates = sorted(set(sample_registrations(rng, int(count * 1.2) + 100)))
    return sorted(rng.choice(plates, size=count, replace=False).tolist())


def _entry(vrm: str) -> list:
    return [vrm, "stolen", 2, "intercept", "simulated", None]


def wait_for(condition, timeout_s: float, every_s: float = 0.2) -> float | None:
    """Seconds until `condition()` was true, or None after `timeout_s`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if condition():
            return time.monotonic() - started
        time.sleep(every_s)
    return None
