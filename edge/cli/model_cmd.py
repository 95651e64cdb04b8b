"""`anpr-edge model …`: signed model updates. On the centre's side `sign` and `publish`; on a
unit `status`, `install FILE` (the same checks as a bundle over MQTT, then the running unit
switches to it within a second, on trial) and `rollback` (back to the previous version)."""

from __future__ import annotations

import argparse
from pathlib import Path

from edge.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    add_command,
    add_group,
    add_json_flag,
    fail,
    print_json,
)
from edge.cli.hotlist_centre_cmd import (
    add_group_publish,
    add_update_sign_options,
    read_bundle,
    write_signed,
)
from edge.cli.hotlist_query import config_of
from edge.errors import UserError

GROUP_HELP = "signed model updates: sign and publish (the centre); status, install, rollback"


def register(subparsers: argparse._SubParsersAction) -> None:
    group = add_group(subparsers, "model", help=GROUP_HELP, example="anpr-edge model status --json")
    sign = add_command(group, "sign", sign_command)
    sign.add_argument("--detector", metavar="TFLITE", help="new detector (manifest beside it)")
    sign.add_argument("--recogniser", metavar="TFLITE", help="new recogniser (manifest beside)")
    sign.add_argument(
        "--golden",
        required=True,
        metavar="DIR",
        help="labelled dataset (labels.csv and images) the models must read exactly",
    )
    add_update_sign_options(sign)
    sign.add_argument("--min-software", metavar="VERSION", help="default: this anpr-edge")

    publish = add_group_publish(
        group,
        "model",
        "model_topic",
        "anpr-edge model publish models-7.json --group all --broker broker:8883 --ca ca.crt",
    )

    for parser in (sign, publish):
        add_json_flag(parser)
    for name, handler in (("status", status_command), ("rollback", rollback_command)):
        add_command(group, name, handler, with_config=True, with_json=True)
    install = add_command(group, "install", install_command, with_config=True, with_json=True)
    install.add_argument("bundle", metavar="BUNDLE")


def sign_command(args: argparse.Namespace) -> int:
    """sign models and their golden images as a bundle (the centre; keys from `anpr-edge hotlist
    keygen`, a pair of their own for models)

    Example:
        anpr-edge model sign --recogniser recogniser.tflite --golden golden/ --key
            keys/models-2026.key --version 7 --out models-7.json
    """
    from edge import __version__
    from edge.hotlist.signing import load_signing_key
    from edge.times import rfc3339_now
    from edge.updates.model_bundle import build_payload, seal_models

    models = {
        role: Path(path)
        for role, path in (("detector", args.detector), ("recogniser", args.recogniser))
        if path
    }
    if not models:
        raise UserError("give --detector, --recogniser or both")
    key = load_signing_key(Path(args.key))
    payload = build_payload(
        args.version,
        models,
        Path(args.golden),
        issued_at=args.issued_at or rfc3339_now(),
        min_software=args.min_software or __version__,
    )
    bundle = seal_models(payload, key)
    return write_signed(args, bundle, key.key_id, "models", {"models": sorted(models)})


def status_command(args: argparse.Namespace) -> int:
    """this unit's model versions: current, previous, on trial, highest seen, on disk

    Example:
        anpr-edge model status --json
    """
    from edge.updates.model_store import ModelStore

    config, _ = config_of(args)
    store = ModelStore(config.model_store_dir)
    state = store.read()
    on_disk = (
        sorted(int(p.name) for p in store.versions.iterdir() if p.name.isdigit())
        if store.versions.is_dir()
        else []
    )
    result = {**state.as_json(), "store": str(store.folder), "on_disk": on_disk}
    if args.json:
        print_json(result)
    else:

        def name(version: int | None) -> str:
            return "base (configured or bundled models)" if version is None else f"v{version}"

        print(f"current   {name(state.current)}{' (on trial)' if state.trial else ''}")
        print(f"previous  {name(state.previous)}")
        print(f"highest   v{state.highest_seen} seen")
        print(f"on disk   {', '.join(f'v{v}' for v in on_disk) or 'none'} in {store.folder}")
        if state.rolled_back:
            print(f"undone    {', '.join(f'v{v}' for v in state.rolled_back)}")
    return EXIT_OK


def install_command(args: argparse.Namespace) -> int:
    """install a signed model bundle on this unit (the checks of a bundle over MQTT); exit 2 with
    the reason if rejected

    Example:
        anpr-edge model install models-7.json --config /etc/anpr-edge/unit.toml
    """
    from edge.updates.installing import install_bundle
    from edge.updates.reasons import UpdateRejected

    config, file = config_of(args)
    try:
        installed = install_bundle(config, read_bundle(Path(args.bundle)), file)
    except UpdateRejected as rejected:
        if args.json:
            print_json(
                {"installed": False, "reason": str(rejected.reason), "message": rejected.detail}
            )
        else:
            fail(f"{args.bundle}: bundle rejected ({rejected.reason}): {rejected.detail}")
        return EXIT_USAGE
    if args.json:
        print_json({"installed": True, **installed})
    else:
        print(installed["detail"])
    return EXIT_OK


def rollback_command(args: argparse.Namespace) -> int:
    """go back to the previous model version (the running unit follows within a second)

    Example:
        anpr-edge model rollback --config /etc/anpr-edge/unit.toml
    """
    from edge.updates.installing import roll_back_on_site

    config, _ = config_of(args)
    result = roll_back_on_site(config)
    if args.json:
        print_json(result)
    else:
        print(result["detail"])
    return EXIT_OK
