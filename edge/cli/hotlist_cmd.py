"""`anpr-edge hotlist …`: the unit's lists (apply, import, remove, status, check, export); the
centre's commands (keygen, sign, publish) are in `hotlist_centre_cmd`. Forms and JSON keys:
DESIGN §6."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from edge.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    add_command,
    add_config_flag,
    add_group,
    add_json_flag,
    fail,
    print_json,
)
from edge.cli.hotlist_centre_cmd import read_bundle, register_centre
from edge.errors import UserError
from edge.progress import for_command

# Site changes go to the store; the running service loads its lists when it starts.
RESTART_NOTE = (
    "The running service reads its lists at start: systemctl restart anpr-edge after this."
)


def register(subparsers: argparse._SubParsersAction) -> None:
    group = add_group(
        subparsers,
        "hotlist",
        help="signed hotlists: keys, bundles, the unit's lists, matching",
        example="anpr-edge hotlist status --json",
    )
    register_centre(group)

    apply = add_command(
        group,
        "apply",
        help="apply a bundle file to this unit (same checks as "
        "over MQTT); exit 2 with the reason if rejected",
        description="apply a bundle file to this unit (same checks as over MQTT); exit 2 with "
        "the reason if rejected. " + RESTART_NOTE,
        example="anpr-edge hotlist apply national-42.json --config unit.toml",
        handler=apply_command,
    )
    apply.add_argument("bundle", metavar="BUNDLE")

    imp = add_command(
        group,
        "import",
        help="load a local, unsigned list from a CSV (this unit only; marked local in every match)",
        description="load a local, unsigned list from a CSV (this unit only; marked local in "
        "every match). " + RESTART_NOTE,
        example="anpr-edge hotlist import local.csv --list site-watch",
        handler=import_command,
    )
    imp.add_argument("csv", metavar="CSV")
    imp.add_argument("--list", required=True, metavar="ID", dest="list_id")

    remove = add_command(
        group,
        "remove",
        help="remove a local list",
        description="remove a local list. " + RESTART_NOTE,
        example="anpr-edge hotlist remove --list site-watch",
        handler=remove_command,
    )
    remove.add_argument("--list", required=True, metavar="ID", dest="list_id")

    status = add_command(
        group,
        "status",
        help="the lists this unit holds",
        example="anpr-edge hotlist status --json",
        handler=status_command,
    )

    check = add_command(
        group,
        "check",
        help="which lists and entries a plate matches, exact or fuzzy",
        example="anpr-edge hotlist check AB12CDE --json",
        handler=check_command,
    )
    check.add_argument("vrm", metavar="VRM")

    export = add_command(
        group,
        "export",
        help="every entry held (CSV, or JSON with --json)",
        example="anpr-edge hotlist export --list national --json",
        handler=export_command,
    )
    export.add_argument("--list", metavar="ID", dest="list_id")

    for parser in (apply, imp, remove, status, check, export):
        add_json_flag(parser)
    for parser in (apply, imp, remove, status, check, export):
        add_config_flag(parser)


def apply_command(args: argparse.Namespace) -> int:
    from edge.hotlist import unit
    from edge.hotlist.apply import BundleApplier
    from edge.hotlist.bundle import envelope_limit
    from edge.hotlist.rejections import BundleRejected, Reason

    config, file = _config(args)
    limit = unit.max_payload_bytes(config)
    trusted = unit.trusted_keys(config, file)
    path = Path(args.bundle)
    try:
        if path.stat().st_size > envelope_limit(limit):  # refused before reading it in
            raise BundleRejected(
                Reason.OVERSIZED, f"{path.stat().st_size} bytes exceeds hotlist.max_bundle_mb"
            )
        with (
            for_command(args, "hotlist apply") as progress,
            unit.open_store(config) as store,
        ):
            applier = BundleApplier(
                store,
                trusted,
                max_payload_bytes=limit,
                lists=config.hotlist.lists,
                progress=progress.update,
            )
            progress.phase("checking the signature and applying", unit="entries")
            applied = applier.apply(read_bundle(path))
    except BundleRejected as rejected:
        if args.json:
            print_json(
                {"applied": False, "reason": rejected.reason.value, "message": rejected.detail}
            )
        else:
            fail(f"{path}: {rejected}")
        return EXIT_USAGE
    except FileNotFoundError:
        raise UserError(f"{path}: file not found") from None
    if args.json:
        print_json(
            {
                "applied": True,
                "list": applied.list_id,
                "kind": applied.kind,
                "version": applied.version,
                "previous_version": applied.previous_version,
                "entries": applied.entries,
                "changed": applied.changed,
                "key_id": applied.key_id,
                "seconds": round(applied.seconds, 3),
            }
        )
    else:
        print(
            f"applied {applied.kind} {applied.list_id} v{applied.version} (was "
            f"{_version(applied.previous_version)}): {applied.entries} entries, "
            f"{applied.seconds:.1f} s"
        )
    return EXIT_OK


def import_command(args: argparse.Namespace) -> int:
    from edge.hotlist import unit
    from edge.hotlist.csv_import import read_entries
    from edge.hotlist.local import import_local_list

    config, _ = _config(args)
    with for_command(args, "hotlist import") as progress:
        entries = read_entries(Path(args.csv), progress)
        with unit.open_store(config) as store:
            info = import_local_list(
                store,
                args.list_id,
                entries,
                signed_lists=config.hotlist.lists,
                progress=progress,
            )
    if args.json:
        print_json(_list_json(info))
    else:
        print(f"imported local list {info.list_id} v{info.version}: {info.entries} entries")
    return EXIT_OK


def remove_command(args: argparse.Namespace) -> int:
    from edge.hotlist import unit
    from edge.hotlist.local import remove_local_list

    config, _ = _config(args)
    with unit.open_store(config) as store:
        remove_local_list(store, args.list_id)
    if args.json:
        print_json({"removed": args.list_id})
    else:
        print(f"removed local list {args.list_id}")
    return EXIT_OK


def status_command(args: argparse.Namespace) -> int:
    from edge.hotlist import unit

    config, _ = _config(args)
    with unit.open_store(config) as store:
        lists = store.lists()
    if args.json:
        print_json(
            {"store": str(config.storage.hotlist_file), "lists": [_list_json(i) for i in lists]}
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
    from edge.hotlist import unit
    from edge.hotlist.fuzzy import FuzzyPolicy
    from edge.hotlist.keys import normalise_vrm
    from edge.hotlist.matcher import match_in_store

    config, _ = _config(args)
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
    import csv

    from edge.hotlist import unit

    config, _ = _config(args)
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


def _config(args: argparse.Namespace):
    from edge.config import load_config
    from edge.config.loader import resolve_config_path

    return load_config(args.config), str(resolve_config_path(args.config))


def _list_json(info) -> dict:
    return {
        "list": info.list_id,
        "version": info.version,
        "entries": info.entries,
        "issued_at": info.issued_at,
        "local": info.local,
        "key_id": info.key_id,
        "applied_at": info.applied_at,
    }


def _version(version: int | None) -> str:
    return "none" if version is None else f"v{version}"
