"""A process holding many simulated units, driven by the orchestrator over a pipe.

Commands (tuples) and their answers: ("rate", reads_per_s, hit_share) → "ok";
("status", full) → one dict per unit (edge.devtools.fleet.unit.SimUnit.status, plus when each
hotlist version was first held, wall-clock seconds, and with `full` the publisher's hit
latencies, store to PUBACK, ms); ("stop",) → the final statuses, then the process ends. Every
unit's reads arrive as a Poisson stream at `reads_per_s`, of which `hit_share` are hits.
"""

from __future__ import annotations

import logging
import resource
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .feed import Feed
from .unit import SimUnit, Slots, UnitSpec

TICK_S = 0.05
WATCH_S = 0.02


def worker_main(
    specs: list[UnitSpec], seed: int, pipe, log_path: str, slots: Slots | None = None
) -> None:
    logging.basicConfig(
        filename=log_path,
        level=logging.WARNING,
        format="%(asctime)s %(threadName)s %(levelname)s %(name)s %(message)s",
    )
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    units = [SimUnit(spec, slots) for spec in specs]
    for unit in units:
        unit.start()
    held: dict[str, dict[str, dict[int, float]]] = {u.spec.unit_id: {} for u in units}
    rate = {"reads_per_s": 0.0, "hit_share": 0.0}
    done = threading.Event()

    def feed_loop() -> None:
        rng = np.random.default_rng(seed)
        feed = Feed(seed)
        last = time.monotonic()
        while not done.wait(TICK_S):
            now = time.monotonic()
            expected = rate["reads_per_s"] * (now - last)
            last = now
            if expected <= 0:
                continue
            for unit, count in zip(units, rng.poisson(expected, len(units)), strict=True):
                for _ in range(count):
                    unit.produce(feed, bool(rng.random() < rate["hit_share"]))

    def watch_loop() -> None:
        while not done.wait(WATCH_S):
            now = time.time()
            for unit in units:
                seen = held[unit.spec.unit_id]
                for list_id, version in unit.holder.versions().items():
                    seen.setdefault(list_id, {}).setdefault(version, now)

    def statuses(full: bool = True) -> list[dict]:
        return [
            {**u.status(), "held_at": held[u.spec.unit_id],
             "hit_latency_ms": list(u.publisher.hit_latency_ms) if full else []}
            for u in units
        ]  # fmt: skip

    threads = [threading.Thread(target=f, daemon=True) for f in (feed_loop, watch_loop)]
    for thread in threads:
        thread.start()
    try:
        while True:
            if not pipe.poll(1.0):
                continue
            command = pipe.recv()
            if command[0] == "rate":
                rate["reads_per_s"], rate["hit_share"] = command[1], command[2]
                pipe.send("ok")
            elif command[0] == "status":
                pipe.send(statuses(full=command[1]))
            elif command[0] == "stop":
                rate["reads_per_s"] = 0.0
                done.set()
                for thread in threads:
                    thread.join(5.0)
                with ThreadPoolExecutor(max_workers=16) as pool:
                    list(pool.map(lambda u: u.stop(), units))
                pipe.send(statuses())
                return
    except (EOFError, KeyboardInterrupt):
        return
