"""`anpr-edge config sign|publish|remote`: signed partial configurations. The centre signs a
TOML file of the settings it may change remotely (`edge.config.schema.REMOTE_KEYS`) and
publishes it, retained, for a group of units; `config remote` shows a unit's state."""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path

from edge.cli.common import EXIT_OK, add_command, add_config_flag, add_json_flag, print_json
from edge.cli.hotlist_centre_cmd import add_group_publish, add_update_sign_options, write_signed
from edge.cli.hotlist_query import config_of
from edge.errors import UserError


def register_remote(group: argparse._SubParsersAction) -> None:
    sign = add_command(group, "sign", sign_command)
    sign.add_argument("settings", metavar="TOML")
    add_update_sign_options(sign)
    publish = add_group_publish(
        group,
        "config",
        "config_topic",
        "anpr-edge config publish config-3.json --group all --broker broker:8883 --ca ca.crt",
    )
    remote = add_command(group, "remote", remote_command)
    add_config_flag(remote)
    for parser in (sign, publish, remote):
        add_json_flag(parser)


def sign_command(args: argparse.Namespace) -> int:
    """sign a partial configuration (TOML, only the keys a unit accepts remotely) (the centre)

    Example:
        anpr-edge config sign remote.toml --key keys/config-2026.key --version 3 --out config-3.json
    """
    from edge.hotlist.signing import load_signing_key
    from edge.times import rfc3339_now
    from edge.updates.config_bundle import build_config_payload, seal_config

    try:
        settings = tomllib.loads(Path(args.settings).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UserError(f"{args.settings}: {exc}") from None
    key = load_signing_key(Path(args.key))
    payload = build_config_payload(args.version, settings, args.issued_at or rfc3339_now())
    bundle = seal_config(payload, key)
    keys = sorted(f"{s}.{k}" for s, table in settings.items() for k in table)
    return write_signed(args, bundle, key.key_id, "configuration", {"keys": keys})


def remote_command(args: argparse.Namespace) -> int:
    """this unit's remote configuration: last good, pending, highest seen, undone

    Example:
        anpr-edge config remote --json
    """
    from edge.updates.config_update import RemoteConfigStore

    config, _ = config_of(args)
    store = RemoteConfigStore(config.remote_config_dir)
    state = store.read()
    settings = store.settings(state.current) if state.current is not None else {}
    result = {
        "current": state.current,
        "pending": state.pending,
        "highest_seen": state.highest_seen,
        "rolled_back": list(state.rolled_back),
        "settings": settings,
    }
    if args.json:
        print_json(result)
    else:
        current = "none (the file alone)" if state.current is None else f"v{state.current}"
        print(f"last good  {current}")
        print(f"pending    {'none' if state.pending is None else f'v{state.pending}'}")
        print(f"highest    v{state.highest_seen} seen")
        for section, table in settings.items():
            for key, value in table.items():
                print(f"  {section}.{key} = {value!r}")
    return EXIT_OK
