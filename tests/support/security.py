"""Helpers for the security tests (tests/system/security/; no tests here): a test force CA
that issues broker, unit and centre certificates (and a CRL), the committed centre broker
configuration (firmware_config/mosquitto-centre.conf) run by a real Mosquitto with only its file
paths, port and run-as user rewritten, and a small MQTT 5 client that reports reason codes."""

from __future__ import annotations

import os
import queue
import shutil
import ssl
import subprocess
import threading
import warnings
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from edge.devtools.pki import ForceCA, Identity
from edge.hotlist.bundle import seal, snapshot_payload
from edge.hotlist.signing import load_signing_key
from edge.times import rfc3339_now
from tests.support.broker import MosquittoBroker, free_port
from tests.support.paths import REPO

CENTRE_CONF = REPO / "firmware_config" / "mosquitto-centre.conf"
CENTRE_ACL = REPO / "firmware_config" / "mosquitto-centre.acl"
CENTRE_CN = "anpr.centre"
PUBLISHER_CN = "anpr.centre.hotlists"  # the centre's hotlist publisher: a certificate of its own
NOT_AUTHORIZED = 0x87  # MQTT 5 reason code "Not authorized" (PUBACK, SUBACK, CONNACK)


class TestCA(ForceCA):
    """A force CA in `folder` (edge.devtools.pki): certificates valid from 5 minutes ago for a
    day unless told otherwise."""

    __test__ = False  # not a pytest class

    def __init__(self, folder: Path, name: str = "test force CA"):
        super().__init__(folder, name, days=1)


# The directives whose values name a file, folder, port or user of the machine the broker runs
# on: the only ones a test may change. Every other line of the committed file is used verbatim.
REWRITTEN = ("user", "listener", "cafile", "certfile", "keyfile", "crlfile", "acl_file",
             "persistence_location", "log_dest")  # fmt: skip


def centre_config(committed: str, *, port: int, files: dict[str, str]) -> str:
    """The committed broker configuration with its machine-specific values replaced: `files`
    maps each of REWRITTEN (except listener) to the test's value. Fails when the committed
    file lacks one of them or has a line this function does not know how to keep."""
    out, seen = [], set()
    for line in committed.splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            out.append(line)
            continue
        key = words[0]
        if key in REWRITTEN:
            assert key not in seen, f"{key} twice in {CENTRE_CONF.name}"
            seen.add(key)
            if key == "listener":
                assert words[1:] == ["8883"], f"unexpected listener line: {line!r}"
                out.append(f"listener {port} 127.0.0.1")
            elif key == "log_dest":
                out.append(f"log_dest file {files['log_dest']}")
            else:
                out.append(f"{key} {files[key]}")
        else:
            out.append(line)
    missing = set(REWRITTEN) - seen
    assert not missing, f"{CENTRE_CONF.name} lacks {sorted(missing)}"
    return "\n".join(out) + "\n"


class CentreBroker(MosquittoBroker):
    """Mosquitto on the committed centre configuration, with certificates from `ca`: the
    broker's own (CN and subjectAltName 127.0.0.1), and the committed ACL file as it is."""

    def __init__(self, folder: Path, ca: TestCA, port: int | None = None):
        super().__init__(folder, port or free_port())
        self.ca = ca
        server = ca.issue("127.0.0.1", server_ip="127.0.0.1")
        crl = ca.write_crl()
        data = folder / "mosquitto-data"
        data.mkdir(exist_ok=True)
        self.config.write_text(
            centre_config(
                CENTRE_CONF.read_text(),
                port=self.port,
                files={
                    # Started as root (as here), Mosquitto would drop to "mosquitto", which
                    # cannot enter pytest's private temporary folder; as another user it
                    # ignores the line.
                    "user": "root" if os.geteuid() == 0 else "mosquitto",
                    "cafile": str(ca.cert_path),
                    "certfile": str(server.cert),
                    "keyfile": str(server.key),
                    "crlfile": str(crl),
                    "acl_file": str(CENTRE_ACL),
                    "persistence_location": f"{data}/",
                    "log_dest": str(self.log),
                },
            )
        )


def old_tls_context(ca_cert: Path, identity: Identity) -> ssl.SSLContext:
    """A client context that offers TLS 1.1 only, as an outdated client would."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(str(ca_cert))
    context.load_cert_chain(str(identity.cert), str(identity.key))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")  # else OpenSSL 3 will not offer TLS 1.1 at all
    return context


def mosquitto_passwd(path: Path, user: str, password: str) -> None:
    binary = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
    subprocess.run([binary, "-b", "-c", str(path), user, password], check=True, timeout=30)


class Client:
    """One MQTT 5 client over mutual TLS (or none: `identity` None), whose PUBACK, SUBACK and
    CONNACK reason codes the test can read. `connect()` returns the CONNACK reason code as an
    int, or None when the broker closed the connection without one (a refused handshake)."""

    def __init__(self, broker, ca_cert: Path, identity: Identity | None, client_id: str,
                 *, context: ssl.SSLContext | None = None):  # fmt: skip
        self.broker = broker
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5
        )
        if context is not None:
            self.client.tls_set_context(context)
        else:
            self.client.tls_set(
                ca_certs=str(ca_cert),
                certfile=str(identity.cert) if identity else None,
                keyfile=str(identity.key) if identity else None,
            )
        self.connack: queue.Queue = queue.Queue()
        self.acks: dict[int, queue.Queue] = {}
        self.messages: list[mqtt.MQTTMessage] = []
        self.lock = threading.Lock()
        self.client.on_connect = lambda c, u, flags, rc, p: self.connack.put(rc.value)
        self.client.on_disconnect = lambda c, u, flags, rc, p: self.connack.put(None)
        self.client.on_publish = lambda c, u, mid, rc, p: self._ack(mid, [rc.value])
        self.client.on_subscribe = lambda c, u, mid, rcs, p: self._ack(mid, [r.value for r in rcs])
        self.client.on_message = self._on_message

    def _ack(self, mid: int, codes: list[int]) -> None:
        self.acks.setdefault(mid, queue.Queue()).put(codes)

    def _on_message(self, client, userdata, message) -> None:
        with self.lock:
            self.messages.append(message)

    def connect(self, timeout_s: float = 10.0, *, session_expiry_s: int = 0,
                clean_start: bool = True) -> int | None:  # fmt: skip
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = session_expiry_s
        try:
            self.client.connect(
                self.broker.host, self.broker.port, clean_start=clean_start,
                properties=properties,
            )  # fmt: skip
        except OSError:  # a TLS alert during the handshake (TLS 1.2), or a reset
            return None
        self.client.loop_start()
        try:
            return self.connack.get(timeout=timeout_s)
        except queue.Empty:
            return None

    def _wait_ack(self, mid: int, timeout_s: float) -> list[int]:
        return self.acks.setdefault(mid, queue.Queue()).get(timeout=timeout_s)

    def publish(self, topic: str, payload: bytes = b"{}", *, retain: bool = False,
                timeout_s: float = 10.0) -> int:  # fmt: skip
        """QoS 1; the PUBACK's reason code."""
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        return self._wait_ack(info.mid, timeout_s)[0]

    def subscribe(self, topic: str, timeout_s: float = 10.0) -> int:
        """QoS 1; the SUBACK's reason code (1: granted QoS 1; 0x87: not authorised)."""
        result, mid = self.client.subscribe(topic, options=SubscribeOptions(qos=1))
        assert result == mqtt.MQTT_ERR_SUCCESS, result
        return self._wait_ack(mid, timeout_s)[0]

    def received(self, topic_filter: str = "#") -> list[mqtt.MQTTMessage]:
        with self.lock:
            return [m for m in self.messages if mqtt.topic_matches_sub(topic_filter, m.topic)]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


COMMAND = {"schema": "anpr.cmd/1", "id": "sec-ping-1", "command": "ping"}


def signed_snapshot(folder: Path, list_id: str, version: int) -> Path:
    """A snapshot signed with the demo key the unit trusts (write_unit_config made it)."""
    key = load_signing_key(folder / "keys" / "centre-a.key")
    entries = [["SEC1TST", "stolen", 1, "intercept", "security test", None]]
    bundle = folder / f"{list_id}-{version}.json"
    bundle.write_bytes(seal(snapshot_payload(list_id, version, rfc3339_now(), entries), key))
    return bundle
