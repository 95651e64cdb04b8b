"""`anpr-edge hotlist status`, `check` and `export`: what the unit's lists hold, read only;
and what every `hotlist` command shares (its config, a list as JSON)."""

from __future__ import annotations

import argparse
import json
import sys

from edge.cli.common import EXIT_OK, print_json
from edge.errors import UserError


def status_command(args: argparse.Namespace) -> int:
    """the lists this unit holds

    Example:
        anpr-edge hotlist status --json
    """
    from edge.hotlist import unit

    config, _ = config_of(args)
    with unit.open_store(config) as store:
        lists = store.lists()
    if args.json:
        print_json(
            {"store": str(config.storage.hotlist_file), "lists": [list_json(i) for i in lists]}
        )
        return EXIT_OK
    if not lists:
        print(f"no hotlists held in {config.storage.hotlist_file}")
    for info in lists:
        source = "local" if info.local else f"signed by {info.key_id}"
        print(
            f"{info.list_id}: v{info.version}, {info.entries} entries, issued "
            f"{info.issued_at}, {source}, applied {info.applied_at}"
        )
    missing = [name for name in config.hotlist.lists if name not in {i.list_id for i in lists}]
    if missing:
        print(f"not yet received: {', '.join(missing)}")
    return EXIT_OK


def check_command(args: argparse.Namespace) -> int:
    """which lists and entries a plate matches, exact or fuzzy

    Example:
        anpr-edge hotlist check AB12CDE --json
    """
    from edge.hotlist import unit
    from edge.hotlist.fuzzy import FuzzyPolicy
    from edge.hotlist.keys import normalise_vrm
    from edge.hotlist.matcher import match_in_store

    config, _ = config_of(args)
    try:
        vrm = normalise_vrm(args.vrm)
    except ValueError as exc:
        raise UserError(f"VRM {args.vrm!r}: {exc}") from None
    with unit.open_store(config) as store:
        matches = match_in_store(store, vrm, FuzzyPolicy.from_config(config))
    rows = [
        {
            "list": m.list_id,
            "version": m.version,
            "vrm": m.entry.vrm,
            "kind": m.kind,
            "distance": m.distance,
            "category": m.entry.category,
            "priority": m.entry.priority,
            "action": m.entry.action,
            "reason": m.entry.reason,
            "local": m.local,
            "confusion_only": m.confusion_only,
        }
        for m in matches
    ]
    if args.json:
        print_json({"vrm": vrm, "matches": rows})
    elif not rows:
        print(f"{vrm}: no match")
    for row in [] if args.json else rows:
        how = (
            "exact"
            if row["kind"] == "exact"
            else (
                f"fuzzy, distance {row['distance']}"
                f"{', OCR confusion' if row['confusion_only'] else ''}"
            )
        )
        print(
            f"{vrm}: {row['vrm']} on {row['list']} v{row['version']}"
            f"{' (local)' if row['local'] else ''} ({how}): {row['category']}, priority "
            f"{row['priority']}, {row['action']}"
        )
    return EXIT_OK


def export_command(args: argparse.Namespace) -> int:
    """every entry held (CSV, or JSON with --json)

    Example:
        anpr-edge hotlist export --list national --json
    """
    import csv

    from edge.hotlist import unit

    config, _ = config_of(args)
    with unit.open_store(config) as store:
        if args.list_id is not None and store.get(args.list_id) is None:
            raise UserError(f"--list {args.list_id!r}: no such list on this unit")
        entries = store.iter_entries(args.list_id)
        out = sys.stdout
        if args.json:  # streamed: a national list does not fit in memory as one document
            out.write('{"entries": [')
            for i, entry in enumerate(entries):
                out.write(("," if i else "") + "\n  " + json.dumps(entry, ensure_ascii=False))
            out.write("\n]}\n")
            return EXIT_OK
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(
            ["list", "vrm", "category", "priority", "action", "reason", "expires_at", "local"]
        )
        for entry in entries:
            writer.writerow(
                [
                    entry["list"],
                    entry["vrm"],
                    entry["category"],
                    entry["priority"],
                    entry["action"],
                    entry["reason"],
                    entry["expires_at"] or "",
                    "true" if entry["local"] else "false",
                ]
            )
    return EXIT_OK


def config_of(args: argparse.Namespace):
    from edge.config import load_config
    from edge.config.loader import resolve_config_path

    return load_config(args.config), str(resolve_config_path(args.config))


def list_json(info) -> dict:
    return {
        "list": info.list_id,
        "version": info.version,
        "entries": info.entries,
        "issued_at": info.issued_at,
        "local": info.local,
        "key_id": info.key_id,
        "applied_at": info.applied_at,
    }
