"""`make soak`: the real unit (`anpr-edge run`) on the synthetic road for a long while, watched
from outside for leaks. Not part of CI.

Every SOAK_SAMPLE_S (10 s) it samples the unit's process: resident memory (VmRSS) and its peak
so far (VmHWM), open file descriptors (/proc/PID/fd) and threads, with the unit's own figures
from its status file (frames, reads, hits, delivered, backlog, store size). The peak from start
to stop is the unit's own VmHWM as its --json summary gives it after the stop (the start, with
models, hotlists and the first frames, is in it: the samples begin once the unit runs). After
SOAK_MINUTES (60) it stops the unit with SIGTERM and writes, under var/soak/:

- `soak-STAMP.csv`: one row per sample;
- `soak-STAMP.json`: for each of memory, fds and threads the first, last, min and max, the
  growth after the warm-up (the median of the last three samples less the median of the first
  three after it; for memory also in % of the latter) and the least-squares slope per hour
  after the warm-up; the peak (`peak_rss_mb`); the unit's summary; the verdict;
- `run-STAMP/`: the run's config, store, status file and log.

Exit status: 0 when after the warm-up (SOAK_WARMUP_MINUTES, default a fifth of the run, at
most 10) memory grew at most SOAK_MAX_RSS_GROWTH_MB (25) and SOAK_MAX_RSS_GROWTH_PCT (5) %,
file descriptors at most SOAK_MAX_FD_GROWTH (8), threads at most SOAK_MAX_THREAD_GROWTH (2), the
peak stayed within SOAK_MAX_PEAK_RSS_MB (300), and the unit ran and stopped cleanly; 1
otherwise; 2 for a bad setting. SOAK_SOURCE sets the frame source (default
`synthetic:look=mixed,rate=40`: day and IR, a busy road). A local Mosquitto is started on a free
port (the unit delivers as it would to the centre); without one installed the unit buffers
everything in its outbox, which the figures then include.

    SOAK_MINUTES=5 make soak
"""

from __future__ import annotations

import csv
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edge.config import load_config
from edge.devtools.demo import prepare_demo_hotlist
from edge.devtools.localbroker import LocalBroker
from edge.devtools.processes import find_mosquitto

REPO = Path(__file__).resolve().parents[1]

METRICS = ("rss_mb", "fds", "threads")
UNIT_FIGURES = ("frames", "reads", "hits", "delivered_reads", "backlog_reads", "store_mb")
COLUMNS = ("t_s", *METRICS, "hwm_mb", *UNIT_FIGURES)
UNIT_SUMMARY = ("exit_code", "seconds", "frames", "fps", "reads", "hits", "delivered", "backlog",
                "errors", "rss_mb", "peak_rss_mb")  # fmt: skip
STOP_TIMEOUT_S = 120.0


def setting(name: str, default: float) -> float:
    raw = os.environ.get(name, "")
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SystemExit(f"soak: {name}={raw!r} is not a number") from None
    if value < 0:
        raise SystemExit(f"soak: {name} must not be negative")
    return value


def write_config(folder: Path, port: int) -> Path:
    path = folder / "unit.toml"
    path.write_text(
        '[unit]\nid = "soak-unit"\ncamera_id = "cam1"\nlocation = { lat = 51.5, lon = -0.1 }\n'
        '[camera]\nsource = "synthetic"\nfps = 15.0\nseed = 1\nlook = "mixed"\n'
        "[recognition]\nhit_min_frames = 3\n"
        f'[hotlist]\nlists = ["demo"]\ntrusted_keys = ["{folder}/keys/centre-a.pub", '
        f'"{folder}/keys/centre-b.pub"]\n'
        f'[mqtt]\nhost = "127.0.0.1"\nport = {port}\ntls = {{ enabled = false }}\n'
        f'[storage]\npath = "{folder}/state/anpr.db"\nquota_mb = 256\n'
        f'[health]\ninterval_s = 10.0\nstatus_file = "{folder}/run/status.json"\n'
        '[logging]\nlevel = "INFO"\nformat = "json"\n'
    )
    prepare_demo_hotlist(load_config(path), str(path))
    return path


def proc_sample(pid: int) -> dict[str, float]:
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return {
        "rss_mb": round(int(fields["VmRSS"].split()[0]) / 1024, 1),
        "hwm_mb": round(int(fields["VmHWM"].split()[0]) / 1024, 1),
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
        "threads": int(fields["Threads"]),
    }


def unit_figures(status_file: Path) -> dict[str, float | None]:
    try:
        status = json.loads(status_file.read_text())
    except (OSError, ValueError):
        return dict.fromkeys(UNIT_FIGURES)
    return {
        "frames": status.get("frames"),
        "reads": status.get("reads"),
        "hits": status.get("hits"),
        "delivered_reads": (status.get("delivered") or {}).get("reads"),
        "backlog_reads": (status.get("backlog") or {}).get("reads"),
        "store_mb": status.get("store_mb"),
    }


def unit_state(status_file: Path) -> str | None:
    try:
        return json.loads(status_file.read_text()).get("state")
    except (OSError, ValueError):
        return None


def slope_per_hour(points: list[tuple[float, float]]) -> float | None:
    if len(points) < 2:
        return None
    times = [t for t, _ in points]
    values = [v for _, v in points]
    mean_t, mean_v = statistics.fmean(times), statistics.fmean(values)
    spread = sum((t - mean_t) ** 2 for t in times)
    if spread == 0:
        return None
    slope = sum((t - mean_t) * (v - mean_v) for t, v in points) / spread
    return round(slope * 3600.0, 3)


def summarise(samples: list[dict], warmup_s: float) -> dict[str, Any]:
    after = [s for s in samples if s["t_s"] >= warmup_s]
    result: dict = {"rss_growth_after_warmup_pct": None}
    for metric in METRICS:
        values = [s[metric] for s in samples]
        late = [s[metric] for s in after]
        growth = None
        if len(late) >= 2:
            head, tail = late[:3], late[-3:]
            growth = round(statistics.median(tail) - statistics.median(head), 2)
        if metric == "rss_mb" and growth is not None and late:
            base = statistics.median(late[:3])
            result["rss_growth_after_warmup_pct"] = round(100.0 * growth / base, 2)
        result[metric] = {
            "first": values[0] if values else None,
            "last": values[-1] if values else None,
            "min": min(values) if values else None,
            "max": max(values) if values else None,
            "after_warmup_first": late[0] if late else None,
            "growth_after_warmup": growth,
            "slope_per_hour_after_warmup": slope_per_hour([(s["t_s"], s[metric]) for s in after]),
        }
    return result


def main() -> int:
    minutes = setting("SOAK_MINUTES", 60.0)
    if minutes <= 0:
        raise SystemExit("soak: SOAK_MINUTES must be more than 0")
    sample_s = setting("SOAK_SAMPLE_S", 10.0) or 10.0
    warmup_s = 60.0 * setting("SOAK_WARMUP_MINUTES", min(10.0, minutes / 5))
    limits = {
        "rss_mb": setting("SOAK_MAX_RSS_GROWTH_MB", 25.0),
        "fds": setting("SOAK_MAX_FD_GROWTH", 8.0),
        "threads": setting("SOAK_MAX_THREAD_GROWTH", 2.0),
    }
    max_growth_pct = setting("SOAK_MAX_RSS_GROWTH_PCT", 5.0)
    max_peak_mb = setting("SOAK_MAX_PEAK_RSS_MB", 300.0)
    source = os.environ.get("SOAK_SOURCE", "synthetic:look=mixed,rate=40")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = REPO / "var" / "soak"
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    (REPO / "var").chmod(0o700)  # the store holds personal data (plates, times)
    folder = out / f"run-{stamp}"
    folder.mkdir(mode=0o700)
    samples: list[dict] = []
    failures: list[str] = []
    unit_summary: dict = {}
    with ExitStack() as stack:
        binary = find_mosquitto()
        port = 1  # nothing listens there: the unit buffers, and says so
        if binary:
            port = stack.enter_context(LocalBroker(binary)).port
        else:
            print("soak: mosquitto is not installed; the unit will buffer everything")
        config = write_config(folder, port)
        log = stack.enter_context((folder / "unit.log").open("wb"))
        summary_out = stack.enter_context((folder / "summary.out").open("wb"))
        unit = subprocess.Popen(
            [sys.executable, "-m", "edge", "run", "--config", str(config), "--source", source,
             "--json"],
            stdout=summary_out,
            stderr=log,
            cwd=REPO,
        )  # fmt: skip
        print(
            f"soak: unit pid {unit.pid} on {source} for {minutes:g} min, sampling every "
            f"{sample_s:g} s (warm-up {warmup_s / 60:g} min); state in {folder}"
        )
        interrupted = False
        try:
            # the clock starts when the unit runs (models and hotlists loaded, frames flowing)
            ready_by = time.monotonic() + STOP_TIMEOUT_S
            while unit_state(folder / "run" / "status.json") != "running":
                if unit.poll() is not None or time.monotonic() > ready_by:
                    failures.append("the unit did not start running")
                    break
                time.sleep(0.5)
            started = next_at = time.monotonic()
            while not failures and time.monotonic() - started < minutes * 60.0:
                if unit.poll() is not None:
                    failures.append(f"the unit exited early with status {unit.returncode}")
                    break
                row: dict[str, Any] = {"t_s": round(time.monotonic() - started, 1)}
                try:
                    row.update(proc_sample(unit.pid))
                except (OSError, KeyError, ValueError):
                    row = {}  # exiting: the next poll() says so
                if row:
                    row.update(unit_figures(folder / "run" / "status.json"))
                    samples.append(row)
                    print(
                        f"  {row['t_s'] / 60:6.1f} min  rss {row['rss_mb']:6.1f} MB  peak "
                        f"{row['hwm_mb']:6.1f} MB  fds "
                        f"{row['fds']:3d}  threads {row['threads']:3d}  frames {row['frames']}  "
                        f"reads {row['reads']}",
                        flush=True,
                    )
                next_at += sample_s
                time.sleep(max(0.0, next_at - time.monotonic()))
        except KeyboardInterrupt:
            interrupted = True
            failures.append("interrupted before the end")
        if unit.poll() is None:
            unit.send_signal(signal.SIGTERM)
            try:
                unit.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                unit.kill()
                unit.wait()
                failures.append(f"the unit did not stop within {STOP_TIMEOUT_S:.0f} s of SIGTERM")
        if unit.returncode not in (0, None) and not interrupted:
            failures.append(f"the unit exited with status {unit.returncode}")
    try:
        unit_summary = json.loads((folder / "summary.out").read_text() or "{}")
    except ValueError:
        failures.append("the unit's --json summary is unreadable")
    figures = summarise(samples, warmup_s)
    for metric, limit in limits.items():
        growth = figures[metric]["growth_after_warmup"]
        if growth is not None and growth > limit:
            failures.append(f"{metric} grew {growth:g} after the warm-up (limit {limit:g})")
    growth_pct = figures["rss_growth_after_warmup_pct"]
    if growth_pct is not None and growth_pct > max_growth_pct:
        failures.append(
            f"memory grew {growth_pct:g} % after the warm-up (limit {max_growth_pct:g})"
        )
    # the unit's own VmHWM after its stop; the last sample's when the summary is missing
    peak = unit_summary.get("peak_rss_mb") or max((s["hwm_mb"] for s in samples), default=None)
    if peak is not None and peak > max_peak_mb:
        failures.append(f"peak resident memory {peak:g} MB (limit {max_peak_mb:g})")
    if not [s for s in samples if s["t_s"] >= warmup_s]:
        failures.append("no sample after the warm-up: run longer than SOAK_WARMUP_MINUTES")
    with (out / f"soak-{stamp}.csv").open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(samples)
    report = {
        "started_at": stamp,
        "minutes": minutes,
        "source": source,
        "sample_s": sample_s,
        "samples": len(samples),
        "warmup_s": warmup_s,
        "limits_after_warmup": {**limits, "rss_pct": max_growth_pct},
        "peak_rss_mb": peak,
        "limit_peak_rss_mb": max_peak_mb,
        **figures,
        "unit": {key: unit_summary.get(key) for key in UNIT_SUMMARY},
        "run_folder": str(folder),
        "passed": not failures,
        "failures": failures,
    }
    (out / f"soak-{stamp}.json").write_text(json.dumps(report, indent=2) + "\n")
    for metric in METRICS:
        f = figures[metric]
        print(
            f"soak: {metric}: first {f['first']}, last {f['last']}, max {f['max']}; after the "
            f"warm-up grew {f['growth_after_warmup']} (slope {f['slope_per_hour_after_warmup']}"
            " per hour)"
        )
    print(
        f"soak: memory after the warm-up grew {growth_pct} %; peak {peak} MB resident from start "
        "to stop"
    )
    print(f"soak: {out / f'soak-{stamp}.json'} and .csv")
    for failure in failures:
        print(f"soak: FAILED: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
