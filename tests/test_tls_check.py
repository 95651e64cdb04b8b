"""The TLS set-up explained (edge.tls_check) against a real Mosquitto that requires client
certificates from a test force CA: the broker's certificate not signed by our CA, the broker
refusing our certificate, a handshake that works; and the files themselves (missing, swapped,
not a pair, readable by others), as `run` reports them at start."""

from __future__ import annotations

import logging

import pytest

from edge.cli.run_cmd import check_tls_at_start
from edge.config import load_config
from edge.errors import UserError
from edge.tls_check import check_tls_files, explain_tls_failure
from tests.support.broker import MosquittoBroker, free_port
from tests.support.cli import anpr
from tests.support.security import TestCA


@pytest.fixture
def force(tmp_path):
    """The force CA, a unit identity it issued, and another CA with its own unit."""
    ca, other = TestCA(tmp_path / "force"), TestCA(tmp_path / "other", "another CA")
    return ca, ca.issue("unit-1"), other, other.issue("unit-2")


@pytest.fixture
def mtls(tmp_path, force):
    ca = force[0]
    server = ca.issue("127.0.0.1", server_ip="127.0.0.1")
    port = free_port()
    broker = MosquittoBroker(
        tmp_path,
        extra_config=(
            f"user root\nlistener {port} 127.0.0.1\ncafile {ca.cert_path}\n"
            f"certfile {server.cert}\nkeyfile {server.key}\nrequire_certificate true\n"
        ),
    )
    broker.start()
    try:
        yield port
    finally:
        broker.stop()


@pytest.mark.broker
def test_a_working_handshake_explains_nothing(mtls, force):
    ca, unit, _, _ = force
    assert explain_tls_failure("127.0.0.1", mtls, ca.cert_path, unit.cert, unit.key) is None


@pytest.mark.broker
def test_a_broker_certificate_from_another_ca_is_named_as_such(mtls, force):
    _, unit, other, _ = force
    reason = explain_tls_failure("127.0.0.1", mtls, other.cert_path, unit.cert, unit.key)
    assert reason == (
        f"the broker's certificate is not signed by the CA in {other.cert_path} (mqtt.tls.ca): "
        "self-signed certificate in certificate chain"
    )


@pytest.mark.broker
def test_the_broker_refusing_our_certificate_is_named_as_such(mtls, force):
    ca, _, _, stranger = force
    reason = explain_tls_failure("127.0.0.1", mtls, ca.cert_path, stranger.cert, stranger.key)
    assert reason == (
        f"the broker 127.0.0.1:{mtls} refused our certificate (TLSV1_ALERT_UNKNOWN_CA): "
        f"{stranger.cert} is not signed by a CA the broker trusts, has expired or is revoked"
    )
    reason = explain_tls_failure("127.0.0.1", mtls, ca.cert_path)
    assert reason == (
        f"the broker 127.0.0.1:{mtls} refused our certificate "
        "(TLSV13_ALERT_CERTIFICATE_REQUIRED): it requires a client certificate "
        "(mqtt.tls.cert, mqtt.tls.key)"
    )


def test_no_broker_at_all_is_said_plainly(force):
    ca, unit, _, _ = force
    port = free_port()
    reason = explain_tls_failure("127.0.0.1", port, ca.cert_path, unit.cert, unit.key, None, 2.0)
    assert reason == f"cannot reach the broker 127.0.0.1:{port}: Connection refused"


def test_files_missing_swapped_or_not_a_pair_are_named(tmp_path, force):
    ca, unit, _, stranger = force
    missing = tmp_path / "tls" / "unit.key"
    assert [str(p) for p in check_tls_files(ca.cert_path, unit.cert, missing)] == [
        f"mqtt.tls.key: {missing}: no such file"
    ]
    assert [str(p) for p in check_tls_files(ca.cert_path, unit.key, unit.cert)] == [
        f"mqtt.tls.cert: {unit.key}: is a private key, not a certificate (cert and key swapped?)",
        f"mqtt.tls.key: {unit.cert}: is a certificate, not a private key (cert and key swapped?)",
    ]
    assert [str(p) for p in check_tls_files(unit.key, unit.cert, unit.key)] == [
        f"mqtt.tls.ca: {unit.key}: is a private key, not a certificate (cert and key swapped?)"
    ]
    assert [str(p) for p in check_tls_files(ca.cert_path, unit.cert, stranger.key)] == [
        f"mqtt.tls.cert and mqtt.tls.key do not match: {unit.cert} is the certificate of "
        f"another key than {stranger.key}"
    ]
    # a handshake is not even tried: the files say what is wrong
    assert explain_tls_failure("127.0.0.1", 1, ca.cert_path, unit.key, unit.cert) == (
        f"mqtt.tls.cert: {unit.key}: is a private key, not a certificate (cert and key swapped?)"
    )
    assert check_tls_files(ca.cert_path, unit.cert, unit.key) == []


def test_a_key_others_can_read_is_a_warning(force):
    ca, unit, _, _ = force
    unit.key.chmod(0o644)
    problems = check_tls_files(ca.cert_path, unit.cert, unit.key)
    assert [(str(p), p.warning) for p in problems] == [
        (
            f"mqtt.tls.key: {unit.key}: is mode 0644: group or others can read the unit's "
            "private key (chmod 600)",
            True,
        )
    ]


def unit_config(tmp_path, ca, cert, key):
    path = tmp_path / "unit.toml"
    path.write_text(
        '[unit]\nid = "test-unit"\n'
        f'[hotlist]\ntrusted_keys = ["{tmp_path}/a.pub", "{tmp_path}/b.pub"]\n'
        f'[mqtt]\nhost = "127.0.0.1"\nport = {free_port()}\n'
        f'tls = {{ enabled = true, ca = "{ca}", cert = "{cert}", key = "{key}" }}\n'
        f'[storage]\npath = "{tmp_path / "state" / "anpr.db"}"\n'
        f'[health]\nstatus_file = "{tmp_path / "run" / "status.json"}"\n'
    )
    return path


def test_run_names_a_missing_tls_file_and_its_key_before_starting(tmp_path, force):
    ca, unit, _, _ = force
    missing = tmp_path / "tls" / "unit.key"
    config = unit_config(tmp_path, ca.cert_path, unit.cert, missing)
    result = anpr("run", "--config", str(config), "--duration", "1", process=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        f"anpr-edge: error: mqtt.tls.key: {missing}: no such file"
    )
    assert "Errno" not in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "state").exists()  # nothing started


def test_run_warns_of_a_key_others_can_read_and_refuses_a_swapped_pair(tmp_path, force, caplog):
    ca, unit, _, _ = force
    unit.key.chmod(0o644)
    config = load_config(unit_config(tmp_path, ca.cert_path, unit.cert, unit.key))
    with caplog.at_level(logging.WARNING, logger="edge.cli.run_cmd"):
        check_tls_at_start(config)  # a warning, not a stop
    assert caplog.messages == [
        f"mqtt.tls.key: {unit.key}: is mode 0644: group or others can read the unit's private "
        "key (chmod 600)"
    ]
    unit.key.chmod(0o600)
    swapped = load_config(unit_config(tmp_path, ca.cert_path, unit.key, unit.cert))
    with pytest.raises(UserError) as raised:
        check_tls_at_start(swapped)
    assert str(raised.value) == (
        f"mqtt.tls.cert: {unit.key}: is a private key, not a certificate (cert and key "
        f"swapped?); mqtt.tls.key: {unit.cert}: is a certificate, not a private key (cert and "
        "key swapped?)"
    )
