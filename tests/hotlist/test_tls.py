"""The hotlist loop over TLS, as at the roadside (mqtt.tls): a real Mosquitto with a TLS
listener and a certificate from a test CA; the centre publishes with --ca, the unit syncs with
`mqtt.tls.ca` from its config. A client that does not trust the CA gets no connection."""

from __future__ import annotations

import datetime as dt
import ipaddress
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from edge.cli import main
from edge.config import load_config
from edge.hotlist.index import IndexHolder
from edge.hotlist.unit import make_sync
from tests.hotlist.test_sync import wait_for
from tests.support.broker import MosquittoBroker, free_port
from tests.support.hotlist import Centre, entry, write_config

pytestmark = pytest.mark.broker


def make_ca_and_server(folder) -> tuple:
    now = dt.datetime.now(dt.UTC)

    def cert(subject, issuer, key, signer, *, ca: bool, san=None):
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key, server_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test force CA")])
    ca = cert(ca_name, ca_name, ca_key, ca_key, ca=True)
    server = cert(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]),
        ca_name,
        server_key,
        ca_key,
        ca=False,
        san=[x509.IPAddress(ipaddress.ip_address("127.0.0.1"))],
    )
    paths = {name: folder / f"{name}.pem" for name in ("ca", "server", "server-key")}
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths["server"].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths["server-key"].write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


@pytest.fixture
def tls_broker(tmp_path):
    paths = make_ca_and_server(tmp_path)
    port = free_port()
    # Started as root, Mosquitto drops to its own user before reading the key; a test keeps
    # root so it can read the key in pytest's private temporary folder.
    instance = MosquittoBroker(
        tmp_path,
        extra_config=(
            f"user root\nlistener {port} 127.0.0.1\ncafile {paths['ca']}\n"
            f"certfile {paths['server']}\nkeyfile {paths['server-key']}\n"
        ),
    )
    instance.start()
    try:
        yield port, paths["ca"]
    finally:
        instance.stop()


def test_publish_and_sync_over_tls(tmp_path, tls_broker, capsys):
    port, ca = tls_broker
    centre = Centre(tmp_path / "keys")
    config = load_config(write_config(tmp_path, centre.trusted_paths, port=port, tls_ca=ca))
    assert config.mqtt.tls.enabled
    stop, holder = threading.Event(), IndexHolder()
    sync = make_sync(config, holder, stop)
    sync.start()
    try:
        wait_for(sync.connected.is_set, "connected over TLS")
        bundle = tmp_path / "v1.json"
        bundle.write_bytes(centre.snapshot("national", 1, [entry("AB12CDE")]))
        assert (
            main(
                [
                    "hotlist",
                    "publish",
                    str(bundle),
                    "--broker",
                    f"127.0.0.1:{port}",
                    "--ca",
                    str(ca),
                ]
            )
            == 0
        )
        wait_for(lambda: holder.versions().get("national") == 1, "applied over TLS")
    finally:
        stop.set()
        sync.join(20)
    capsys.readouterr()
    (tmp_path / "other").mkdir()
    other_ca = make_ca_and_server(tmp_path / "other")["ca"]  # a CA the broker never used
    assert (
        main(
            [
                "hotlist",
                "publish",
                str(bundle),
                "--broker",
                f"127.0.0.1:{port}",
                "--ca",
                str(other_ca),
                "--timeout",
                "3",
            ]
        )
        == 1
    )
    assert "certificate verify failed" in capsys.readouterr().err
