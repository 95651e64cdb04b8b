"""A unit and clients on the centre's broker for the security tests: the centre and units as
MQTT 5 clients with test certificates, a unit config with mutual TLS, the real unit started and
stopped, and what it stored."""

from __future__ import annotations

import itertools
import json
import signal
import subprocess
from pathlib import Path

from tests.support.cli import anpr, start
from tests.support.security import CENTRE_CN, Client, Identity, TestCA
from tests.support.unit import write_unit_config

UNIT = "test-unit"  # the unit id write_unit_config gives a unit, and so its certificate's CN
OTHER = "unit-b"
GRANTED_QOS1 = 1
ACCEPTED = {0x00, 0x10}  # PUBACK: success, or success with no subscriber yet
_SEQUENCE = itertools.count(1)  # distinct client ids: a second "centre" would take over the first


def centre(broker, ca: TestCA, *, subscribe: str | None = "anpr/v1/units/+/#") -> Client:
    client = Client(broker, ca.cert_path, ca.issue(CENTRE_CN), f"centre-{next(_SEQUENCE)}")
    assert client.connect() == 0, broker.log.read_text()
    if subscribe:
        assert client.subscribe(subscribe) == GRANTED_QOS1
    return client


def unit_client(broker, ca: TestCA, cn: str, client_id: str | None = None) -> Client:
    client = Client(broker, ca.cert_path, ca.issue(cn), client_id or f"anpr-{cn}")
    assert client.connect() == 0, broker.log.read_text()
    return client


def tls_unit_config(folder: Path, broker, ca_cert: Path, identity: Identity,
                    *, extra: str = "", mqtt_extra: str = "") -> Path:  # fmt: skip
    """write_unit_config (a demo hotlist applied, state under `folder`) with mutual TLS on."""
    folder.mkdir(parents=True, exist_ok=True)
    path = write_unit_config(folder, broker, extra=extra)
    plain = "tls = { enabled = false }\n"
    text = path.read_text()
    assert plain in text
    path.write_text(
        text.replace(
            plain,
            f'tls = {{ enabled = true, ca = "{ca_cert}", cert = "{identity.cert}", '
            f'key = "{identity.key}" }}\n{mqtt_extra}',
        )
    )
    path.chmod(0o600)
    return path


def start_unit(config: Path, *args: str, **options) -> subprocess.Popen:
    return start("run", "--config", str(config), *args, **options)


def stop_unit(unit: subprocess.Popen, timeout_s: float = 60) -> tuple[str, str]:
    if unit.poll() is None:
        unit.send_signal(signal.SIGTERM)
    try:
        return unit.communicate(timeout=timeout_s)
    finally:
        if unit.poll() is None:
            unit.kill()
            unit.communicate()


def payloads(client: Client, topic_filter: str) -> list[dict]:
    return [json.loads(m.payload) for m in client.received(topic_filter)]


def stored(config: Path, kind: str) -> list[dict]:
    result = anpr(kind, "--config", str(config), "--limit", "100000", "--json", process=True)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)[kind]
