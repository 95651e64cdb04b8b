"""What the unit says about its run: the live status line and the summary at the end."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np

from edge.stages import Counters
from edge.unit.memory import peak_rss_mb, rss_mb
from edge.uplink.publisher import Publisher


def status_text(counters: Counters, publisher: Publisher, elapsed: float) -> str:
    link = "broker up" if publisher.status()["connected"] else "broker DOWN, buffering"
    waiting = counters.stored - counters.delivered_reads - counters.delivered_hits
    return (
        f"{timedelta(seconds=int(elapsed))}  {counters.frames / max(elapsed, 1e-6):5.1f} fps  "
        f"reads {counters.reads}  hits {counters.hits}  to send {max(waiting, 0)}  {link}"
    )


def run_summary(
    counters: Counters, publisher: Publisher, final: dict, elapsed: float, crashed: bool
) -> dict[str, Any]:
    source = final.get("source") or {}
    unreadable = int(source.get("unreadable") or 0)
    # a folder of pictures none of which could be read: the run did nothing, and says so
    nothing_read = unreadable > 0 and counters.frames == 0
    sync = final.get("hotlist_sync") or {}
    return {
        "exit_code": 1 if crashed or nothing_read else 0,
        "seconds": round(elapsed, 2),
        "frames": counters.frames,
        "frames_dropped": counters.frames_dropped,
        "fps": round(counters.frames / elapsed, 2) if elapsed > 0 else 0.0,
        "pipeline_fps": round(counters.frames / counters.busy_s, 2) if counters.busy_s else None,
        "motion_ratio": final["motion_ratio"],
        "reads": counters.reads,
        "hits": counters.hits,
        "delivered": {"reads": counters.delivered_reads, "hits": counters.delivered_hits},
        "backlog": final["backlog"],
        "store": final.get("store"),
        "hit_latency_ms": percentiles(list(publisher.hit_latency_ms)),
        "hit_decision_to_puback_ms": percentiles(list(publisher.hit_decision_ms)),
        "errors": counters.errors,
        "unreadable_images": unreadable,
        "hotlist_sync": {
            "applied": sync.get("applied", 0),
            "rejected": dict(sync.get("rejected") or {}),
            "errors": sync.get("errors", 0),
        },
        "rss_mb": rss_mb(),
        "peak_rss_mb": peak_rss_mb(),  # VmHWM: this process only (edge.unit.memory)
    }


def percentiles(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {
        "median": round(float(np.median(values)), 1),
        "p99": round(float(np.percentile(values, 99)), 1),
        "n": len(values),
    }
