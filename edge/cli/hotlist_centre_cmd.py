"""`anpr-edge hotlist keygen|sign|publish`: the centre's side of hotlists, so the whole loop
(make keys, sign a list, publish it to the broker) is usable and testable from one tool."""

from __future__ import annotations

import argparse
from pathlib import Path

from edge.cli.common import EXIT_OK, add_command, add_json_flag, print_json
from edge.errors import UserError
from edge.progress import for_command


def register_centre(group: argparse._SubParsersAction) -> None:
    keygen = add_command(group, "keygen", keygen_command)
    keygen.add_argument("--out", required=True, metavar="DIR", help="folder for the key files")
    keygen.add_argument("--name", default="centre", help="file name stem (default: centre)")

    sign = add_command(group, "sign", sign_command)
    sign.add_argument("csv", metavar="CSV")
    sign.add_argument("--key", required=True, metavar="KEY", help="private key file (PEM)")
    sign.add_argument("--list", required=True, metavar="ID", dest="list_id")
    sign.add_argument("--version", required=True, type=int, metavar="N")
    sign.add_argument("--base", type=int, metavar="M", help="make a delta from version M")
    sign.add_argument("--out", required=True, metavar="BUNDLE")
    sign.add_argument("--issued-at", metavar="TIME", help="RFC 3339 UTC (default: now)")
    sign.add_argument("--compression", choices=("auto", "gzip", "none"), default="auto")

    publish = add_command(group, "publish", publish_command)
    publish.add_argument("bundle", metavar="BUNDLE")
    publish.add_argument("--prefix", default="anpr/v1", help="topic prefix (default anpr/v1)")
    publish.add_argument(
        "--retain",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="retain the message (default: snapshots yes, deltas no)",
    )
    add_broker_options(publish, "anpr-centre-publish", prefix=False)

    for parser in (keygen, sign, publish):
        add_json_flag(parser)


def keygen_command(args: argparse.Namespace) -> int:
    """make an Ed25519 signing key pair (the centre)

    Example:
        anpr-edge hotlist keygen --out keys/ --name centre-2026
    """
    from edge.hotlist.signing import generate_keypair

    key_id, private, public = generate_keypair(Path(args.out), args.name)
    if args.json:
        print_json({"key_id": key_id, "private_key": str(private), "public_key": str(public)})
    else:
        print(
            f"key_id: {key_id}\nprivate key: {private} (keep it secret, mode 0600)\n"
            f"public key: {public} (goes into hotlist.trusted_keys)"
        )
    return EXIT_OK


def sign_command(args: argparse.Namespace) -> int:
    """sign a CSV as a snapshot, or with --base as a delta (CSV with an op column: add, update,
    remove)

    Example:
        anpr-edge hotlist sign national.csv --key keys/centre.key --list national --version 42 --out
            national-42.json
        anpr-edge hotlist sign changes.csv --key keys/centre.key --list national --version 43 --base
            42 --out national-43.json
    """
    from edge.hotlist.centre import sign_csv
    from edge.hotlist.entries import parse_time
    from edge.hotlist.signing import load_signing_key
    from edge.times import rfc3339_now

    issued_at = args.issued_at or rfc3339_now()
    try:
        parse_time(issued_at)
    except ValueError as exc:
        raise UserError(f"--issued-at: {exc}") from None
    with for_command(args, "hotlist sign") as progress:
        signed = sign_csv(
            Path(args.csv),
            load_signing_key(Path(args.key)),
            list_id=args.list_id,
            version=args.version,
            base_version=args.base,
            issued_at=issued_at,
            out=Path(args.out),
            compression=args.compression,
            progress=progress,
        )
    if args.json:
        print_json(
            {
                "bundle": str(signed.path),
                "kind": signed.kind,
                "list": signed.list_id,
                "version": signed.version,
                "base_version": signed.base_version,
                "key_id": signed.key_id,
                "lines": signed.lines,
                "bytes": signed.bytes,
                "compression": signed.compression,
            }
        )
    else:
        base = f" from v{signed.base_version}" if signed.base_version else ""
        print(
            f"wrote {signed.path}: {signed.kind} {signed.list_id} v{signed.version}{base}, "
            f"{signed.lines} lines, key {signed.key_id}, {signed.bytes} bytes "
            f"({signed.compression})"
        )
    return EXIT_OK


def publish_command(args: argparse.Namespace) -> int:
    """publish a bundle to the broker (the centre); snapshots are retained

    Example:
        anpr-edge hotlist publish national-42.json --broker broker.example:8883 --ca ca.crt
    """
    from edge.hotlist.publish import publish_bundle

    broker = broker_of(args)
    with for_command(args, "hotlist publish") as progress:
        published = publish_bundle(
            read_bundle(Path(args.bundle)),
            broker,
            prefix=args.prefix,
            retain=args.retain,
            progress=progress,
        )
    if args.json:
        print_json(
            {
                "topic": published.topic,
                "list": published.list_id,
                "kind": published.kind,
                "version": published.version,
                "bytes": published.bytes,
                "retained": published.retained,
            }
        )
    else:
        print(
            f"published {published.kind} {published.list_id} v{published.version} to "
            f"{published.topic} ({published.bytes} bytes"
            f"{', retained' if published.retained else ''}); the broker acknowledged it"
        )
    return EXIT_OK


def add_broker_options(
    parser: argparse.ArgumentParser, client_id: str, *, prefix: bool = True
) -> None:
    """The centre's connection to its broker, shared by every `… publish` command."""
    parser.add_argument("--broker", required=True, metavar="HOST:PORT")
    if prefix:
        parser.add_argument("--prefix", default="anpr/v1", help="topic prefix (default anpr/v1)")
    parser.add_argument("--ca", metavar="FILE", help="CA certificate: connect with TLS")
    parser.add_argument("--cert", metavar="FILE", help="client certificate (mutual TLS)")
    parser.add_argument(
        "--key",
        metavar="FILE",
        help="client key (mutual TLS); passphrase if encrypted: $ANPR_EDGE_MQTT_KEY_PASSPHRASE",
    )
    parser.add_argument(
        "--username",
        default="",
        help="broker user name; its password comes from $ANPR_EDGE_MQTT_PASSWORD",
    )
    parser.add_argument("--client-id", default=client_id)
    parser.add_argument("--timeout", type=float, default=10.0, metavar="S")


def broker_of(args: argparse.Namespace):
    """`BrokerSettings` from the options of `add_broker_options`; secrets from the
    environment."""
    from edge.config import load_secrets
    from edge.mqtt import BrokerSettings

    host, _, port = args.broker.rpartition(":")
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise UserError(f"--broker {args.broker!r}: expected HOST:PORT")
    if (args.cert is None) != (args.key is None):
        raise UserError("--cert and --key must be given together")
    secrets = load_secrets()
    password, passphrase = (
        secrets[name].value for name in ("mqtt_password", "mqtt_key_passphrase")
    )
    return BrokerSettings(
        host,
        int(port),
        args.client_id,
        args.username,
        password.get_secret_value() if password else None,
        tls=args.ca is not None,
        ca=args.ca,
        cert=args.cert,
        key=args.key,
        key_passphrase=passphrase.get_secret_value() if passphrase else None,
        connect_timeout_s=args.timeout,
    )


def write_signed(
    args: argparse.Namespace, bundle: bytes, key_id: str, what: str, contents: dict[str, list[str]]
) -> int:
    """Write a signed update bundle to --out (0600) and say what it holds: `contents` names
    its one list of parts (models or configuration keys)."""
    from edge.files import write_private

    write_private(Path(args.out), bundle)
    ((field, parts),) = contents.items()
    if args.json:
        print_json({"bundle": args.out, "version": args.version, field: parts,
                    "key_id": key_id, "bytes": len(bundle)})  # fmt: skip
    else:
        print(f"wrote {args.out}: {what} v{args.version} ({', '.join(parts)}), key {key_id}, "
              f"{len(bundle)} bytes")  # fmt: skip
    return EXIT_OK


def add_update_sign_options(parser: argparse.ArgumentParser) -> None:
    """What `model sign` and `config sign` both take: the key, the version, the time, the
    output file."""
    parser.add_argument("--key", required=True, metavar="KEY", help="private key file (PEM)")
    parser.add_argument("--version", required=True, type=int, metavar="N")
    parser.add_argument("--issued-at", metavar="TIME", help="RFC 3339 UTC (default: now)")
    parser.add_argument("--out", required=True, metavar="BUNDLE")


def add_group_publish(
    group: argparse._SubParsersAction, noun: str, topic: str, example: str
) -> argparse.ArgumentParser:
    """The `publish` sub-command of `model` and `config`: a bundle file, a group, a broker.
    `topic` maps (prefix, group) to where it goes; the handler publishes it retained."""

    def handler(args: argparse.Namespace) -> int:
        from edge.uplink import topics

        where = getattr(topics, topic)(args.prefix, args.group)
        return publish_retained(args, where, f"{noun} publish")

    publish = add_command(
        group,
        "publish",
        help=f"publish a {noun} bundle, retained, to its group's topic (the centre)",
        example=example,
        handler=handler,
    )
    publish.add_argument("bundle", metavar="BUNDLE")
    publish.add_argument("--group", default="all", help="fleet or unit group (default: all)")
    add_broker_options(publish, f"anpr-centre-{noun}")
    return publish


def publish_retained(args: argparse.Namespace, topic: str, what: str) -> int:
    """`model publish` and `config publish`: the bundle file, retained on `topic`, confirmed
    by the broker's PUBACK."""
    from edge.hotlist.publish import publish_acknowledged

    data = read_bundle(Path(args.bundle))
    with for_command(args, what) as progress:
        publish_acknowledged(data, broker_of(args), topic, retain=True, progress=progress)
    if args.json:
        print_json({"topic": topic, "bytes": len(data), "retained": True})
    else:
        print(f"published {args.bundle} to {topic} ({len(data)} bytes, retained); acknowledged")
    return EXIT_OK


def read_bundle(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path}: file not found") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror}") from None
