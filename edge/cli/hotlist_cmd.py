"""`anpr-edge hotlist …`: the unit's lists (apply, import, remove here; status, check, export in
`hotlist_query`); the centre's commands (keygen, sign, publish) are in `hotlist_centre_cmd`.
Forms and JSON keys: DESIGN §6."""

from __future__ import annotations

import argparse
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
from edge.cli.hotlist_query import (
    check_command,
    config_of,
    export_command,
    list_json,
    status_command,
)
from edge.errors import UserError
from edge.progress import for_command

# Site changes go to the store; the running service loads its lists when it starts.
RESTART_NOTE = (
    "The running service reads its lists at start: systemctl restart anpr-edge after this."
)


# `anpr-edge hotlist` alone: what its sub-commands are for
GROUP_HELP = "signed hotlists: keys, bundles, the unit's lists, matching"
GROUP_EXAMPLE = "anpr-edge hotlist status --json"


def register(subparsers: argparse._SubParsersAction) -> None:
    group = add_group(subparsers, "hotlist", help=GROUP_HELP, example=GROUP_EXAMPLE)
    register_centre(group)

    apply = add_command(group, "apply", apply_command, note=RESTART_NOTE)
    apply.add_argument("bundle", metavar="BUNDLE")

    imp = add_command(group, "import", import_command, note=RESTART_NOTE)
    imp.add_argument("csv", metavar="CSV")
    imp.add_argument("--list", required=True, metavar="ID", dest="list_id")

    remove = add_command(group, "remove", remove_command, note=RESTART_NOTE)
    remove.add_argument("--list", required=True, metavar="ID", dest="list_id")

    status = add_command(group, "status", status_command)
    check = add_command(group, "check", check_command)
    check.add_argument("vrm", metavar="VRM")

    export = add_command(group, "export", export_command)
    export.add_argument("--list", metavar="ID", dest="list_id")

    for parser in (apply, imp, remove, status, check, export):
        add_json_flag(parser)
    for parser in (apply, imp, remove, status, check, export):
        add_config_flag(parser)


def apply_command(args: argparse.Namespace) -> int:
    """apply a bundle file to this unit (same checks as over MQTT); exit 2 with the reason if
    rejected

    Example:
        anpr-edge hotlist apply national-42.json --config unit.toml
    """
    from edge.hotlist import unit
    from edge.hotlist.apply import BundleApplier
    from edge.hotlist.bundle import envelope_limit
    from edge.hotlist.rejections import BundleRejected, Reason

    config, file = config_of(args)
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
    """load a local, unsigned list from a CSV (this unit only; marked local in every match)

    Example:
        anpr-edge hotlist import local.csv --list site-watch
    """
    from edge.hotlist import unit
    from edge.hotlist.csv_import import read_entries
    from edge.hotlist.local import import_local_list

    config, _ = config_of(args)
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
        print_json(list_json(info))
    else:
        print(f"imported local list {info.list_id} v{info.version}: {info.entries} entries")
    return EXIT_OK


def remove_command(args: argparse.Namespace) -> int:
    """remove a local list

    Example:
        anpr-edge hotlist remove --list site-watch
    """
    from edge.hotlist import unit
    from edge.hotlist.local import remove_local_list

    config, _ = config_of(args)
    with unit.open_store(config) as store:
        remove_local_list(store, args.list_id)
    if args.json:
        print_json({"removed": args.list_id})
    else:
        print(f"removed local list {args.list_id}")
    return EXIT_OK


def _version(version: int | None) -> str:
    return "none" if version is None else f"v{version}"
