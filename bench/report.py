"""The benchmark report (issue 7 item 5): one command, `make bench-report`, that measures the
unit's figures on this machine and writes OUT.json, OUT.md and OUT_drain.png:

- recogniser ms/plate, detector ms/frame (edge.devtools.bench_vision, one thread);
- pipeline fps on a busy road and capture-to-PUBACK hit latency (edge.devtools.bench_pipeline);
- hotlist lookups at each of --hotlist-sizes (edge.devtools.bench_hotlist.run_benchmark);
- store insert rate through the writer and backlog drain under load (bench.drain);
- resident memory of the demo unit (`anpr-edge run` on firmware_config/demo.toml, redirected to
  a temporary folder and a local Mosquitto, VmRSS sampled every second).

    .venv/bin/python -m bench.report --out docs/benchmarks [--hotlist-sizes 1000000,10000000]
    .venv/bin/python -m bench.report --out /tmp/b --tiny     # seconds: a smoke run

A section that fails is recorded with its error; the others still run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEMO_CONFIG = ROOT / "firmware_config" / "demo.toml"
KEPT_SECTIONS = ("Memory", "Live page")  # measured by other tools: see kept_sections()


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def machine() -> dict[str, Any]:
    from edge.devtools.bench_hotlist import cpu_model

    cpu = cpu_model()
    try:
        mem_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError):
        mem_gb = None
    return {
        "cpu": cpu,
        "arch": platform.machine(),
        "cores": os.cpu_count(),
        "memory_gb": mem_gb,
        "os": platform.platform(),
        "python": platform.python_version(),
        "numpy": _version("numpy"),
        "ai-edge-litert": _version("ai-edge-litert"),
        "opencv": _version("opencv-python-headless") or _version("opencv-python"),
        "paho-mqtt": _version("paho-mqtt"),
    }


# --- sections ---------------------------------------------------------------------------------


def section_vision(frames: int, plates: int) -> dict[str, Any]:
    from edge.config import load_config
    from edge.devtools.bench_vision import bench_vision
    from edge.vision.reader import PlateReader

    config = load_config(str(DEMO_CONFIG))
    reader = PlateReader.from_files(
        config.models.detector,
        config.models.recogniser,
        threads=1,
        region=config.recognition.region,
        threshold=config.models.detector_threshold,
    )
    result = bench_vision(reader, frames=frames, plates=plates)
    result.pop("machine", None)
    return result


def section_pipeline(frames: int, threads: int) -> dict[str, Any]:
    from edge.devtools.bench_pipeline import bench_pipeline

    return bench_pipeline(frames, threads=threads)


def section_hit_latency(seconds: float) -> dict[str, Any]:
    from edge.devtools.bench_pipeline import bench_hit_latency

    return bench_hit_latency(seconds)


def section_hotlist(entries: int, reads: int, false_hit_reads: int) -> dict[str, Any]:
    from edge.devtools.bench_hotlist import run_benchmark

    started = time.monotonic()
    result = run_benchmark(
        entries, reads=reads, false_hit_reads=false_hit_reads, recogniser_crops=0
    )
    result["wall_s"] = round(time.monotonic() - started, 1)
    result["load_average_after"] = result.pop("machine", {}).get("load_average")
    return result


def section_drain(reads: int) -> dict[str, Any]:
    from bench.drain import bench_drain

    return bench_drain(reads)


def section_demo_memory(seconds: float) -> dict[str, Any]:
    """`anpr-edge run` on the demo configuration, redirected to a temporary folder and a local
    Mosquitto on a free port; VmRSS of the process sampled every second."""
    from edge.devtools.localbroker import LocalBroker
    from edge.devtools.processes import find_mosquitto

    binary = find_mosquitto()
    if binary is None:
        return {"rss_mb": None, "note": "mosquitto is not installed"}
    with LocalBroker(binary) as broker, tempfile.TemporaryDirectory(prefix="anpr-rss-") as tmp:
        text = DEMO_CONFIG.read_text().replace('"var/', f'"{tmp}/')
        text = text.replace("port = 1883", f"port = {broker.port}")
        text = text.replace('level = "INFO"', 'level = "WARNING"')
        config = Path(tmp) / "demo.toml"
        config.write_text(text)
        subprocess.run(
            [sys.executable, "-m", "edge.devtools.demo", "--config", str(config)],
            check=True, capture_output=True, cwd=tmp,
        )  # fmt: skip
        command = [sys.executable, "-m", "edge", "run", "--config", str(config)]
        command += ["--duration", f"{seconds:g}", "--json"]
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp
        )
        samples: list[tuple[float, float]] = []
        started = time.monotonic()
        while process.poll() is None:
            try:
                for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        samples.append((time.monotonic() - started, int(line.split()[1]) / 1024))
            except OSError:
                pass
            time.sleep(1.0)
        out, err = process.communicate(timeout=60)
    if process.returncode != 0:
        raise RuntimeError(f"anpr-edge run exited {process.returncode}: {err.strip()[-1500:]}")
    summary = json.loads(out)
    settled = [mb for t, mb in samples if t >= min(10.0, seconds / 2)] or [mb for _, mb in samples]
    return {
        "rss_mb": round(max(settled), 1) if settled else summary.get("rss_mb"),
        "demo_memory": {
            "seconds": seconds,
            "rss_sampled_mb": {
                "last": round(samples[-1][1], 1) if samples else None,
                "max": round(max(mb for _, mb in samples), 1) if samples else None,
                "samples": len(samples),
            },
            "unit_rss_mb": summary.get("rss_mb"),
            "unit_peak_rss_mb": summary.get("peak_rss_mb"),
            "fps": summary.get("fps"),
            "frames": summary.get("frames"),
            "frames_dropped": summary.get("frames_dropped"),
            "reads": summary.get("reads"),
            "hits": summary.get("hits"),
        },
    }


def _timed(name: str, work, results: dict, log) -> None:
    load_before = _load()
    started = time.monotonic()
    log(f"[{datetime.now(UTC):%H:%M:%S}] {name} … (load {load_before[0]})")
    try:
        results[name] = work()
    except Exception as exc:  # a failed section is reported, the rest still run
        results[name] = {"error": f"{type(exc).__name__}: {exc}"}
        log(traceback.format_exc())
    results[name]["_seconds"] = round(time.monotonic() - started, 1)
    results[name]["_load_before"] = load_before
    results[name]["_load_after"] = _load()
    log(f"    done in {results[name]['_seconds']} s (load {results[name]['_load_after'][0]})")


# --- the report -------------------------------------------------------------------------------


def run_report(options: argparse.Namespace, log=print) -> dict[str, Any]:
    report: dict[str, Any] = {
        "generated": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(),
        "load_average_start": _load(),
        "options": {k: v for k, v in vars(options).items() if k != "out"},
    }
    sections: dict[str, Any] = {}
    started = time.monotonic()
    _timed("vision", lambda: section_vision(options.frames, options.plates), sections, log)
    if options.pipeline_frames > 0:
        _timed(
            "pipeline",
            lambda: section_pipeline(options.pipeline_frames, options.threads),
            sections,
            log,
        )
    if options.latency_seconds > 0:
        _timed("hit_latency", lambda: section_hit_latency(options.latency_seconds), sections, log)
    if options.drain_reads > 0:
        _timed("drain", lambda: section_drain(options.drain_reads), sections, log)
    if options.rss_seconds > 0:
        _timed("demo_memory", lambda: section_demo_memory(options.rss_seconds), sections, log)
    for size in options.hotlist_sizes:
        _timed(
            f"hotlist_{size}",
            lambda size=size: section_hotlist(size, options.hotlist_reads, options.false_hit_reads),
            sections,
            log,
        )
    report["sections"] = sections
    report["load_average_end"] = _load()
    report["seconds"] = round(time.monotonic() - started, 1)
    report["summary"] = summarise(sections)
    return report


def _get(section: dict | None, *keys: str) -> Any:
    value: Any = section
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def summarise(sections: dict[str, Any]) -> list[dict[str, Any]]:
    """The headline figures, one row each: name, value, unit, detail, load during."""
    rows: list[dict[str, Any]] = []

    def row(name, value, unit, detail, section) -> None:
        s = sections.get(section) or {}
        load = s.get("_load_before"), s.get("_load_after")
        rows.append(
            {
                "figure": name,
                "value": value if "error" not in s else None,
                "unit": unit,
                "detail": detail if "error" not in s else f"failed: {s['error']}",
                "load": [load[0][0] if load[0] else None, load[1][0] if load[1] else None],
            }
        )

    v = sections.get("vision") or {}
    rec, det = v.get("recogniser_ms") or {}, v.get("detector_ms") or {}
    row("recogniser", rec.get("median"), "ms/plate",
        f"median; p90 {rec.get('p90')} ms; {rec.get('n')} plates, 1 thread", "vision")  # fmt: skip
    frame = v.get("frame") or ["?", "?"]
    row("detector", det.get("median"), "ms/frame",
        f"median; p90 {det.get('p90')} ms; {det.get('n')} frames of {frame[0]}×{frame[1]}, "
        "1 thread", "vision")  # fmt: skip
    if "pipeline" in sections:
        p = sections["pipeline"]
        row("pipeline", p.get("pipeline_fps"), "fps",
            f"busy synthetic road, {_get(p, 'pipeline', 'frames')} frames, "
            f"{_get(p, 'pipeline', 'threads')} threads; median "
            f"{_get(p, 'pipeline', 'ms_per_frame', 'median')} ms a frame", "pipeline")  # fmt: skip
    if "hit_latency" in sections:
        h = sections["hit_latency"]
        lat = h.get("hit_latency_ms") or {}
        row("hit latency, capture → PUBACK", lat.get("median"), "ms (median)",
            f"p99 {lat.get('p99')} ms; {_get(h, 'hit_latency', 'hits')} hits in "
            f"{_get(h, 'hit_latency', 'seconds')} s of the real unit at "
            f"{_get(h, 'hit_latency', 'fps')} fps; its peak "
            f"{_get(h, 'hit_latency', 'peak_rss_mb')} MB resident", "hit_latency")  # fmt: skip
    if "drain" in sections:
        d = sections["drain"]
        dd, lat = d.get("drain") or {}, d.get("hit_latency_ms") or {}
        row("store insert", d.get("insert_reads_per_s"), "reads/s",
            f"{dd.get('reads')} reads through the StoreWriter (batches of ≤256, one "
            "transaction each)", "drain")  # fmt: skip
        row("backlog drain", d.get("drain_reads_per_s"), "reads/s acked",
            f"{dd.get('reads')} reads to a local Mosquitto in {dd.get('seconds')} s, "
            f"window {dd.get('window')}, a hit every {dd.get('hit_every_s')} s",
            "drain")  # fmt: skip
        row("hit latency during the drain, store → PUBACK", lat.get("median"), "ms (median)",
            f"p99 {lat.get('p99')} ms, max {lat.get('max')} ms; {lat.get('n')} hits; "
            f"all ahead of the backlog: {d.get('hits_ahead_of_backlog')} (fewest reads still "
            f"waiting at a hit: {_get(dd, 'reads_waiting_at_hit', 'min')})", "drain")  # fmt: skip
    if "demo_memory" in sections:
        m = sections["demo_memory"]
        dm = m.get("demo_memory") or {}
        row("demo unit resident memory", m.get("rss_mb"), "MB",
            f"max VmRSS after 10 s of `anpr-edge run` on demo.toml for {dm.get('seconds')} s "
            f"({dm.get('fps')} fps, {dm.get('reads')} reads); the unit's own peak (VmHWM, "
            f"start to stop) {dm.get('unit_peak_rss_mb')} MB", "demo_memory")  # fmt: skip
    for name, h in sections.items():
        if not name.startswith("hotlist_"):
            continue
        size = int(name.split("_", 1)[1])
        ex, fz = h.get("exact_us") or {}, h.get("fuzzy_us") or {}
        row(f"hotlist exact lookup, {size:,} entries", ex.get("median"), "µs (median)",
            f"p99 {ex.get('p99')} µs; fuzzy (confusions) median {fz.get('median')} µs, p99 "
            f"{fz.get('p99')} µs; {h.get('rss_mb')} MB resident, applied in "
            f"{h.get('apply_s')} s", name)  # fmt: skip
    return rows


def render_markdown(report: dict[str, Any], plot: str | None) -> str:
    m = report["machine"]
    lines = [
        "# Benchmarks",
        "",
        f"Generated {report['generated']} by `make bench-report` (`python -m bench.report`; "
        f"{report['seconds']:.0f} s). Every figure, with its detail, is in "
        "[benchmarks.json](benchmarks.json).",
        "",
        "## Machine",
        "",
        f"- CPU: {m['cpu']} ({m['arch']}, {m['cores']} cores), {m['memory_gb']} GB memory",
        f"- {m['os']}",
        f"- Python {m['python']}, numpy {m['numpy']}, ai-edge-litert {m['ai-edge-litert']}, "
        f"OpenCV {m['opencv']}, paho-mqtt {m['paho-mqtt']}",
        f"- Load average (1, 5, 15 min) at start {report['load_average_start']}, at end "
        f"{report['load_average_end']}",
        "",
        "## Figures",
        "",
        "| Figure | Value | Unit | Detail | Load (1 min) before → after |",
        "|---|---:|---|---|---|",
    ]
    for row in report["summary"]:
        value = "—" if row["value"] is None else f"{row['value']:,}"
        load = " → ".join("?" if x is None else f"{x:.2f}" for x in row["load"])
        lines.append(f"| {row['figure']} | {value} | {row['unit']} | {row['detail']} | {load} |")
    if plot:
        lines += ["", "## Backlog drain", "", f"![drain progress]({plot})", ""]
        lines.append(
            "Reads acknowledged over time while a hit was stored every 0.2 s; red ticks: hits "
            "received by the subscriber."
        )
    notes = auto_notes(report) + list(report.get("notes") or [])
    if notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def kept_sections(previous: str) -> str:
    """The sections of the previous file that other tools measure (`## Memory`: `make memory`
    and `make soak`, an hour long; `## Live page`: `anpr-edge bench live`), carried over so
    that a new report does not drop them."""
    kept = []
    for title in KEPT_SECTIONS:
        start = previous.find(f"\n## {title}\n")
        if start >= 0:
            end = previous.find("\n## ", start + 1)
            kept.append(previous[start : end if end >= 0 else len(previous)].rstrip("\n") + "\n")
    return "".join(kept)


def auto_notes(report: dict[str, Any]) -> list[str]:
    """What a reader needs to weigh the figures: the load, what was skipped or cut."""
    sections, cores = report["sections"], report["machine"]["cores"]
    loads = [report["load_average_start"][0], report["load_average_end"][0]]
    for s in sections.values():
        loads += [x[0] for x in (s.get("_load_before"), s.get("_load_after")) if x]
    notes = [
        f"The 1-minute load average ran {min(loads):.2f}–{max(loads):.2f} on {cores} cores "
        "during the run: other work shared the CPU, so times are pessimistic and noisier than "
        "on an idle unit (the run was under `nice`)."
    ]
    sizes = report["options"].get("hotlist_sizes") or []
    if sizes != [1_000_000, 10_000_000]:
        notes.append(
            f"Hotlist sizes measured: {', '.join(f'{n:,}' for n in sizes) or 'none'} (the "
            "default is 1,000,000 and 10,000,000; `--hotlist-sizes`)."
        )
    dropped = _get(sections.get("hit_latency"), "hit_latency", "frames_dropped")
    if dropped:
        notes.append(
            f"The real unit dropped {dropped} frames during the hit-latency run (the camera "
            "outran the pipeline on the shared CPU): the capture → PUBACK latency includes that "
            "queueing."
        )
    for name, s in sections.items():
        if "error" in s:
            notes.append(f"Section `{name}` failed: {s['error']}")
    return notes


def draw_drain_plot(drain: dict[str, Any], path: Path) -> bool:
    """Reads acknowledged against time, as a PNG drawn with OpenCV (no matplotlib)."""
    try:
        import cv2
        import numpy as np
    except ImportError:
        return False
    progress = (drain.get("drain") or {}).get("progress") or []
    if len(progress) < 2:
        return False
    w, h, left, right, top, bottom = 720, 360, 80, 20, 30, 50
    image = np.full((h, w, 3), 255, np.uint8)
    t_max = max(p[0] for p in progress) or 1.0
    n_max = max(p[1] for p in progress) or 1

    def xy(t: float, n: float) -> tuple[int, int]:
        return (
            int(left + (w - left - right) * t / t_max),
            int(h - bottom - (h - top - bottom) * n / n_max),
        )

    black, grey, font = (0, 0, 0), (200, 200, 200), cv2.FONT_HERSHEY_SIMPLEX
    for i in range(5):
        n = n_max * i / 4
        y = xy(0, n)[1]
        cv2.line(image, (left, y), (w - right, y), grey, 1)
        cv2.putText(image, f"{int(n):,}", (5, y + 4), font, 0.4, black, 1, cv2.LINE_AA)
        t = t_max * i / 4
        x = xy(t, 0)[0]
        cv2.putText(image, f"{t:.1f}s", (x - 12, h - bottom + 18), font, 0.4, black, 1, cv2.LINE_AA)
    cv2.line(image, (left, h - bottom), (w - right, h - bottom), black, 1)
    cv2.line(image, (left, top), (left, h - bottom), black, 1)
    points = np.array([xy(p[0], p[1]) for p in progress], np.int32)
    cv2.polylines(image, [points], False, (180, 90, 0), 2, cv2.LINE_AA)
    dd = drain["drain"]
    for t in dd.get("hit_arrivals_s") or []:
        if t <= t_max:
            x = xy(t, 0)[0]
            cv2.line(image, (x, h - bottom), (x, h - bottom - 8), (0, 0, 220), 1)
    title = (
        f"backlog drain: {dd['reads']:,} reads acked in {dd['seconds']} s "
        f"({drain['drain_reads_per_s']:,} reads/s), {dd['hits_stored']} hits"
    )
    cv2.putText(image, title, (left, 20), font, 0.45, black, 1, cv2.LINE_AA)
    cv2.putText(image, "time since the publisher started", (w // 2 - 110, h - 10), font, 0.4,
                black, 1, cv2.LINE_AA)  # fmt: skip
    return bool(cv2.imwrite(str(path), image))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="measure the unit and write the report")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks",
                        help="writes OUT.json, OUT.md, OUT_drain.png")  # fmt: skip
    parser.add_argument("--hotlist-sizes", default="1000000,10000000",
                        help="comma-separated hotlist sizes (default 1000000,10000000; 10M "
                        "takes ~6+ min and ~750 MB); empty skips")  # fmt: skip
    parser.add_argument("--hotlist-reads", type=int, default=5000, help="timed lookups per kind")
    parser.add_argument("--false-hit-reads", type=int, default=20_000)
    parser.add_argument("--frames", type=int, default=40, help="detector frames (default 40)")
    parser.add_argument("--plates", type=int, default=300, help="recogniser crops (default 300)")
    parser.add_argument("--pipeline-frames", type=int, default=600, help="0 skips")
    parser.add_argument("--threads", type=int, default=2, help="pipeline threads (default 2)")
    parser.add_argument("--latency-seconds", type=float, default=60.0, help="0 skips")
    parser.add_argument("--drain-reads", type=int, default=50_000, help="0 skips")
    parser.add_argument("--rss-seconds", type=float, default=30.0, help="0 skips")
    parser.add_argument("--note", action="append", default=[],
                        help="a line for the Notes section (repeatable)")  # fmt: skip
    parser.add_argument("--tiny", action="store_true",
                        help="a smoke run in seconds (skips latency and memory)")  # fmt: skip
    options = parser.parse_args(argv)
    if options.tiny:
        options.frames, options.plates, options.pipeline_frames = 2, 5, 5
        options.latency_seconds = options.rss_seconds = 0
        options.drain_reads, options.hotlist_reads, options.false_hit_reads = 300, 20, 200
        options.hotlist_sizes = "1000"
    options.hotlist_sizes = [int(s) for s in options.hotlist_sizes.split(",") if s.strip()]
    out: Path = options.out
    out.parent.mkdir(parents=True, exist_ok=True)

    report = run_report(options, log=lambda text: print(text, file=sys.stderr, flush=True))
    report["notes"] = list(options.note)
    plot_path = out.with_name(out.name + "_drain.png")
    plot = None
    drain = report["sections"].get("drain")
    if drain and "error" not in drain and draw_drain_plot(drain, plot_path):
        plot = plot_path.name
    out.with_suffix(".json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    markdown = out.with_suffix(".md")
    kept = kept_sections(markdown.read_text() if markdown.exists() else "")
    markdown.write_text(render_markdown(report, plot) + kept)
    for row in report["summary"]:
        print(f"{row['figure']}: {row['value']} {row['unit']} ({row['detail']})")
    print(f"load average: start {report['load_average_start']}, end {report['load_average_end']}")
    print(
        f"wrote {out.with_suffix('.json')}, {out.with_suffix('.md')}"
        + (f", {plot_path}" if plot else "")
    )
    failed = [name for name, s in report["sections"].items() if "error" in s]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
