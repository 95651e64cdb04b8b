"""Helpers for the unit tests (no tests here): JSON Schema validation of the unit's payloads,
a unit config on a test broker with a signed demo hotlist, and a real MQTT subscriber."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import jsonschema
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from referencing import Registry, Resource

from edge.config import load_config
from edge.devtools.demo import prepare_demo_hotlist
from edge.store.database import open_database
from tests.support.broker import MosquittoBroker
from tests.support.cli import anpr

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "schemas"
PREFIX = "anpr/v1"


def _registry() -> Registry:
    resources = []
    for path in SCHEMAS.glob("*.schema.json"):
        schema = json.loads(path.read_text())
        resources.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources)


REGISTRY = _registry()


def validate(name: str, payload: dict) -> None:
    """Raise jsonschema.ValidationError unless `payload` fits docs/schemas/{name}.schema.json."""
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    jsonschema.Draft202012Validator(schema, registry=REGISTRY).validate(payload)


def write_unit_config(
    folder: Path,
    broker,
    *,
    fps: float = 15.0,
    look: str = "ir",
    seed: int = 7,
    source: str = "synthetic",
    extra: str = "",
    camera_extra: str = "",
    health_s: float = 1.0,
    keepalive_s: int = 5,
) -> Path:
    """A unit config on `broker` with its state under `folder` and a demo hotlist applied
    (every sixth vehicle of the road with this seed)."""
    path = folder / "unit.toml"
    keys = folder / "keys"
    path.write_text(
        f'[unit]\nid = "test-unit"\nlocation = {{ lat = 51.5, lon = -0.1 }}\n'
        f'[camera]\nsource = "{source}"\nfps = {fps}\nseed = {seed}\nlook = "{look}"\n'
        f"{camera_extra}"
        f'[hotlist]\nlists = ["demo"]\n'
        f'trusted_keys = ["{keys}/centre-a.pub", "{keys}/centre-b.pub"]\n'
        f'[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\ntls = {{ enabled = false }}\n'
        f"keepalive_s = {keepalive_s}\nconnect_timeout_s = 5.0\n"
        f'[storage]\npath = "{folder / "state" / "anpr.db"}"\n'
        f'[health]\ninterval_s = {health_s}\nstatus_file = "{folder / "run" / "status.json"}"\n'
        f"{extra}"
    )
    prepare_demo_hotlist(load_config(path), str(path))
    open_database(folder / "state" / "anpr.db").close()  # as the unit's first start makes it
    return path


class Subscriber:
    """A real MQTT client on the unit's topics; keeps every message in arrival order.
    `persistent=True`: a session that survives its own and the broker's restarts (the broker
    needs persistence on), so nothing published meanwhile is missed."""

    def __init__(self, broker, name: str = "test-subscriber", persistent: bool = False):
        self.messages: list[tuple[str, dict, bool]] = []
        self.lock = threading.Lock()
        self.connected = threading.Event()
        self.persistent = persistent
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=name, protocol=MQTTProtocolVersion.MQTTv5
        )
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *args: self.connected.clear()
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.client.reconnect_delay_set(1, 2)
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = 3600 if persistent else 0
        self.client.connect(
            broker.host, broker.port, clean_start=not persistent, properties=properties
        )
        self.client.loop_start()
        wait_for(self.connected.is_set, "the subscriber did not connect")

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if self.persistent and flags.session_present:
            self.connected.set()  # the broker kept the subscription
        else:
            client.subscribe(f"{PREFIX}/#", qos=1)  # connected once the SUBACK is back

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        self.connected.set()

    def _on_message(self, client, userdata, message) -> None:
        if message.topic.startswith((f"{PREFIX}/models/", f"{PREFIX}/config/")):
            return  # the centre's signed bundles (large, and deliberately broken in tests)
        with self.lock:
            self.messages.append((message.topic, json.loads(message.payload), message.retain))

    def of(self, kind: str) -> list[dict]:
        with self.lock:
            return [payload for topic, payload, _ in self.messages if topic.endswith("/" + kind)]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def wait_for(condition, what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s:.0f} s: {what}")


def persistent_broker(folder, broker) -> MosquittoBroker:
    """A broker on `broker`'s port that keeps sessions across its restarts (`broker` stops).
    Started as root, mosquitto would drop to its own user, which cannot write in the test's
    private folder: `user root` keeps it (ignored when the tests do not run as root)."""
    broker.stop()
    return MosquittoBroker(
        folder,
        port=broker.port,
        extra_config=f"persistence true\npersistence_location {folder}/\nuser root\n",
    )


def stored(config: Path, kind: str) -> list[dict]:
    result = anpr(kind, "--config", str(config), "--limit", "100000", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)[kind]


def check_delivery(config: Path, subscriber: Subscriber) -> tuple[list[dict], list[dict]]:
    """Every stored read and hit was delivered and received exactly as stored, valid against
    its schema; every hit has a read with the same read_id that says so."""
    reads, hits = stored(config, "reads"), stored(config, "hits")
    wait_for(lambda: len(subscriber.of("reads")) >= len(reads), "reads not all received")
    wait_for(lambda: len(subscriber.of("hits")) >= len(hits), "hits not all received")
    received_reads, received_hits = subscriber.of("reads"), subscriber.of("hits")
    assert all(record["delivered"] for record in reads + hits)
    assert {r["read_id"] for r in received_reads} == {r["read_id"] for r in reads}
    assert {h["read_id"] for h in received_hits} == {h["read_id"] for h in hits}
    for payload in received_reads:
        validate("read", payload)
    for payload in received_hits:
        validate("hit", payload)
    by_id = {r["read_id"]: r for r in received_reads}
    for hit in received_hits:
        assert by_id[hit["read_id"]]["hit"] is True
        assert by_id[hit["read_id"]]["vrm"] == hit["vrm"]
    assert len(received_hits) == len({h["read_id"] for h in received_hits})
    assert len(received_hits) == len({h["vrm"] for h in received_hits})  # one per vehicle
    return received_reads, received_hits


class NotifySocket:
    """The test's own systemd notify socket: collects every datagram the unit sends."""

    def __init__(self, folder: Path):
        self.path = str(folder / "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.messages: list[str] = []

    def collect(self, seconds: float) -> list[str]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except TimeoutError:
                continue
        return self.messages

    def until(self, field: str, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if any(field in m.split("\n") for m in self.collect(0.2)):
                return
        raise AssertionError(f"no {field} from the unit; got {self.messages}")


SMALL_ROAD = 'source = "synthetic"\nresolution = [728, 544]\nfps = 15.0'


def unit_config(
    folder: Path,
    port: int,
    *,
    tls: str = "{ enabled = false }",
    camera: str = SMALL_ROAD,
    extra: str = "",
) -> Path:
    """A unit on 127.0.0.1:`port` with its state under `folder`, the demo hotlist signed and
    applied, and the config file 0640 as the installer leaves it."""
    path = folder / "unit.toml"
    keys = folder / "keys"
    path.write_text(
        f'[unit]\nid = "test-unit"\n[camera]\n{camera}\n'
        f'[hotlist]\nlists = ["demo"]\n'
        f'trusted_keys = ["{keys}/centre-a.pub", "{keys}/centre-b.pub"]\n'
        f'[mqtt]\nhost = "127.0.0.1"\nport = {port}\ntls = {tls}\nconnect_timeout_s = 5.0\n'
        f'[storage]\npath = "{folder / "state" / "anpr.db"}"\nquota_mb = 64\n'
        f"{extra}"
    )
    prepare_demo_hotlist(load_config(path), str(path))
    path.chmod(0o640)
    return path
