"""`anpr-edge status`: what the running unit is doing, from the status file it writes every few
seconds (`health.status_file`; see `edge.unit.status` for how "running" is judged).

Exit 0 while the unit is starting, running or stopping; 1 when it is not running (no file,
stopped, its process gone, or the file no longer being written), or runs but cannot write the
file ("unwritable": a live `anpr-edge run` of this config found among the processes), saying
which in one line and then, if there is one, the last picture it left. Every time shown is
UTC, as stored; only "today" is the unit's local day, and says so.
"""

from __future__ import annotations

import argparse
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from edge.cli.common import (
    EXIT_FAILURE,
    EXIT_OK,
    add_command,
    print_json,
)
from edge.errors import RuntimeFailure
from edge.times import parse_rfc3339


def register(subparsers: argparse._SubParsersAction) -> None:
    add_command(subparsers, "status", status, with_config=True, with_json=True)


def status(args: argparse.Namespace) -> int:
    """what the running unit is doing: camera, reads today, broker, backlog, hotlists, disk,
    temperature, clock (exit 1 when it is not running)

    Example:
        anpr-edge status
        anpr-edge status --config /etc/anpr-edge/unit.toml --json
    """
    from edge.config import load_config
    from edge.config.loader import resolve_config_path
    from edge.unit.status import read_service_state

    config = load_config(args.config)
    state = read_service_state(
        Path(config.health.status_file),
        config.health.interval_s,
        time.time(),
        config_file=resolve_config_path(args.config),
    )
    if args.json:
        print_json(
            {
                "running": state.running,
                "state": state.state,
                "detail": state.detail,
                "status_file": str(state.path),
                "age_s": state.age_s,
                "pid": state.pid,
                "status": state.document,
            }
        )
    else:
        doc = state.document
        lines = None
        if doc is not None and "fps" in doc:  # the starting file holds no figures yet
            try:
                lines = figures(doc)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise RuntimeFailure(
                    f"the status file {state.path} is not one anpr-edge wrote: a field is "
                    f"missing or malformed ({type(exc).__name__}: {exc})"
                ) from None
        print(state.detail)
        if lines is not None and doc is not None:
            if not state.running:
                print(f"last known {_ago(doc['at'])}:")
            for name, value in lines:
                print(f"  {name:<10} {value}")
        elif doc is not None:
            print(f"  {'status':<10} written {doc['at']} {_ago(doc['at'])} to {state.path}")
    return EXIT_OK if state.running else EXIT_FAILURE


def figures(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """The status document as (name, text) lines for a person."""
    source, broker, backlog = doc.get("source", {}), doc.get("broker", {}), doc["backlog"]
    exposure = (
        f"exposure {source['exposure_us']} µs, gain {source.get('analogue_gain') or '?'}"
        if source.get("exposure_us") is not None
        else "exposure not reported by this source"
    )
    today = doc.get("today") or {}
    day = (
        f"today (since {today['since']}, {today['timezone']}): {today['reads']} reads, "
        f"{today['hits']} hits"
        if today
        else "today: not reported"
    )
    oldest = backlog.get("oldest_age_s")
    silent = sorted(name for name, alive in doc.get("stages", {}).items() if not alive)
    hotlists = ", ".join(f"{name} v{version}" for name, version in sorted(doc["hotlists"].items()))
    temperature = doc.get("cpu_temp_c")
    return [
        ("unit", f"{doc['unit_id']}, up {timedelta(seconds=int(doc['uptime_s']))}"),
        ("camera", f"{source.get('source', '?')}: {doc['fps']:.1f} fps; {exposure}"),
        ("", f"last frame {_when(doc.get('last_frame_at'))}"),
        ("reads", f"last read {_when(doc.get('last_read_at'))}"),
        ("", day),
        (
            "broker",
            ("connected" if broker.get("connected") else "NOT connected (buffering)")
            + ("" if broker.get("centre_listening", True) else ", NO SUBSCRIBER at the centre")
            + f"; {broker.get('in_flight', 0)} in flight; last delivery "
            + _when(doc.get("last_delivered_at")),
        ),
        (
            "outbox",
            f"{backlog['hits']} hit(s), {backlog['reads']} read(s) waiting"
            + ("" if oldest is None else f"; the oldest for {_duration(oldest)}"),
        ),
        ("hotlists", hotlists or "none held"),
        ("models", models_text(doc.get("model_updates"))),
        ("store", store_text(doc.get("store"))),
        ("disk", f"{_mb(doc.get('disk_free_mb'))} free; the store uses {doc['store_mb']} MB"),
        ("cpu", "temperature not reported" if temperature is None else f"{temperature} °C"),
        (
            "clock",
            "synchronised"
            if doc.get("clock_synced")
            else "NOT synchronised (read times may be wrong)",
        ),
        ("stages", "all working" if not silent else "SILENT: " + ", ".join(silent)),
        ("status", f"written {doc['at']} {_ago(doc['at'])}"),
    ]


def models_text(updates: dict[str, Any] | None) -> str:
    """Current, previous and pending model versions, a trial, and what was refused."""
    if not updates:
        return "not reported"

    def name(version: int | None) -> str:
        return "base" if version is None else f"v{version}"

    text = f"{name(updates['current'])} ({', '.join(updates['models'].values())})"
    trial = updates.get("trial")
    if trial:
        text += f", on trial for {_duration(trial['remaining_s'])} more"
    text += f"; previous {name(updates['previous'])}"
    if updates.get("pending") is not None:
        text += f"; pending v{updates['pending']}"
    rejected = updates.get("rejected") or {}
    if rejected:
        counts = ", ".join(f"{reason} {n}" for reason, n in sorted(rejected.items()))
        text += f"; refused or undone: {counts}"
    return text


def store_text(store: dict[str, Any] | None) -> str:
    """ "ok", or what keeps records from the store and how many wait in memory."""
    if not store:
        return "not reported"
    held = store.get("held") or {}
    text = store["state"].upper() if store["state"] != "ok" else "ok"
    if store.get("detail") and store["state"] != "ok":
        text += f" since {_when(store.get('since'))}: {store['detail']}"
    if held.get("hits") or held.get("reads"):
        text += f"; {held['hits']} hit(s) and {held['reads']} read(s) held in memory"
    if store.get("dropped_reads"):
        text += f"; {store['dropped_reads']} read(s) DROPPED"
    if store.get("replaced"):
        last = _when(store.get("replaced_at"))
        text += f"; the file was deleted or replaced {store['replaced']} time(s), last {last}"
    return text


def _when(moment: str | None) -> str:
    return "never" if moment is None else f"{moment} {_ago(moment)}"


def _ago(moment: str) -> str:
    at = parse_rfc3339(moment).timestamp()
    return f"({_duration(max(time.time() - at, 0.0))} ago)"


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _mb(value: float | None) -> str:
    return "?" if value is None else f"{value:,.0f} MB"
