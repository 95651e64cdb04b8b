"""The running fleet: the centre (edge.devtools.fleet.centre) and the worker processes that
hold the simulated units, with what the scenarios need to drive and observe them."""

from __future__ import annotations

import contextlib
import multiprocessing
import time
from dataclasses import dataclass, field
from pathlib import Path

from .centre import Centre, wait_for
from .unit import UnitSpec
from .worker import worker_main

PIPE_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class FleetOptions:
    units: int = 200
    workers: int = 4
    rate: float = 1.0  # reads per second per unit
    hit_share: float = 0.01
    consumers: int = 2
    share: bool = True  # the consumers' subscriptions: shared, or one process not shared
    snapshot_units: int = 200  # units that also hold the large list (its index: ~21 MB at 1 M)
    apply_slots: int = 0  # hotlist applies at once over all units (0: no bound); unit.py
    seed: int = 1
    pg_fsync: bool = True
    lists: tuple[str, ...] = field(default=("ops", "national"))


class Fleet:
    def __init__(self, folder: Path, options: FleetOptions):
        self.folder, self.options = folder, options
        self.centre = Centre(
            folder / "centre", options.consumers, pg_fsync=options.pg_fsync, share=options.share
        )
        self.pipes: list = []
        self.processes: list = []
        self.idle_broker_rss_mb = 0.0

    def specs(self) -> list[UnitSpec]:
        opts, specs = self.options, []
        for i in range(opts.units):
            unit_id = f"sim-{i + 1:04d}"
            identity = self.centre.unit_identity(unit_id)
            lists = opts.lists if i < opts.snapshot_units else opts.lists[:1]
            specs.append(UnitSpec(
                unit_id, self.folder / "units" / unit_id, self.centre.broker.host,
                self.centre.broker.port, self.centre.ca.cert_path, identity.cert,
                identity.key, self.centre.trusted, lists,
                (51.0 + i / 1000, -1.0 - i / 1000),
            ))  # fmt: skip
        return specs

    def start(self, initial: dict[str, int], timeout_s: float = 600.0) -> float:
        """Start the centre, publish each list's retained snapshot v1 of `initial[list]`
        entries, then the units; seconds until every unit is connected and holds v1."""
        self.centre.start()
        for list_id, entries in initial.items():
            self.centre.publish(self.centre.snapshot(list_id, 1, entries, self.options.seed))
        time.sleep(1.0)
        self.idle_broker_rss_mb = self.centre.broker.rss_mb()
        specs = self.specs()
        context = multiprocessing.get_context("spawn")
        slots = context.Semaphore(self.options.apply_slots) if self.options.apply_slots else None
        for w in range(self.options.workers):
            part = specs[w :: self.options.workers]  # round robin: the large list's units too
            if not part:
                continue
            ours, theirs = context.Pipe()
            log = str(self.folder / f"worker-{w}.log")
            seed = self.options.seed * 1000 + w
            process = context.Process(
                target=worker_main, args=(part, seed, theirs, log, slots), daemon=True
            )
            process.start()
            self.pipes.append(ours)
            self.processes.append(process)
        return wait_for(lambda: self.ready(specs), timeout_s, 0.5) or -1.0

    def ready(self, specs: list[UnitSpec]) -> bool:
        statuses = self.statuses()
        if len(statuses) < len(specs):
            return False
        want = {s.unit_id: s.lists for s in specs}
        return all(
            s["connected"] and all(s["versions"].get(lst, 0) >= 1 for lst in want[s["unit"]])
            for s in statuses
        )

    def _ask(self, pipe, command: tuple):
        pipe.send(command)
        if not pipe.poll(PIPE_TIMEOUT_S):
            raise TimeoutError(f"a worker did not answer {command[0]!r}")
        return pipe.recv()

    def statuses(self, full: bool = False) -> list[dict]:
        out: list[dict] = []
        for pipe in self.pipes:
            out.extend(self._ask(pipe, ("status", full)))
        return out

    def worker_pids(self) -> set[int]:
        return {p.pid for p in self.processes}

    def process_groups(self) -> dict[str, set[int]]:
        """The simulation's own processes by role, for their CPU and memory."""
        from edge.devtools.procstat import children

        centre = self.centre
        return {
            "units (simulation workers)": self.worker_pids(),
            "consumers": {p.pid for p in centre.consumers},
            "postgresql": children(centre.pg.process.pid) if centre.pg.process else set(),
        }

    def set_rate(self, reads_per_s: float, hit_share: float | None = None) -> None:
        share = self.options.hit_share if hit_share is None else hit_share
        for pipe in self.pipes:
            self._ask(pipe, ("rate", reads_per_s, share))

    def totals(self) -> dict[str, int]:
        statuses = self.statuses()
        return {
            "produced_reads": sum(s["produced"]["reads"] for s in statuses),
            "produced_hits": sum(s["produced"]["hits"] for s in statuses),
            "delivered_reads": sum(s["delivered"]["reads"] for s in statuses),
            "delivered_hits": sum(s["delivered"]["hits"] for s in statuses),
            "owed": sum(s["owed"] for s in statuses),
            "connected": sum(1 for s in statuses if s["connected"]),
            "errors": sum(s["errors"] for s in statuses),
        }

    def stop(self) -> list[dict]:
        final: list[dict] = []
        for pipe in self.pipes:
            with contextlib.suppress(TimeoutError, EOFError, OSError):
                final.extend(self._ask(pipe, ("stop",)))
        for process in self.processes:
            process.join(60)
            if process.is_alive():
                process.kill()
        self.centre.stop()
        return final
