"""`anpr-edge bench`: how fast the unit's stages run on this machine."""

from __future__ import annotations

import argparse

from edge.cli.common import EXIT_OK, add_command, print_json
from edge.cli.vision_common import reader_from_args
from edge.progress import for_command


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "bench", run, with_config=True, with_json=True)
    parser.add_argument("--frames", type=int, default=40, help="frames to time (default 40)")
    parser.add_argument("--plates", type=int, default=300, help="plate crops to time (default 300)")
    parser.add_argument(
        "--pipeline-frames",
        type=int,
        metavar="N",
        help="frames of the busy road through the whole pipeline (default 15 × --frames)",
    )
    parser.add_argument(
        "--latency-seconds",
        type=float,
        metavar="S",
        help="seconds of the real unit in real time for hit latency (default 1.5 × --frames; "
        "0 skips it)",
    )
    # Optional sub-benchmarks; without one, `bench` times the vision stages as before.
    stages = parser.add_subparsers(title="benchmarks", metavar="BENCHMARK", required=False)
    hotlist = add_command(stages, "hotlist", run_hotlist, with_json=True)
    hotlist.add_argument("--entries", type=int, default=1_000_000, help="list size (default 1M)")
    hotlist.add_argument("--reads", type=int, default=5000, help="timed lookups per kind")
    hotlist.add_argument(
        "--false-hit-reads",
        type=int,
        default=100_000,
        help="random plates not on the list matched to count fuzzy false hits (default 100k)",
    )
    hotlist.add_argument(
        "--recogniser-crops",
        type=int,
        default=2000,
        help="synthetic plates read by the bundled recogniser for real confidences and "
        "misreads (default 2000; 0 skips the gated figures)",
    )
    hotlist.add_argument("--seed", type=int, default=1)
    live = add_command(stages, "live", run_live, with_config=True, with_json=True)
    live.add_argument(
        "--max-fps",
        type=float,
        metavar="F",
        help="frames a second the client asks for (default: live.max_fps of the config)",
    )
    live.add_argument("--frames", type=int, default=150, help="frames per state per round (150)")
    live.add_argument("--rounds", type=int, default=6, help="rounds of the three states (6)")


def run_live(args: argparse.Namespace) -> int:
    """the pipeline's frames per second with the live aiming page off, open and watched by a client
    (its cost: at most 5 percent while watched, nothing otherwise)

    Example:
        anpr-edge bench live --json
        anpr-edge bench live --frames 600 --rounds 5
    """
    from edge.config import load_config
    from edge.devtools.bench_live import bench_live
    from edge.errors import UserError

    config = load_config(args.config)
    max_fps = config.live.max_fps if args.max_fps is None else args.max_fps
    if args.frames < 10 or args.rounds < 1 or not 1 <= max_fps <= 30:
        raise UserError("--frames must be ≥ 10, --rounds ≥ 1, --max-fps 1 … 30")
    with for_command(args, "bench live") as progress:
        progress.phase(f"pipeline: {args.rounds} rounds of off, open and watched")
        result = bench_live(
            args.frames, rounds=args.rounds, max_fps=max_fps, threads=config.models.threads
        )
    if args.json:
        print_json(result)
        return EXIT_OK
    live, machine = result["live_page"], result["machine"]
    fps = live["pipeline_fps"]
    print(
        f"machine: {machine['cpu']} ({machine['arch']}, {machine['cores']} cores, "
        f"load {machine['load_average'][0]})"
    )
    print(
        f"pipeline: {fps['off']} fps with the live page off, {fps['open']} fps open with "
        f"nobody watching, {fps['watched']} fps watched ({live['frames_per_state']} frames "
        f"each, {live['threads']} threads)"
    )
    cpu = live["cpu_ms_per_frame"]
    print(
        f"CPU per frame: {cpu['off']} ms off, {cpu['open']} ms open, {cpu['watched']} ms "
        f"watched: the page takes {live['cpu_cost_watched']:.1%} of it while watched, "
        f"{live['cpu_cost_open_unwatched']:.1%} while open and unwatched"
    )
    print(
        f"cost: {live['cost_watched']:.1%} of the pipeline's fps while watched "
        f"(the page got {live['page_fps']} fps of {live['max_fps']:g} asked), "
        f"{live['cost_open_unwatched']:.1%} while open and unwatched "
        f"({live['held_while_unwatched']} frames held, none wanted)"
    )
    return EXIT_OK


def run_hotlist(args: argparse.Namespace) -> int:
    """apply a signed snapshot of N plates, time exact and fuzzy lookups, measure memory and the
    fuzzy false-hit rate

    Example:
        anpr-edge bench hotlist --entries 1000000 --json
    """
    from edge.devtools.bench_hotlist import run_benchmark
    from edge.errors import UserError

    if (
        not 1 <= args.entries <= 50_000_000
        or args.reads < 10
        or min(args.false_hit_reads, args.recogniser_crops) < 0
    ):
        raise UserError(
            "--entries must be 1 … 50,000,000, --reads ≥ 10, --false-hit-reads and "
            "--recogniser-crops ≥ 0"
        )
    result = run_benchmark(
        args.entries,
        reads=args.reads,
        false_hit_reads=args.false_hit_reads,
        recogniser_crops=args.recogniser_crops,
        seed=args.seed,
    )
    if args.json:
        print_json(result)
        return EXIT_OK
    machine = result["machine"]
    print(
        f"machine: {machine['cpu']} ({machine['arch']}, {machine['cores']} cores, "
        f"load {machine['load_average'][0]})"
    )
    print(
        f"{result['entries']} entries: applied in {result['apply_s']} s "
        f"(bundle {result['bundle_mb']} MB), reloaded from the store in {result['load_s']} s"
    )
    print(
        f"memory: {result['rss_mb']} MB resident ({result['rss_added_mb']} MB added by the "
        f"apply, at most {result['apply_peak_added_mb']} MB while applying; index arrays "
        f"{result['index_mb']} MB; peak {result['peak_rss_mb']} MB)"
    )
    for key, label in (
        ("exact_us", "exact"),
        ("fuzzy_us", "fuzzy (confusions)"),
        ("fuzzy_any_us", "fuzzy (any substitution)"),
    ):
        figure = result[key]
        print(f"{label}: median {figure['median']} µs, p99 {figure['p99']} µs")
    for name, rate in result["false_hits"].items():
        gate = "" if rate["sure_confidence"] is None else f", gate {rate['sure_confidence']}"
        print(
            f"false hits, {name}{gate}: {rate['rate']:.2%} of {rate['reads'] - rate['on_list']} "
            f"random plates not on the list ({rate['confusion_only_rate']:.2%} through OCR "
            "confusions only)"
        )
    for name, rec in result["misread_recovery"].items():
        print(
            f"real misreads recovered, {name}: {rec['within_policy']:.1%} within the policy, "
            f"{rec['within_policy_and_unsure']:.1%} through unsure characters only "
            f"({rec['misreads']} misreads of {rec['crops']} synthetic crops)"
        )
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    """time the recogniser per plate and the detector per 1456×1088 frame (one thread), the whole
    pipeline on a busy synthetic road, and hit latency to a local broker

    Example:
        anpr-edge bench --json
    """
    from edge.config import load_config
    from edge.devtools.bench_pipeline import bench_hit_latency, bench_pipeline
    from edge.devtools.bench_vision import bench_vision
    from edge.errors import UserError
    from edge.unit.memory import peak_rss_mb, rss_mb

    pipeline_frames = args.pipeline_frames or 15 * args.frames
    latency_s = 1.5 * args.frames if args.latency_seconds is None else args.latency_seconds
    if args.frames < 1 or args.plates < 1 or pipeline_frames < 1 or latency_s < 0:
        raise UserError(
            "--frames, --plates and --pipeline-frames must be ≥ 1, --latency-seconds ≥ 0"
        )
    threads = load_config(args.config).models.threads
    args.detector = args.recogniser = args.region = None
    args.threads = 1
    with for_command(args, "bench") as progress:
        progress.phase(f"models: {args.frames} frames, {args.plates} plates")
        result = bench_vision(reader_from_args(args), frames=args.frames, plates=args.plates)
        progress.phase(f"pipeline: {pipeline_frames} frames")
        result.update(bench_pipeline(pipeline_frames, threads=threads))
        # the hit-latency run starts the process's peak again (to give its own): read it first
        memory = {"vision_and_pipeline_peak_rss_mb": peak_rss_mb()}
        if latency_s > 0:
            progress.phase(f"hit latency through a local broker: {latency_s:.0f} s")
            result.update(bench_hit_latency(latency_s))
            memory["hit_latency_peak_rss_mb"] = result["hit_latency"].get("peak_rss_mb")
    peaks = [mb for mb in (*memory.values(), peak_rss_mb()) if mb is not None]
    result["memory"] = {"peak_rss_mb": max(peaks, default=None), **memory, "rss_mb": rss_mb()}
    if args.json:
        print_json(result)
        return EXIT_OK
    rec, det = result["recogniser_ms"], result["detector_ms"]
    print(
        f"machine: {result['machine']['cpu']} ({result['machine']['arch']}), "
        f"{result['runtime']}, 1 thread"
    )
    print(
        f"recogniser: median {rec['median']} ms, p90 {rec['p90']} ms per plate ({rec['n']} plates)"
    )
    print(
        f"detector:   median {det['median']} ms, p90 {det['p90']} ms per "
        f"{result['frame'][0]}×{result['frame'][1]} frame ({det['n']} frames)"
    )
    pipe = result["pipeline"]
    print(
        f"pipeline:   {result['pipeline_fps']} fps on a busy road ({pipe['frames']} frames, "
        f"{pipe['threads']} threads; median {pipe['ms_per_frame']['median']} ms a frame, "
        f"detector on {pipe['motion_ratio']:.0%} of frames)"
    )
    latency = result.get("hit_latency_ms")
    if latency:
        detail = result["hit_latency"]
        print(
            f"hit latency: median {latency['median']} ms, p99 {latency['p99']} ms from the frame "
            f"a plate was first read to the broker's PUBACK ({detail['hits']} hits in "
            f"{detail['seconds']:g} s at {detail['fps']:g} fps)"
        )
    elif "hit_latency" in result:
        print(f"hit latency: not measured ({result['hit_latency'].get('note', 'no hits')})")
    memory = result["memory"]
    latency_peak = memory.get("hit_latency_peak_rss_mb")
    print(
        f"memory:     peak {memory['peak_rss_mb']} MB resident (vision and pipeline "
        f"{memory['vision_and_pipeline_peak_rss_mb']} MB"
        + ("" if latency_peak is None else f"; the hit-latency run of the unit {latency_peak} MB")
        + ")"
    )
    return EXIT_OK
