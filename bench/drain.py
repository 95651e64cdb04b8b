"""Backlog drain under load (issue 7 item 4), and the store insert rate through the writer.

A store holding N undelivered reads (stored through the unit's own `StoreWriter`, which also
gives the insert rate) drains to a real Mosquitto started here on a free loopback port, with a
subscriber counting what arrives, while a new hit is stored every ~0.2 s. Measured:

- `insert_reads_per_s`: ReadDecided events through `StoreWriter` into SQLite (batched as the
  unit batches them), submit of the first to the writer going idle after the last;
- `drain_reads_per_s`: reads acknowledged by the broker (PUBACK) per second, from the publisher
  starting to the last read acknowledged;
- `hit_latency_ms`: for each hit stored during the drain, from its submission to the writer to
  the broker's PUBACK (the publisher's own `hit_latency_ms`), median / p99 / max;
- `hits_ahead_of_backlog`: every hit reached the subscriber while reads were still waiting
  (`reads_waiting_at_hit` is how many were still undelivered when each hit arrived). Hits
  are stored until fewer than 10 windows of reads are waiting: one stored in the last moments
  may fairly arrive after the last read.

    .venv/bin/python -m bench.drain --reads 50000 [--json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge.devtools.localbroker import LocalBroker
from edge.devtools.processes import find_mosquitto
from edge.mqtt import BrokerSettings
from edge.records import (
    Hit,
    HitDecided,
    HotlistEntry,
    HotlistMatch,
    PlateRead,
    ReadDecided,
    new_read_id,
)
from edge.stages import Counters, Stage
from edge.store import open_database
from edge.store.reads import ReadStore
from edge.store.writer import END, StoreSettings, StoreWriter
from edge.uplink.publisher import Publisher
from edge.uplink.topics import Topics

PREFIX = "anpr/v1"
UNIT = "bench-1"
HIT_CUTOFF_WINDOWS = 10
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def plate_read(vrm: str) -> PlateRead:
    """A read as the pipeline emits it, with a 1.5 kB crop like a real one."""
    return PlateRead(
        new_read_id(), UNIT, "cam1", vrm, 0.97, (0.99,) * len(vrm), "gb-current",
        NOW, NOW, NOW, False, (51.5, -0.1), "towards", 6, (("detector", "d@1"),),
        b"\xff\xd8" + bytes(1500),
    )  # fmt: skip


def hit_of(read: PlateRead) -> Hit:
    entry = HotlistEntry(read.vrm, "stolen", 1, "intercept", "bench")
    return Hit(read, (HotlistMatch("bench", 1, entry, "exact"),))


class Counter:
    """A QoS 1 subscriber to the unit's reads and hits: counts, with arrival times."""

    def __init__(self, host: str, port: int):
        self.lock = threading.Lock()
        self.reads = 0
        self.hits: list[tuple[float, int]] = []  # (monotonic arrival, reads received before)
        self.ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-counter")
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *a: self.ready.set()
        self.client.on_message = self._on_message
        self.client.connect(host, port, keepalive=30)
        self.client.loop_start()
        if not self.ready.wait(10):
            raise RuntimeError("the counting subscriber did not subscribe")

    def _on_connect(self, client, userdata, flags, reason, properties) -> None:
        client.subscribe(f"{PREFIX}/units/{UNIT}/+", qos=1)

    def _on_message(self, client, userdata, message) -> None:
        with self.lock:
            if message.topic.endswith("/reads"):
                self.reads += 1
            elif message.topic.endswith("/hits"):
                self.hits.append((time.monotonic(), self.reads))

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def _stats(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {
        "median": round(float(np.median(values)), 1),
        "p99": round(float(np.percentile(values, 99)), 1),
        "max": round(float(max(values)), 1),
        "n": len(values),
    }


def _wait(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out: {what}")
        time.sleep(0.02)


def insert_reads(writer: StoreWriter, count: int) -> float:
    """Submit `count` reads to a running writer; seconds until it has stored them all."""
    events = [ReadDecided(plate_read(f"BL{i % 100:02d}ACK"), False) for i in range(count)]
    started = time.perf_counter()
    for event in events:
        writer.submit(event)
    _wait(writer.idle, 600, "the writer did not store the backlog")
    return time.perf_counter() - started


def bench_drain(
    reads: int = 50_000,
    hit_every_s: float = 0.2,
    window: int = 32,
    hit_reserve: int = 8,
    sample_s: float = 0.25,
) -> dict[str, Any]:
    """Fill a store with `reads` undelivered reads and drain it to a local Mosquitto while a
    hit is stored every `hit_every_s`. See the module docstring for the figures."""
    binary = find_mosquitto()
    if binary is None:
        return {"drain": None, "note": "mosquitto is not installed"}
    with LocalBroker(binary) as broker, tempfile.TemporaryDirectory(prefix="anpr-drain-") as tmp:
        path = Path(tmp) / "anpr.db"
        open_database(path).close()  # created and migrated once, as the service does
        counters = Counters()
        sink: dict[str, Any] = {"stored": lambda item, timing: None}  # the publisher, later
        writer = StoreWriter(
            StoreSettings(path, 86400.0, 10**10),
            Stage("writer", 60),
            counters,
            on_stored=lambda item, timing: sink["stored"](item, timing),
        )
        writer_thread = threading.Thread(target=writer.run, daemon=True)
        writer_thread.start()

        insert_s = insert_reads(writer, reads)
        db_mb = sum(p.stat().st_size for p in Path(tmp).glob("anpr.db*")) / 1e6

        counter = Counter(broker.host, broker.port)
        publisher = Publisher(
            BrokerSettings(broker.host, broker.port, f"anpr-{UNIT}", keepalive_s=30),
            Topics(PREFIX, UNIT),
            path,
            Stage("publisher", 60),
            counters,
            on_delivered=writer.delivered,
            versions=lambda: {"software": "bench", "models": {}, "hotlists": {"bench": 1}},
            window=window,
            hit_reserve=hit_reserve,
        )
        sink["stored"] = publisher.stored
        publisher_thread = threading.Thread(target=publisher.run, daemon=True)
        started = time.monotonic()
        publisher_thread.start()

        progress: list[tuple[float, int, int]] = []  # (s since start, reads acked, reads recv)
        hits_stored = 0
        next_hit = started + hit_every_s
        next_sample = started
        drained_at = None
        while True:
            now = time.monotonic()
            acked = counters.delivered_reads
            if now >= next_sample:
                progress.append((round(now - started, 3), acked, counter.reads))
                next_sample += sample_s
            if acked >= reads:
                drained_at = now
                break
            # no new hit in the last ~10 windows of reads: one stored then may fairly arrive
            # after the backlog is gone, which says nothing about hits overtaking it
            if now >= next_hit and reads - acked > HIT_CUTOFF_WINDOWS * window:
                read = plate_read(f"HT{hits_stored % 100:02d}HOT")
                mono = time.monotonic()
                writer.submit(HitDecided(hit_of(read), mono, mono))
                hits_stored += 1
                next_hit += hit_every_s
            if now - started > 1800:
                raise RuntimeError(f"the backlog did not drain in 30 min ({acked}/{reads})")
            time.sleep(0.01)
        progress.append((round(drained_at - started, 3), counters.delivered_reads, counter.reads))
        drain_s = drained_at - started
        _wait(lambda: counters.delivered_hits >= hits_stored, 30, "hits not all acknowledged")
        _wait(lambda: len(counter.hits) >= hits_stored, 30, "hits not all received")
        _wait(lambda: counter.reads >= reads, 60, "reads not all received")
        latencies = list(publisher.hit_latency_ms)
        max_in_flight = publisher.max_in_flight
        publisher.close(5.0)
        publisher_thread.join(30)
        writer.submit(END)
        writer_thread.join(60)
        conn = open_database(path)
        try:
            backlog = ReadStore(conn).backlog()
        finally:
            conn.close()
        counter.close()
        waiting = [reads - before for _, before in counter.hits]
        return {
            "drain_reads_per_s": round(reads / drain_s, 1),
            "insert_reads_per_s": round(reads / insert_s, 1),
            "hit_latency_ms": _stats(latencies),
            "hits_ahead_of_backlog": (min(waiting) > 0) if waiting else None,
            "drain": {
                "reads": reads,
                "seconds": round(drain_s, 2),
                "insert_seconds": round(insert_s, 2),
                "store_mb": round(db_mb, 1),
                "hits_stored": hits_stored,
                "hits_delivered": counters.delivered_hits,
                "hit_every_s": hit_every_s,
                "no_hits_stored_with_reads_waiting_below": HIT_CUTOFF_WINDOWS * window,
                "reads_waiting_at_hit": {
                    "min": min(waiting) if waiting else None,
                    "median": int(np.median(waiting)) if waiting else None,
                },
                "window": window,
                "hit_reserve": hit_reserve,
                "max_in_flight": max_in_flight,
                "reads_received": counter.reads,
                "backlog_after": backlog,
                "progress": progress,
                "hit_arrivals_s": [round(t - started, 3) for t, _ in counter.hits],
            },
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="backlog drain under load to a local Mosquitto")
    parser.add_argument("--reads", type=int, default=50_000, help="backlog size (default 50k)")
    parser.add_argument("--hit-every", type=float, default=0.2, help="seconds between hits")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    result = bench_drain(args.reads, args.hit_every)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    if result.get("drain") is None:
        print(f"drain: not measured ({result['note']})")
        return 0
    d, lat = result["drain"], result["hit_latency_ms"]
    print(f"insert: {result['insert_reads_per_s']} reads/s through the writer ({d['reads']} reads)")
    print(f"drain:  {result['drain_reads_per_s']} reads/s acknowledged ({d['seconds']} s)")
    if lat:
        print(
            f"hits during the drain: {d['hits_stored']} stored, store → PUBACK median "
            f"{lat['median']} ms, p99 {lat['p99']} ms, max {lat['max']} ms"
        )
    print(
        f"hits ahead of the backlog: {result['hits_ahead_of_backlog']} (reads still waiting "
        f"when each hit arrived: min {d['reads_waiting_at_hit']['min']})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
