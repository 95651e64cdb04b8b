"""The fleet simulation at small N (issue 15; `make fleet` runs it at hundreds of units):
simulated units running the unit's own uplink, store writer and hotlist sync over mutual TLS
against Mosquitto on the committed centre configuration, the reference consumers into
PostgreSQL. Each scenario's figures must be there and make sense, and every read produced
must be stored at the centre exactly once."""

from __future__ import annotations

import itertools

import pytest

pytest.importorskip("psycopg", reason="psycopg (the centre extra) is not installed")

from edge.devtools.fleet import scenarios
from edge.devtools.fleet.fanout import fanout
from edge.devtools.fleet.fleet import Fleet, FleetOptions
from edge.devtools.postgres import find_bin
from edge.devtools.processes import find_mosquitto

pytestmark = [
    pytest.mark.broker,
    pytest.mark.skipif(find_bin() is None, reason="PostgreSQL is not installed"),
    pytest.mark.skipif(find_mosquitto() is None, reason="mosquitto is not installed"),
]
UNITS = [f"sim-{i:04d}" for i in range(1, 4)]


def run(fleet: Fleet, steps):
    try:
        ready = fleet.start({"ops": 50, "national": 200}, timeout_s=60)
        assert ready > 0, "every unit connected and holding its lists"
        return [step() for step in steps]
    finally:
        fleet.stop()


def test_small_fleet_shared_consumers(tmp_path) -> None:
    # two worker processes sharing one apply slot: the bound must hold across processes
    fleet = Fleet(tmp_path, FleetOptions(units=3, workers=2, rate=4.0, hit_share=0.2,
                                         snapshot_units=3, apply_slots=1,
                                         pg_fsync=False))  # fmt: skip
    steady, delta, snapshot, statuses, stall, final = run(fleet, [
        lambda: scenarios.steady(fleet, 8.0, warmup_s=2.0),
        lambda: fanout(fleet, fleet.centre.delta("ops", 1, 2, 500, seed=5), "ops", 2, UNITS, 60),
        lambda: fanout(fleet, fleet.centre.snapshot("national", 2, 20_000, seed=6),
                       "national", 2, UNITS, 60),
        fleet.statuses,
        lambda: scenarios.stall(fleet, 3.0, 60),
        lambda: scenarios.reconciliation(fleet, 60),
    ])  # fmt: skip
    assert steady["hit_latency_store_to_centre_ms"]["n"] >= 1
    assert 0 < steady["hit_latency_store_to_centre_ms"]["p50"] < 5000
    assert steady["connections_measured"] == 3
    # 4 reads/s of ~4.5 KB each: tens of MB a day, not kilobytes and not gigabytes
    assert 20e6 < steady["uplink_bytes_per_unit_per_day"] < 1e10
    assert steady["broker_cpu_percent"] >= 0 and steady["broker_rss_mb"] > 0
    for fan in (delta, snapshot):
        assert fan["complete"] and fan["applied_by"] == 3, fan
        assert fan["broker_bytes_sent"] >= 3 * fan["bundle_bytes"], fan
        assert fan["units_bytes_received_until_all_received"] >= 3 * fan["bundle_bytes"], fan
        for name in ("received", "spooled", "apply_queued", "apply", "own"):
            assert fan[f"{name}_s"]["n"] == 3, (name, fan)
        # a unit's own figure is its spooling plus its apply, without the slot's queue
        assert fan["own_s"]["max"] <= fan["applied_s"]["max"] + 0.25, fan
    applies = sorted(
        (a["started"], a["finished"])
        for s in statuses
        for a in s["applies"]
        if a["list"] == "national" and a["version"] == 2
    )
    assert len(applies) == 3, "every unit applied the snapshot once"
    for (_, finished), (started, _) in itertools.pairwise(applies):
        assert started >= finished, "one slot: no two applies at once, across processes"
    assert stall["catch_up_s"] is not None and stall["ingest_rows_per_s"] > 0
    assert stall["hit_latency_store_to_centre_ms"] is None or \
        stall["hit_latency_store_to_centre_ms"]["max"] > 1000  # fmt: skip
    assert final["reads_produced"] > 50 and final["reads_lost"] == 0
    assert final["hits_produced"] > 0 and final["hits_lost"] == 0
    assert final["units_mismatched"] == [] and final["refused"] == 0
    assert min(final["per_consumer_received"]) > 0, "both consumers took a share"


def test_broker_restart_with_backlogs_loses_nothing_with_a_plain_subscription(tmp_path) -> None:
    fleet = Fleet(tmp_path, FleetOptions(units=3, workers=1, rate=4.0, hit_share=0.2,
                                         consumers=1, share=False, snapshot_units=0,
                                         pg_fsync=False))  # fmt: skip

    def outage():
        fleet.set_rate(4.0)
        return scenarios.outage(fleet, 4.0, 60)

    result, final = run(fleet, [outage, lambda: scenarios.reconciliation(fleet, 60)])
    assert result["owed_when_broker_returned"] > 0, "the units held backlogs"
    assert result["all_reconnected_s"] is not None and result["all_drained_s"] is not None
    assert final["reads_lost"] == 0 and final["hits_lost"] == 0
    assert final["reads_stored"] == final["reads_produced"] > 0
    assert final["units_mismatched"] == [] and final["unit_errors"] == 0


def test_broker_restart_loses_nothing_when_shared_consumers_come_back_late(tmp_path) -> None:
    """Mosquitto 2.0 does not restore shared subscriptions over a restart: until the consumers
    subscribe again, the broker answers the units "no matching subscribers". Held here for 6 s
    after the restart, the consumers find every read still owed by the units and store it once."""
    fleet = Fleet(tmp_path, FleetOptions(units=3, workers=1, rate=4.0, hit_share=0.2,
                                         snapshot_units=0, pg_fsync=False))  # fmt: skip

    def outage():
        fleet.set_rate(4.0)
        return scenarios.outage(fleet, 3.0, 90, consumers_late_s=6.0)

    result, final = run(fleet, [outage, lambda: scenarios.reconciliation(fleet, 60)])
    assert result["owed_when_broker_returned"] > 0, "the units held backlogs"
    assert result["all_drained_s"] is not None and result["all_drained_s"] >= 6.0
    assert final["reads_lost"] == 0 and final["hits_lost"] == 0, final
    assert final["reads_stored"] == final["reads_produced"] > 0
    assert final["units_mismatched"] == [] and final["unit_errors"] == 0
