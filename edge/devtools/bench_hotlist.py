"""`anpr-edge bench hotlist`: apply time, lookup latency, memory and the fuzzy false-hit rate.

The parent makes a signed snapshot of N random UK registrations (edge.hotlist.sample) with a
throwaway key; a child process then does what a unit does and is measured: apply the bundle
into a fresh SQLite store with the index built (`apply_s`), time exact and fuzzy matches one
read at a time (`exact_us`, `fuzzy_us`: median and p99), read its resident memory (`rss_mb`,
and how much the apply added), start again from the store as at boot (`load_s`), and match
random plates that are not on the list to count fuzzy false hits. A child, because the
parent's memory (ten million generated plates) would otherwise be counted as the index's.

Read mixes: exact — half plates on the list, half random plates; fuzzy — half random plates
(the everyday stream, nearly all misses), half listed plates with one OCR confusion (hits,
which cost more: records are built and the edit measured).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

import numpy as np

from edge.devtools.hotlist_snapshot import make_snapshot

CHILD_TIMEOUT_S = 3600.0  # a 10 M run takes a few minutes; a hung child must not hang us


def run_benchmark(
    entries: int,
    *,
    reads: int = 5000,
    false_hit_reads: int = 100_000,
    recogniser_crops: int = 2000,
    seed: int = 1,
    workdir: Path | None = None,
) -> dict:
    with tempfile.TemporaryDirectory(prefix="anpr-bench-", dir=workdir) as tmp:
        folder = Path(tmp)
        started = time.monotonic()
        bundle, public = make_snapshot(folder, entries, seed)
        build_s = time.monotonic() - started
        command = [
            sys.executable,
            "-m",
            "edge.devtools.bench_hotlist",
            str(bundle),
            str(public),
            str(folder / "store.db"),
            "--reads",
            str(reads),
            "--false-hit-reads",
            str(false_hit_reads),
            "--recogniser-crops",
            str(recogniser_crops),
            "--seed",
            str(seed),
        ]
        child = subprocess.run(
            command, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S, check=False
        )
        if child.returncode != 0:
            raise RuntimeError(f"benchmark child failed: {child.stderr.strip()[-2000:]}")
        result = json.loads(child.stdout)
    return {"entries": entries, **result, "bundle_build_s": round(build_s, 1), "machine": machine()}


def measure(
    bundle: Path,
    public: Path,
    store_path: Path,
    reads: int,
    false_hit_reads: int,
    recogniser_crops: int,
    seed: int,
) -> dict:
    """The child's work (see the module docstring)."""
    from edge.hotlist.apply import BundleApplier
    from edge.hotlist.heap import give_back_freed_memory
    from edge.hotlist.index import IndexHolder
    from edge.hotlist.loading import load_index
    from edge.hotlist.signing import load_trusted_keys
    from edge.hotlist.store import HotlistStore
    from edge.store.database import open_database

    holder = IndexHolder()
    conn = open_database(store_path, schema="hotlists")
    applier = BundleApplier(
        HotlistStore(conn),
        load_trusted_keys([public]),
        max_payload_bytes=4096 * 1024 * 1024,
        holder=holder,
    )
    gc.collect()
    rss_before = rss_mb()  # before the bundle is read: its bytes are freed after the apply
    peak_reset = reset_peak()
    started = time.monotonic()
    applier.apply(bundle)  # from its file, as the sync applies its spool's
    apply_s = time.monotonic() - started
    apply_peak = peak_rss_mb() if peak_reset else float("nan")
    del applier
    gc.collect()
    give_back_freed_memory()  # as the sync does after a large bundle
    rss_after = rss_mb()
    index = holder.current.lists["national"]
    rng = np.random.default_rng(seed + 1)
    result = {
        "apply_s": round(apply_s, 1),
        "rss_mb": round(rss_after, 1),
        "rss_added_mb": round(rss_after - rss_before, 1),
        "index_mb": round(index.nbytes / 1e6, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "apply_peak_added_mb": round(apply_peak - rss_before, 1),  # the apply's own peak
        "bundle_mb": round(bundle.stat().st_size / 1e6, 1),
        **latencies(holder, index, rng, reads),
        **fuzzy_quality(holder, rng, false_hit_reads, recogniser_crops, seed),
        "store_mb": round(os.path.getsize(store_path) / 1e6, 1),
    }
    conn.close()
    started = time.monotonic()
    with closing(open_database(store_path, schema="hotlists")) as fresh:
        load_index(HotlistStore(fresh), IndexHolder())
    result["load_s"] = round(time.monotonic() - started, 1)
    return result


def latencies(holder, index, rng: np.random.Generator, reads: int) -> dict:
    from edge.hotlist.fuzzy import CONFUSION_PAIRS, FuzzyPolicy
    from edge.hotlist.keys import decode_many
    from edge.hotlist.matcher import Matcher
    from edge.hotlist.sample import sample_registrations

    listed = decode_many(index.columns.keys[rng.integers(len(index), size=reads)])
    random_plates = sample_registrations(rng, reads)
    swap = {pair[i]: pair[1 - i] for pair in CONFUSION_PAIRS for i in (0, 1)}
    confused = []
    for plate in listed:
        at = [i for i, c in enumerate(plate) if c in swap]
        i = at[rng.integers(len(at))] if at else 0
        confused.append(plate[:i] + swap.get(plate[i], plate[i]) + plate[i + 1 :])
    half = reads // 2
    exact_reads = listed[:half] + random_plates[:half]
    fuzzy_reads = random_plates[half:] + confused[half:]
    figures = {}
    for name, policy, sample in (
        ("exact_us", FuzzyPolicy(0), exact_reads),
        ("fuzzy_us", FuzzyPolicy(1, "confusions"), fuzzy_reads),
        ("fuzzy_any_us", FuzzyPolicy(1, "any"), fuzzy_reads),
    ):
        matcher = Matcher(holder, policy)
        for plate in sample[:200]:  # warm caches and numpy's first-call paths
            matcher.match(plate)
        times = np.empty(len(sample))
        for i, plate in enumerate(sample):
            start = time.perf_counter_ns()
            matcher.match(plate)
            times[i] = time.perf_counter_ns() - start
        figures[name] = {
            "median": round(float(np.median(times)) / 1000, 1),
            "p99": round(float(np.percentile(times, 99)) / 1000, 1),
            "n": len(sample),
        }
    return figures


def fuzzy_quality(holder, rng: np.random.Generator, reads: int, crops: int, seed: int) -> dict:
    """False hits of each policy on random plates, without and with the recogniser's
    confidences (edge.devtools.bench_hotlist_reads), and how many real misreads each recovers."""
    from edge.devtools.bench_hotlist_reads import misread_recovery, sample_recogniser
    from edge.hotlist.fuzzy import FuzzyPolicy, Substitutions

    sample = sample_recogniser(crops, seed) if crops > 0 else None
    false_hits: dict[str, dict] = {}
    recovery: dict[str, dict] = {}
    substitutions: tuple[Substitutions, ...] = ("confusions", "any")
    for name in substitutions:
        policy = FuzzyPolicy(1, name)
        false_hits[name] = false_hit_rate(holder, policy, rng, reads)
        if sample is not None:
            false_hits[name + "_gated"] = false_hit_rate(holder, policy, rng, reads, sample)
            recovery[name] = misread_recovery(sample, policy)
    return {"false_hits": false_hits, "misread_recovery": recovery}


def false_hit_rate(holder, policy, rng: np.random.Generator, reads: int, sample=None) -> dict:
    """Random registrations matched against the list: how many hit anything though they are
    not on it (those that are on it, by chance, are counted apart and left out). With a
    recogniser `sample`, each read carries the confidences of a real right read."""
    from edge.hotlist.matcher import Matcher
    from edge.hotlist.sample import sample_registrations

    matcher = Matcher(holder, policy)
    on_list = fuzzy = confusion_only = 0
    for plate in sample_registrations(rng, reads):
        confidences = None if sample is None else sample.confidences_for(plate, rng)
        matches = matcher.match(plate, confidences)
        if any(m.kind == "exact" for m in matches):
            on_list += 1
        elif matches:
            fuzzy += 1
            confusion_only += any(m.confusion_only for m in matches)
    tested = max(reads - on_list, 1)
    return {
        "reads": reads,
        "on_list": on_list,
        "rate": round(fuzzy / tested, 4),
        "confusion_only_rate": round(confusion_only / tested, 4),
        "max_distance": policy.max_distance,
        "substitutions": policy.substitutions,
        "sure_confidence": policy.sure_confidence if sample is not None else None,
    }


def rss_mb() -> float:
    return _status_kb("VmRSS") / 1024


def peak_rss_mb() -> float:
    return _status_kb("VmHWM") / 1024


def reset_peak() -> bool:
    """VmHWM starts again from the memory resident now (False where the kernel refuses)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _status_kb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return float(line.split()[1])
    return float("nan")


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict:
    cpu = cpu_model()
    return {
        "cpu": cpu,
        "arch": platform.machine(),
        "cores": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "numpy": np.__version__,
    }


def _child_main() -> None:
    parser = argparse.ArgumentParser(description="the measured half of `bench hotlist`")
    parser.add_argument("bundle", type=Path)
    parser.add_argument("public", type=Path)
    parser.add_argument("store", type=Path)
    parser.add_argument("--reads", type=int, default=5000)
    parser.add_argument("--false-hit-reads", type=int, default=100_000)
    parser.add_argument("--recogniser-crops", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    figures = measure(
        args.bundle,
        args.public,
        args.store,
        args.reads,
        args.false_hit_reads,
        args.recogniser_crops,
        args.seed,
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    _child_main()
