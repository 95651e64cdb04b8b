"""`python -m edge.devtools.fleet` (`make fleet`): run the fleet simulation and its scenarios;
prints the figures, then the same as JSON (also written to --out). docs/fleet.md explains
them."""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import scenarios
from .fanout import fanout
from .fleet import Fleet, FleetOptions


def machine() -> dict:
    others = subprocess.run(["pgrep", "-af", "training\\."], capture_output=True, text=True,
                            timeout=10).stdout.strip().splitlines()  # fmt: skip
    mem = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    return {
        "cpus": os.cpu_count(), "cpu": platform.processor() or platform.machine(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "mem_available_mb": int(mem["MemAvailable"].split()[0]) // 1024,
        "training_processes": len(others), "python": platform.python_version(),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edge.devtools.fleet", description=__doc__)
    add = parser.add_argument
    add("--units", type=int, default=200)
    add("--workers", type=int, default=4, help="processes holding the units")
    add("--rate", type=float, default=1.0, help="reads per second per unit")
    add("--hit-share", type=float, default=0.01)
    add("--steady-s", type=float, default=120.0)
    add("--delta-entries", type=int, default=10_000)
    add("--snapshot-entries", type=int, default=1_000_000)
    add("--snapshot-units", type=int, help="units that take the large list (default: all)")
    add("--apply-slots", type=int, default=os.cpu_count() or 1,
        help="hotlist applies running at once over all units (default: one per CPU; 0: no "
             "bound); a real unit applies on its own CPU")  # fmt: skip
    add("--stall-s", type=float, default=60.0)
    add("--outage-s", type=float, default=60.0)
    add("--consumers-late-s", type=float, default=0.0,
        help="outage: the consumers held over the broker restart and this long after "
             "it (units meet a broker without shared subscriptions: none may be lost)")  # fmt: skip
    add("--consumers", type=int, default=2)
    add("--no-share", action="store_true", help="one consumer, a plain subscription")
    add("--timeout-s", type=float, default=900.0, help="for each wait")
    add(
        "--only",
        default="steady,delta,snapshot,stall,outage,reconciliation,storm,after_storm",
        help="the scenarios to run, comma-separated, in their fixed order",
    )
    add("--workdir", type=Path)
    add("--out", type=Path)
    args = parser.parse_args(argv)
    options = FleetOptions(units=args.units, workers=args.workers, rate=args.rate,
                           hit_share=args.hit_share,
                           consumers=1 if args.no_share else args.consumers,
                           share=not args.no_share,
                           snapshot_units=args.units if args.snapshot_units is None
                           else min(args.snapshot_units, args.units),
                           apply_slots=max(args.apply_slots, 0))  # fmt: skip
    report: dict = {"options": vars(args) | {"workdir": None, "out": None},
                    "machine_start": machine()}  # fmt: skip
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="anpr-fleet-", dir=args.workdir) as folder:
        fleet = Fleet(Path(folder), options)
        try:
            report["ready_s"] = fleet.start({"ops": 100, "national": 1000}, args.timeout_s)
            say("ready", report["ready_s"])
            fleet.set_rate(options.rate)
            only = set(args.only.split(","))
            for name, run in steps(fleet, args, options):
                if name in only:
                    report[name] = say(name, run())
        finally:
            report["machine_end"] = machine()
            fleet.stop()
    report["seconds"] = round(time.monotonic() - started, 1)
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    checks = [report[k] for k in ("reconciliation", "after_storm") if k in report]
    return 0 if all(c["reads_lost"] == 0 and c["hits_lost"] == 0 for c in checks) else 1


def steps(fleet: Fleet, args, options: FleetOptions) -> list:
    units = [f"sim-{i + 1:04d}" for i in range(args.units)]
    wait = args.timeout_s

    def delta():
        bundle = fleet.centre.delta("ops", 1, 2, args.delta_entries, seed=5)
        return fanout(fleet, bundle, "ops", 2, units, wait)

    def snapshot():
        bundle = fleet.centre.snapshot("national", 2, args.snapshot_entries, seed=6)
        return fanout(fleet, bundle, "national", 2, units[: options.snapshot_units], wait)

    return [
        ("steady", lambda: scenarios.steady(fleet, args.steady_s)),
        ("delta", delta),
        *([("snapshot", snapshot)] if options.snapshot_units else []),
        ("stall", lambda: scenarios.stall(fleet, args.stall_s, wait)),
        ("outage", lambda: scenarios.outage(fleet, args.outage_s, wait, args.consumers_late_s)),
        ("reconciliation", lambda: scenarios.reconciliation(fleet, wait)),
        ("storm", lambda: scenarios.storm(fleet, wait)),
        ("after_storm", lambda: scenarios.reconciliation(fleet, wait)),
    ]


def say(name: str, figures):
    print(f"{name}: {json.dumps(figures)}", file=sys.stderr, flush=True)
    return figures


if __name__ == "__main__":
    raise SystemExit(main())
