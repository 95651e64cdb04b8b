"""`anpr-edge bench live`: the pipeline's fps with the live page off, open and watched, as a
real process (its own CPU), in a tiny run; the figures' meaning is checked, not their size
(the machine running the tests is shared)."""

from __future__ import annotations

import json

from tests.support.cli import DEMO_ENV, anpr


def test_bench_live_measures_off_open_and_watched():
    result = anpr(
        "bench", "live", "--frames", "30", "--rounds", "1", "--json",
        env=DEMO_ENV, process=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout)
    live = figures["live_page"]
    assert set(live["pipeline_fps"]) == {"off", "open", "watched"}
    assert all(fps > 0 for fps in live["pipeline_fps"].values())
    assert live["held_while_unwatched"] == 0  # nothing done for a page nobody looks at
    assert live["rendered"] > 0 and live["page_fps"] > 0  # the watching client got frames
    assert live["frames_per_state"] == 30 and live["max_fps"] == 6.0
    assert -1 < live["cost_watched"] < 1 and figures["machine"]["cores"] >= 1
