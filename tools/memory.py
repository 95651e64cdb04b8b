"""`make memory`: the unit's peak resident memory, start to stop, on the demo configuration and
during `anpr-edge bench`; the figures issue 12 holds the unit to (≤ 300 MB each).

1. `anpr-edge run` on firmware_config/demo.toml for MEMORY_SECONDS (60), its state moved to a
   temporary folder and its broker to a local Mosquitto on a free port (as `make demo`, without
   touching ./var). Its VmRSS and VmHWM are read every 50 ms from outside, so a short spike at
   start is caught; the peak from start to stop is the unit's own VmHWM, read by the unit after
   its stop (the `peak_rss_mb` of its --json summary).
2. `anpr-edge bench --json` (MEMORY_BENCH_ARGS, default the command's defaults), watched the
   same way: the peak of the whole command and of its hit-latency run of the unit, which the
   command measures itself (`memory` in its JSON).

Printed, and written to var/memory/memory-STAMP.json. Exit status 1 when a peak is over
MEMORY_MAX_PEAK_MB (300) or a run failed. The time a figure was taken at and the load average
are in the JSON: on a shared machine other work changes the speed, hardly the memory.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEMO_CONFIG = REPO / "firmware_config" / "demo.toml"
SAMPLE_S = 0.05
START_S = 10.0  # what "at start" means: models, hotlists and the first frames


class Watcher:
    """VmRSS and VmHWM of a running process every SAMPLE_S, in a thread."""

    def __init__(self, pid: int):
        self.pid = pid
        self.samples: list[tuple[float, float, float]] = []  # (seconds since start, rss, hwm MB)
        self.started = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        status = Path(f"/proc/{self.pid}/status")
        while True:
            try:
                fields = dict(line.split(":", 1) for line in status.read_text().splitlines())
                rss, hwm = (int(fields[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM"))
            except (OSError, KeyError, ValueError):
                return  # the process is gone (or a zombie: no Vm lines)
            self.samples.append((time.monotonic() - self.started, rss, hwm))
            time.sleep(SAMPLE_S)

    def figures(self) -> dict:
        self._thread.join(5)
        if not self.samples:
            return {"samples": 0}
        start = [s for s in self.samples if s[0] <= START_S]
        return {
            "samples": len(self.samples),
            "peak_at_start_mb": round(max(s[2] for s in start), 1) if start else None,
            "max_rss_sampled_mb": round(max(s[1] for s in self.samples), 1),
            "peak_seen_mb": round(self.samples[-1][2], 1),  # VmHWM at the last sample
            "last_rss_mb": round(self.samples[-1][1], 1),
        }


def run_demo(seconds: float, broker_port: int, folder: Path) -> dict:
    text = DEMO_CONFIG.read_text().replace('"var/', f'"{folder}/')
    text = text.replace("port = 1883", f"port = {broker_port}")
    config = folder / "demo.toml"
    config.write_text(text)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run(
        [sys.executable, "-m", "edge.devtools.demo", "--config", str(config)],
        check=True, capture_output=True, cwd=folder, env=env,
    )  # fmt: skip
    command = [sys.executable, "-m", "edge", "run", "--config", str(config), "--json"]
    return _watched([*command, "--duration", f"{seconds:g}"], folder, env, "peak_rss_mb")


def run_bench(args: list[str], folder: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "edge", "bench", *args, "--json"]
    return _watched(command, folder, env, None)


def _watched(command: list[str], folder: Path, env: dict, peak_key: str | None) -> dict:
    started = time.monotonic()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=folder, env=env
    )
    watcher = Watcher(process.pid)
    out, err = process.communicate()
    result = {"command": shlex.join(command[1:]), "exit_code": process.returncode}
    result["seconds"] = round(time.monotonic() - started, 1)
    result.update(watcher.figures())
    if process.returncode != 0:
        result["error"] = err.strip()[-1500:]
        return result
    report = json.loads(out)
    if peak_key:  # the unit's summary
        result["unit"] = {k: report.get(k) for k in ("peak_rss_mb", "rss_mb", "fps", "reads")}
        result["peak_rss_mb"] = report.get(peak_key)
    else:  # bench
        result["bench_memory"] = report.get("memory")
        result["peak_rss_mb"] = (report.get("memory") or {}).get("peak_rss_mb")
        result["hit_latency_peak_rss_mb"] = (report.get("memory") or {}).get(
            "hit_latency_peak_rss_mb"
        )
    return result


def main() -> int:
    from edge.devtools.localbroker import LocalBroker
    from edge.devtools.processes import find_mosquitto

    seconds = float(os.environ.get("MEMORY_SECONDS", "60"))
    limit = float(os.environ.get("MEMORY_MAX_PEAK_MB", "300"))
    bench_args = shlex.split(os.environ.get("MEMORY_BENCH_ARGS", ""))
    binary = find_mosquitto()
    if binary is None:
        raise SystemExit("memory: mosquitto is not installed (the demo and bench publish to one)")
    report: dict[str, Any] = {
        "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "load_average_start": [round(v, 2) for v in os.getloadavg()],
        "limit_peak_rss_mb": limit,
    }
    with LocalBroker(binary) as broker, tempfile.TemporaryDirectory(prefix="anpr-mem-") as tmp:
        print(f"memory: `anpr-edge run` on the demo config for {seconds:g} s …", flush=True)
        report["demo"] = run_demo(seconds, broker.port, Path(tmp))
    with tempfile.TemporaryDirectory(prefix="anpr-mem-bench-") as tmp:
        print("memory: `anpr-edge bench` …", flush=True)
        report["bench"] = run_bench(bench_args, Path(tmp))
    report["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    failures = []
    for name in ("demo", "bench"):
        figures = report[name]
        peak = figures.get("peak_rss_mb")
        print(
            f"memory: {name}: peak {peak} MB resident start to stop (at start "
            f"{figures.get('peak_at_start_mb')} MB; most seen from outside "
            f"{figures.get('max_rss_sampled_mb')} MB)"
            + (
                f"; the hit-latency run of the unit {figures.get('hit_latency_peak_rss_mb')} MB"
                if name == "bench"
                else ""
            )
        )
        if figures.get("exit_code") != 0:
            failures.append(f"{name} exited {figures.get('exit_code')}: {figures.get('error')}")
        elif peak is None or peak > limit:
            failures.append(f"{name}: peak {peak} MB (limit {limit:g} MB)")
    report["passed"] = not failures
    report["failures"] = failures
    out = REPO / "var" / "memory"
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    (REPO / "var").chmod(0o700)  # as soak and demo: var/ also holds stores of personal data
    path = out / f"memory-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"memory: {path}")
    for failure in failures:
        print(f"memory: FAILED: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    raise SystemExit(main())
