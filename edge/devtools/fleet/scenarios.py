"""The scenarios of issue 15, each measured on a running fleet (edge.devtools.fleet.fleet).
Each returns a dict of figures; times are wall-clock seconds on this one machine."""

from __future__ import annotations

import os
import time

import numpy as np

from edge.devtools import procstat
from edge.devtools.centre_broker import bytes_between, socket_bytes

from .centre import wait_for
from .fleet import Fleet

DAY_S = 86400.0


def pct(values, *, digits: int = 1) -> dict | None:
    if len(values) == 0:
        return None
    a = np.asarray(values, dtype=float)
    return {"p50": round(float(np.percentile(a, 50)), digits),
            "p99": round(float(np.percentile(a, 99)), digits),
            "max": round(float(a.max()), digits), "n": len(a)}  # fmt: skip


def centre_latencies_ms(fleet: Fleet, since: float, until: float) -> list[float]:
    """Hits captured in [since, until): PostgreSQL commit time − the hit's `captured_at`,
    which the simulated unit sets as it hands the hit to the store writer."""
    rows = fleet.centre.query(
        "SELECT extract(epoch FROM stored_at - captured_at) * 1000 FROM hits "
        "WHERE captured_at >= to_timestamp(%s) AND captured_at < to_timestamp(%s)",
        (since, until),
    )
    return [float(r[0]) for r in rows]


def steady(fleet: Fleet, seconds: float, warmup_s: float = 10.0) -> dict:
    n, broker, port = fleet.options.units, fleet.centre.broker, fleet.centre.broker.port
    fleet.set_rate(fleet.options.rate)
    time.sleep(warmup_s)
    pids = fleet.worker_pids()
    groups = fleet.process_groups()
    others0 = {name: procstat.cpu_s(group) for name, group in groups.items()}
    t0, cpu0 = time.time(), broker.cpu_s()
    before = socket_bytes(port, side="client", pids=pids)
    pg0 = fleet.centre.counts()
    rss = []
    while time.time() - t0 < seconds:
        time.sleep(min(5.0, seconds))
        rss.append(broker.rss_mb())
    t1, cpu1 = time.time(), broker.cpu_s()
    after = socket_bytes(port, side="client", pids=pids)
    others = {
        name: {"cpu_percent": round((procstat.cpu_s(group) - others0[name]) / (t1 - t0) * 100, 1),
               "rss_mb": round(procstat.rss_mb(group), 1)}
        for name, group in fleet.process_groups().items()
    }  # fmt: skip
    pg1 = fleet.centre.counts()
    span = t1 - t0
    sent, received = bytes_between(before, after)
    statuses = fleet.statuses(full=True)
    puback = [ms for s in statuses for ms in s["hit_latency_ms"]]
    owed = sum(s["owed"] for s in statuses)
    load = [round(x, 2) for x in os.getloadavg()]
    time.sleep(3.0)  # the last hits of the window reach PostgreSQL
    rss_mb = max(rss) if rss else broker.rss_mb()
    return {
        "seconds": round(span, 1),
        "units": n,
        "reads_per_s_per_unit": fleet.options.rate,
        "hit_share": fleet.options.hit_share,
        "hit_latency_store_to_centre_ms": pct(centre_latencies_ms(fleet, t0, t1)),
        "hit_latency_store_to_puback_ms": pct(puback),
        "broker_cpu_percent": round((cpu1 - cpu0) / span * 100, 1),
        "broker_cpu_percent_per_unit": round((cpu1 - cpu0) / span * 100 / n, 3),
        "broker_rss_mb": round(rss_mb, 1),
        "broker_rss_idle_mb": round(fleet.idle_broker_rss_mb, 1),
        "broker_rss_kb_per_unit": round((rss_mb - fleet.idle_broker_rss_mb) * 1024 / n, 1),
        "uplink_bytes_per_unit_per_day": round(sent_per_unit(sent, n, span)),
        "downlink_bytes_per_unit_per_day": round(sent_per_unit(received, n, span)),
        "connections_measured": sum(1 for k in after if k in before),
        "uplink_bytes_per_message": round(sent / max(_rows(pg1) - _rows(pg0), 1)),
        "processes": others,
        "units_owed_at_end": owed,
        "load_average_at_end": load,
        "centre_rows_per_s": round(
            (pg1["reads"] + pg1["hits"] - pg0["reads"] - pg0["hits"]) / span, 1
        ),
    }


def _rows(counts: dict[str, int]) -> int:
    return counts["reads"] + counts["hits"]


def sent_per_unit(total: int, units: int, span: float) -> float:
    """Bytes over the window scaled to a day: the TLS records the units' TCP connections
    carried (ss `bytes_sent`; TCP/IP headers not included)."""
    return total / units / span * DAY_S


def stall(fleet: Fleet, seconds: float, timeout_s: float) -> dict:
    """The consumers stop (SIGSTOP) for `seconds` under steady traffic, then go on: what
    grows, what the units notice, how fast the centre catches up (its ingest rate)."""
    broker, centre = fleet.centre.broker, fleet.centre
    rss0 = broker.rss_mb()
    t0 = time.time()
    centre.pause_consumers(True)
    time.sleep(seconds)
    totals = fleet.totals()
    rss1 = broker.rss_mb()
    pg_at_resume = centre.counts()
    t_resume = time.time()
    centre.pause_consumers(False)
    target = totals["delivered_reads"] + totals["delivered_hits"]
    caught = wait_for(lambda: sum(centre.counts().values()) >= target, timeout_s, 0.25)
    pg_now = centre.counts()
    rows = sum(pg_now.values()) - sum(pg_at_resume.values())
    statuses = fleet.statuses(full=True)
    return {
        "stalled_s": seconds,
        "queued_at_broker": target - sum(pg_at_resume.values()),
        "broker_rss_growth_mb": round(rss1 - rss0, 1),
        "units_owed_at_resume": totals["owed"],
        "catch_up_s": None if caught is None else round(caught, 1),
        "ingest_rows_per_s": None if not caught else round(rows / caught, 0),
        "hit_latency_store_to_centre_ms": pct(centre_latencies_ms(fleet, t0, t_resume)),
        "hit_latency_store_to_puback_ms_recent": pct(
            [ms for s in statuses for ms in s["hit_latency_ms"][-20:]]
        ),
    }


def outage(fleet: Fleet, seconds: float, timeout_s: float, consumers_late_s: float = 0.0) -> dict:
    """The broker stops (SIGTERM: it saves its sessions) for `seconds` while the units go on
    reading; then it starts again and every unit reconnects at once (the reconnect storm).
    `consumers_late_s`: the consumers are held (SIGSTOP) over the restart and go on that long
    after it, so the units come back to a broker with no shared subscription yet (Mosquitto 2.0
    does not restore them): what they send meanwhile must stay owed, not be lost."""
    broker = fleet.centre.broker
    if consumers_late_s:
        fleet.centre.pause_consumers(True)
    broker.stop()
    time.sleep(seconds)
    backlog = fleet.totals()
    t_up = time.monotonic()
    broker.start()
    cpu0 = broker.cpu_s()
    n = fleet.options.units
    if consumers_late_s:
        time.sleep(consumers_late_s)
        fleet.centre.pause_consumers(False)
    connected = wait_for(lambda: fleet.totals()["connected"] == n, timeout_s, 0.5)
    drained = wait_for(lambda: fleet.totals()["owed"] == 0, timeout_s, 0.5)
    span = time.monotonic() - t_up
    return {
        "outage_s": seconds,
        "owed_when_broker_returned": backlog["owed"],
        "all_reconnected_s": None if connected is None else round(connected, 1),
        "all_drained_s": None if drained is None else round(time.monotonic() - t_up, 1),
        "broker_cpu_percent_during_drain": round((broker.cpu_s() - cpu0) / span * 100, 1),
    }


def storm(fleet: Fleet, timeout_s: float, after_s: float = 20.0) -> dict:
    """Under steady traffic the broker is restarted at once: every unit (back-off 1 s after a
    lost connection) and every consumer reconnect together. How long until all are back, the
    broker's CPU meanwhile, and the hits of the next `after_s` seconds at the centre."""
    broker, n = fleet.centre.broker, fleet.options.units
    fleet.set_rate(fleet.options.rate)
    time.sleep(5.0)
    t_wall = time.time()
    broker.stop()
    t0 = time.monotonic()
    broker.start()
    cpu0 = broker.cpu_s()
    half = full = None
    while time.monotonic() - t0 < timeout_s:
        connected = fleet.totals()["connected"]
        if half is None and connected * 2 >= n:
            half = time.monotonic() - t0
        if connected == n:
            full = time.monotonic() - t0
            break
        time.sleep(0.25)
    cpu_span = time.monotonic() - t0
    cpu = broker.cpu_s() - cpu0
    time.sleep(after_s)
    time.sleep(3.0)
    return {
        "units": n,
        "half_reconnected_s": None if half is None else round(half, 1),
        "all_reconnected_s": None if full is None else round(full, 1),
        "broker_cpu_percent_while_reconnecting": round(cpu / max(cpu_span, 0.01) * 100, 1),
        "hit_latency_store_to_centre_ms": pct(centre_latencies_ms(fleet, t_wall, t_wall + after_s)),
    }


def reconciliation(fleet: Fleet, timeout_s: float) -> dict:
    """Traffic stopped: every produced read and hit is at the centre, once."""
    fleet.set_rate(0.0)
    t0, rows0 = time.monotonic(), _rows(fleet.centre.counts())
    wait_for(lambda: fleet.totals()["owed"] == 0, timeout_s, 0.5)
    totals = fleet.totals()
    target = {"reads": totals["produced_reads"], "hits": totals["produced_hits"]}
    done = wait_for(lambda: fleet.centre.counts() == target, timeout_s, 0.25)
    drain_s = time.monotonic() - t0
    stored = fleet.centre.counts()
    per_unit = dict(fleet.centre.query("SELECT unit_id, count(*) FROM reads GROUP BY unit_id"))
    mismatched = [s["unit"] for s in fleet.statuses()
                  if per_unit.get(s["unit"], 0) != s["produced"]["reads"]]  # fmt: skip
    time.sleep(1.5)  # the consumers rewrite their figures every second
    consumers = fleet.centre.consumer_stats()
    return {
        "reads_produced": target["reads"], "reads_stored": stored["reads"],
        "hits_produced": target["hits"], "hits_stored": stored["hits"],
        "centre_backlog_at_stop": _rows(target) - rows0,
        "centre_drain_s": round(drain_s, 1) if done is not None else None,
        "centre_drain_rows_per_s": round((_rows(stored) - rows0) / drain_s, 1)
        if done is not None and _rows(target) - rows0 >= 1000 else None,
        "reads_lost": target["reads"] - stored["reads"],
        "hits_lost": target["hits"] - stored["hits"],
        "units_mismatched": mismatched,
        "redeliveries_dropped": sum(c.get("duplicates", 0) for c in consumers),
        "refused": sum(c.get("refused", 0) for c in consumers),
        "per_consumer_received": [c.get("received", 0) for c in consumers],
        "unit_errors": totals["errors"],
    }  # fmt: skip
