"""The fan-out scenarios: one signed hotlist bundle published once, followed to every unit.

For each unit (wall-clock seconds from the publish, one machine so one clock):

- **received**: its paho thread got the message (the broker's part);
- **spooled**: the bundle is in its spool and acknowledged (the unit wrote ~1–10 MB, fsynced);
- **apply queued / apply**: how long it waited for one of the simulation's apply slots
  (edge.devtools.fleet.unit) and how long its apply then took (verified, stored, index
  swapped), on the simulation's shared CPU;
- **applied**: when the unit first held the new version (what the fleet saw, slots included);
- **own**: spooled + its own apply: what a unit with a CPU of its own would see.

Bytes: what the broker sent meanwhile on every connection (`ss`, TLS records, TCP/IP headers
not counted), and how much of it went to the units (their ends' bytes received) until the
last one had received the bundle; the rest went to the centre's consumers (the steady reads,
which go on during a fan-out).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from edge.devtools import procstat
from edge.devtools.centre_broker import bytes_between, socket_bytes

from .centre import wait_for
from .fleet import Fleet
from .scenarios import pct


def fanout(fleet: Fleet, bundle: bytes, list_id: str, version: int, units: list[str],
           timeout_s: float) -> dict:  # fmt: skip
    """Publish `bundle` once and follow it until every unit of `units` holds `version` of
    `list_id`; the figures of the module docstring."""
    port, pids = fleet.centre.broker.port, fleet.worker_pids()
    before = socket_bytes(port, side="server")
    units_before = socket_bytes(port, side="client", pids=pids)
    t_pub = time.time()
    published = fleet.centre.publish(bundle)
    puback_s = time.time() - t_pub
    wanted, topic = set(units), published.topic
    watch = Watch(available_mb())

    def all_received(statuses: list[dict]) -> bool:
        return all(any(a[0] == topic and a[1] >= t_pub for a in s["arrivals"])
                   for s in statuses if s["unit"] in wanted)  # fmt: skip

    def done() -> bool:
        statuses = fleet.statuses()
        if watch.server_at_received is None and all_received(statuses):
            watch.server_at_received = socket_bytes(port, side="server")
            watch.units_at_received = socket_bytes(port, side="client", pids=pids)
        watch.rss_mb = max(watch.rss_mb, procstat.rss_mb(pids))
        watch.broker_rss_mb = max(watch.broker_rss_mb, fleet.centre.broker.rss_mb())
        watch.available_mb = min(watch.available_mb, available_mb())
        return all(s["versions"].get(list_id, 0) >= version
                   for s in statuses if s["unit"] in wanted)  # fmt: skip

    waited = wait_for(done, timeout_s, 0.5)
    after = socket_bytes(port, side="server")
    sent, _ = bytes_between(before, after)
    figures = per_unit(fleet.statuses(), wanted, topic, list_id, version, t_pub)
    bytes_to = {"broker_bytes_sent": sent}
    if watch.server_at_received is not None and watch.units_at_received is not None:
        until = bytes_between(before, watch.server_at_received)[0]
        bytes_to["broker_bytes_sent_until_all_received"] = until
        to_units = bytes_between(units_before, watch.units_at_received)[1]
        bytes_to["units_bytes_received_until_all_received"] = to_units
    return {
        "list": list_id, "version": version, "kind": published.kind,
        "bundle_bytes": published.bytes, "units": len(wanted),
        "applied_by": len(figures["applied"]), "complete": waited is not None,
        "apply_slots": fleet.options.apply_slots or None,
        "publish_puback_s": round(puback_s, 2),
        **{f"{name}_s": pct(values, digits=2) for name, values in figures.items()},
        **bytes_to,
        "workers_rss_peak_mb": round(watch.rss_mb),
        "workers_rss_end_mb": round(procstat.rss_mb(pids)),  # every unit holding the list
        "broker_rss_peak_mb": round(watch.broker_rss_mb),
        "mem_available_min_mb": watch.available_mb,
    }  # fmt: skip


@dataclass
class Watch:
    """What the wait samples: the byte counters once every unit has received the bundle, the
    peak resident memory of the worker processes and of the broker (which builds a packet
    with the whole bundle for each unit it sends it to), the machine's lowest available
    memory."""

    available_mb: int
    rss_mb: float = 0.0
    broker_rss_mb: float = 0.0
    server_at_received: dict | None = None
    units_at_received: dict | None = None


def per_unit(statuses: list[dict], wanted: set[str], topic: str, list_id: str, version: int,
             t_pub: float) -> dict[str, list[float]]:  # fmt: skip
    """Each unit's figures (seconds), by name; a unit missing a step is missing from it."""
    out: dict[str, list[float]] = {
        "received": [], "spooled": [], "apply_queued": [], "apply": [], "applied": [], "own": []
    }  # fmt: skip
    for s in statuses:
        if s["unit"] not in wanted:
            continue
        held_at = s["held_at"].get(list_id, {}).get(version)
        if held_at is not None:
            out["applied"].append(held_at - t_pub)
        got = [(at, spooled) for name, at, spooled in s["arrivals"]
               if name == topic and at >= t_pub]  # fmt: skip
        if not got:
            continue
        arrived, spooled = min(got)
        out["received"].append(arrived - t_pub)
        out["spooled"].append(spooled - t_pub)
        applies = [a for a in s["applies"] if a["list"] == list_id and a["version"] == version
                   and a["started"] >= spooled]  # fmt: skip
        if applies:
            first = min(applies, key=lambda a: a["started"])
            own_apply = first["finished"] - first["started"]
            out["apply_queued"].append(first["started"] - spooled)
            out["apply"].append(own_apply)
            out["own"].append(spooled - t_pub + own_apply)
    return out


def available_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) // 1024
    return -1
