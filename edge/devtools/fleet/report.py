"""`python -m edge.devtools.fleet.report FLEET.json`: the figures of a fleet run as the Markdown
table docs/fleet.md shows."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _p(d: dict | None, unit: str = "ms") -> str:
    if not d:
        return "none in the window"
    return f"p50 {d['p50']:,} {unit}, p99 {d['p99']:,} {unit}, max {d['max']:,} {unit} ({d['n']})"


def rows(r: dict) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    st = r.get("steady")
    if st:
        n = st["units"]
        out += [
            ("units on one Mosquitto", f"{n} ({st['reads_per_s_per_unit']} read/s each, "
                                        f"{st['hit_share']:.0%} hits, {st['seconds']} s)"),
            ("hit latency, unit store → centre (PostgreSQL)",
             _p(st["hit_latency_store_to_centre_ms"])),
            ("hit latency, unit store → PUBACK", _p(st["hit_latency_store_to_puback_ms"])),
            ("broker CPU", f"{st['broker_cpu_percent']} % of one core; "
                           f"{st['broker_cpu_percent_per_unit']} % per unit"),
            ("broker memory", f"{st['broker_rss_mb']} MB resident ({st['broker_rss_idle_mb']} MB "
                              f"before any unit): {st['broker_rss_kb_per_unit']} KB per unit"),
            ("uplink per unit", f"{st['uplink_bytes_per_unit_per_day'] / 1e6:,.0f} MB a day "
                                f"({st['uplink_bytes_per_message']:,} bytes a message); "
                                f"downlink {st['downlink_bytes_per_unit_per_day'] / 1e6:,.1f} MB"),
            ("centre ingest (steady)", f"{st['centre_rows_per_s']} rows/s"),
            ("simulation's own processes", "; ".join(
                f"{k}: {v['cpu_percent']} % CPU, {v['rss_mb']:,} MB"
                for k, v in st["processes"].items())),
        ]  # fmt: skip
    for key, label in (("delta", "delta fan-out"), ("snapshot", "snapshot fan-out")):
        f = r.get(key)
        if f:
            out.append((
                f"{label}: {f['kind']} {f['list']} v{f['version']}, {f['bundle_bytes']:,} bytes",
                f"received by every unit {_p(f.get('received_s'), 's')}; applied by "
                f"{f['applied_by']}/{f['units']} {_p(f['applied_s'], 's')} after the publish "
                f"({f.get('apply_slots') or 'no bound on'} apply slots); each unit's own "
                f"(spooled + its apply) {_p(f.get('own_s'), 's')}; "
                f"broker sent {f['broker_bytes_sent'] / 1e6:,.1f} MB",
            ))  # fmt: skip
    sl = r.get("stall")
    if sl:
        out.append(
            (
                "consumers stalled",
                (
                    f"{sl['stalled_s']} s: {sl['queued_at_broker']:,} messages queued at the "
                    f"broker (+{sl['broker_rss_growth_mb']} MB), units still owed "
                    f"{sl['units_owed_at_resume']}; "
                    f"caught up in {sl['catch_up_s']} s at **{sl['ingest_rows_per_s']:,} rows/s**; "
                    f"hits meanwhile at the centre {_p(sl['hit_latency_store_to_centre_ms'])}"
                ),
            )
        )
    ou = r.get("outage")
    if ou:
        out.append(
            (
                "broker restart with backlogs",
                (
                    f"down {ou['outage_s']} s, {ou['owed_when_broker_returned']:,} messages owed "
                    f"by the units; all reconnected in {ou['all_reconnected_s']} s, all drained in "
                    f"{ou['all_drained_s']} s; broker CPU {ou['broker_cpu_percent_during_drain']} %"
                ),
            )
        )
    _counted(out, r.get("reconciliation"), "at the centre after the restart")
    so = r.get("storm")
    if so:
        out.append(
            (
                "reconnect storm (broker restarted at once)",
                (
                    f"half the units back in {so['half_reconnected_s']} s, all {so['units']} in "
                    f"{so['all_reconnected_s']} s; broker CPU "
                    f"{so['broker_cpu_percent_while_reconnecting']} %; hits of the next 20 s "
                    f"{_p(so['hit_latency_store_to_centre_ms'])}"
                ),
            )
        )
    _counted(out, r.get("after_storm"), "at the centre after the storm")
    return out


def _counted(out: list, c: dict | None, label: str) -> None:
    if c:
        out.append(
            (
                label,
                (
                    f"reads produced {c['reads_produced']:,}, stored {c['reads_stored']:,} "
                    f"(lost {c['reads_lost']}); hits {c['hits_produced']:,} / {c['hits_stored']:,} "
                    f"(lost {c['hits_lost']}); redeliveries dropped {c['redeliveries_dropped']}; "
                    f"per consumer {c['per_consumer_received']}; the centre's last "
                    f"{c.get('centre_backlog_at_stop', 0):,} in {c.get('centre_drain_s')} s "
                    f"({c.get('centre_drain_rows_per_s')} rows/s)"
                ),
            )
        )


def main(argv: list[str] | None = None) -> int:
    report = json.loads(Path((argv or sys.argv[1:])[0]).read_text())
    print("| | |\n|---|---|")
    for name, value in rows(report):
        print(f"| {name} | {value} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
