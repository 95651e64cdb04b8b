"""Security (issue 7, item 3): the centre's broker configuration as committed, the unit's files
and its secrets. docs/security.md says what each test proves.

The broker tests run a real Mosquitto on firmware_config/mosquitto-centre.conf itself, with
only its file paths, port and run-as user rewritten (tests/support/security.py), and on the
committed firmware_config/mosquitto-centre.acl as it is: certificates come from a test CA,
a unit's certificate CN is its unit id, the centre's is "anpr.centre".

Mosquitto 2.0 (the `acl_file` ACL) grants every SUBSCRIBE and enforces read access when it
delivers each message: a subscription to another unit's topics is acknowledged, yet nothing
published there ever reaches the subscriber. These tests check delivery, which is what
matters, and accept either SUBACK.
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.paths import REPO
from tests.support.security import (
    CENTRE_CN,
    COMMAND,
    NOT_AUTHORIZED,
    PUBLISHER_CN,
    CentreBroker,
    Client,
    Identity,
    TestCA,
    mosquitto_passwd,
    old_tls_context,
    signed_snapshot,
)
from tests.support.unit import validate, wait_for, write_unit_config

pytestmark = pytest.mark.broker

UNIT = "test-unit"  # the unit id write_unit_config gives a unit, and so its certificate's CN
GRANTED_QOS1 = 1
ACCEPTED = {0x00, 0x10}  # PUBACK: success, or success with no subscriber yet
_SEQUENCE = itertools.count(1)  # distinct client ids: a second "centre" would take over the first


# --- fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture
def ca(tmp_path) -> TestCA:
    return TestCA(tmp_path / "pki")


@pytest.fixture
def centre_broker(tmp_path, ca):
    (tmp_path / "broker").mkdir()
    broker = CentreBroker(tmp_path / "broker", ca)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


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


# No terminal: OpenSSL would ask it for a missing key passphrase, and wait.
_DETACHED = {"stdin": subprocess.DEVNULL, "start_new_session": True}


def anpr(*args: str, env: dict | None = None, timeout: float = 120,
         umask: int | None = None) -> subprocess.CompletedProcess:  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "edge", *args],
        capture_output=True, text=True, timeout=timeout, cwd=REPO,
        env={**os.environ, **(env or {})}, **_DETACHED,
        preexec_fn=(lambda: os.umask(umask)) if umask is not None else None,
    )  # fmt: skip


def start_unit(config: Path, *args: str, env: dict | None = None,
               umask: int | None = None) -> subprocess.Popen:  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-m", "edge", "run", "--config", str(config), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
        env={**os.environ, **(env or {})}, **_DETACHED,
        preexec_fn=(lambda: os.umask(umask)) if umask is not None else None,
    )  # fmt: skip


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
    result = anpr(kind, "--config", str(config), "--limit", "100000", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)[kind]


# --- the centre's broker: a real unit, and the centre -----------------------------------------


def test_a_unit_and_the_centre_do_their_whole_job_through_the_committed_config(
    tmp_path, ca, centre_broker
):
    """Everything the protocol needs passes: the unit (cert CN = its unit id) publishes status,
    reads, hits and health and answers a command; the centre receives them all, sends the
    command and publishes a hotlist the unit applies."""
    watcher = centre(centre_broker, ca)
    config = tls_unit_config(tmp_path / "unit", centre_broker, ca.cert_path, ca.issue(UNIT))
    unit = start_unit(config, "--source", "synthetic:rate=60", "--duration", "40")
    try:
        wait_for(lambda: payloads(watcher, f"anpr/v1/units/{UNIT}/status"), "no status", 60)
        assert (
            watcher.publish(f"anpr/v1/units/{UNIT}/cmd", json.dumps(COMMAND).encode()) in ACCEPTED
        )
        wait_for(lambda: payloads(watcher, "anpr/v1/units/+/cmd/result"), "no command result")
        version = int(time.time()) + 1000  # newer than the demo list the unit holds
        bundle = signed_snapshot(tmp_path / "unit", "demo", version)
        centre_id = ca.issue(PUBLISHER_CN)  # the watcher holds the consumer's certificate
        published = anpr(
            "hotlist", "publish", str(bundle), "--broker", f"127.0.0.1:{centre_broker.port}",
            "--ca", str(ca.cert_path), "--cert", str(centre_id.cert), "--key", str(centre_id.key),
        )  # fmt: skip
        assert published.returncode == 0, published.stderr
        wait_for(
            lambda: any(h["hotlists"].get("demo") == version
                        for h in payloads(watcher, "anpr/v1/units/+/health")),
            "the unit did not apply the centre's hotlist", 30,
        )  # fmt: skip
        wait_for(lambda: payloads(watcher, "anpr/v1/units/+/reads"), "no read", 60)
    finally:
        _out, err = stop_unit(unit)
    assert unit.returncode == 0, err[-3000:]
    result = payloads(watcher, "anpr/v1/units/+/cmd/result")[0]
    assert result["id"] == COMMAND["id"] and result["ok"] is True, result
    reads, hits = stored(config, "reads"), stored(config, "hits")
    wait_for(lambda: len(payloads(watcher, "anpr/v1/units/+/reads")) >= len(reads), "reads")
    wait_for(lambda: len(payloads(watcher, "anpr/v1/units/+/hits")) >= len(hits), "hits")
    assert all(record["delivered"] for record in reads + hits)
    received = payloads(watcher, "anpr/v1/units/+/reads")
    assert {r["read_id"] for r in received} == {r["read_id"] for r in reads}
    for message in watcher.received("anpr/v1/units/+/reads"):
        assert message.topic == f"anpr/v1/units/{UNIT}/reads"
        validate("read", json.loads(message.payload))
    assert all(r["unit_id"] == UNIT for r in received)
    states = [s["state"] for s in payloads(watcher, "anpr/v1/units/+/status")]
    assert states[0] == "online" and states[-1] == "offline", states
    assert "refused" not in err and "Not authorized" not in err, err[-3000:]
    watcher.close()


OTHER = "unit-b"
OTHER_TOPICS = ["reads", "hits", "status", "health", "cmd/result"]


@pytest.mark.parametrize("retain", [False, True])
def test_a_unit_cannot_publish_as_another_unit_or_publish_hotlists(ca, centre_broker, retain):
    watcher = centre(centre_broker, ca)
    rogue = unit_client(centre_broker, ca, "unit-a")
    for name in OTHER_TOPICS:
        topic = f"anpr/v1/units/{OTHER}/{name}"
        assert rogue.publish(topic, b'{"forged":true}', retain=retain) == NOT_AUTHORIZED, topic
    for kind in ("snapshot", "delta"):
        topic = f"anpr/v1/hotlists/national/{kind}"
        assert rogue.publish(topic, b'{"forged":true}', retain=retain) == NOT_AUTHORIZED, topic
    # the same client may publish under its own id (so the refusals above are the ACL's)
    assert rogue.publish("anpr/v1/units/unit-a/reads", b'{"own":true}') in ACCEPTED
    wait_for(lambda: watcher.received("anpr/v1/units/unit-a/reads"), "own read not received")
    time.sleep(0.5)
    assert [m.topic for m in watcher.received()] == ["anpr/v1/units/unit-a/reads"]
    # nothing forged stayed behind as a retained message, for units or for the centre (a new
    # subscription brings the retained messages it matches)
    hotlists = unit_client(centre_broker, ca, "unit-c")
    assert hotlists.subscribe("anpr/v1/hotlists/#") == GRANTED_QOS1
    assert watcher.subscribe(f"anpr/v1/units/{OTHER}/#") == GRANTED_QOS1
    time.sleep(0.5)
    assert hotlists.received() == []
    assert [m.topic for m in watcher.received()] == ["anpr/v1/units/unit-a/reads"]
    for client in (watcher, rogue, hotlists):
        client.close()


def test_a_unit_receives_only_its_own_commands_and_the_hotlists(ca, centre_broker):
    sender = centre(centre_broker, ca, subscribe=None)
    other = unit_client(centre_broker, ca, OTHER)
    rogue = unit_client(centre_broker, ca, "unit-a")
    assert rogue.subscribe("anpr/v1/units/unit-a/cmd") == GRANTED_QOS1
    assert rogue.subscribe("anpr/v1/hotlists/#") == GRANTED_QOS1
    for topic_filter in (
        f"anpr/v1/units/{OTHER}/cmd", f"anpr/v1/units/{OTHER}/reads", "anpr/v1/units/+/cmd",
        "anpr/v1/units/#", "anpr/v1/#", "#", "$SYS/#",
    ):  # fmt: skip
        # Mosquitto 2.0 acknowledges these; read access is enforced per delivered message
        assert rogue.subscribe(topic_filter) in (GRANTED_QOS1, NOT_AUTHORIZED), topic_filter
    command = json.dumps(COMMAND).encode()
    assert sender.publish(f"anpr/v1/units/{OTHER}/cmd", command) in ACCEPTED
    assert other.publish(f"anpr/v1/units/{OTHER}/reads", b'{"read":"b"}') in ACCEPTED
    assert other.publish(f"anpr/v1/units/{OTHER}/status", b'{"s":1}', retain=True) in ACCEPTED
    assert sender.publish("anpr/v1/units/unit-a/cmd", command) in ACCEPTED
    assert sender.publish("anpr/v1/hotlists/national/delta", b'{"delta":1}') in ACCEPTED
    wait_for(lambda: rogue.received("anpr/v1/units/unit-a/cmd"), "own command not received")
    wait_for(lambda: rogue.received("anpr/v1/hotlists/#"), "hotlist not received")
    time.sleep(1.0)  # anything else would have arrived by now
    topics = {m.topic for m in rogue.received()}
    assert topics == {"anpr/v1/units/unit-a/cmd", "anpr/v1/hotlists/national/delta"}, topics
    for client in (sender, other, rogue):
        client.close()


def test_the_certificate_decides_who_a_client_is_not_its_user_name(ca, centre_broker):
    watcher = centre(centre_broker, ca)
    rogue = Client(centre_broker, ca.cert_path, ca.issue("unit-a"), f"anpr-{OTHER}")
    rogue.client.username_pw_set(OTHER, "any password")  # claims to be unit-b
    assert rogue.connect() == 0
    assert rogue.publish(f"anpr/v1/units/{OTHER}/reads", b"{}") == NOT_AUTHORIZED
    assert rogue.publish("anpr/v1/units/unit-a/reads", b"{}") in ACCEPTED  # still unit-a
    wait_for(lambda: watcher.received(), "own read not received")
    time.sleep(0.5)
    assert [m.topic for m in watcher.received()] == ["anpr/v1/units/unit-a/reads"]
    rogue.close()
    watcher.close()


@pytest.mark.parametrize("cn", ["+", "#"])
def test_a_wildcard_in_a_certificate_name_matches_no_other_unit(ca, centre_broker, cn):
    """Were the CA ever to sign such a name, %u in the ACL patterns would not turn into a
    wildcard (Mosquitto refuses pattern ACLs for user names with + or #)."""
    rogue = unit_client(centre_broker, ca, cn, client_id="wildcard")
    for name in ("reads", "status"):
        assert rogue.publish(f"anpr/v1/units/{OTHER}/{name}", b"{}") == NOT_AUTHORIZED, name
    rogue.close()


def test_a_unit_cannot_forge_another_units_last_will(ca, centre_broker):
    watcher = centre(centre_broker, ca)
    for cn, will_unit in (("unit-a", OTHER), ("unit-c", "unit-c")):  # forged, then a control
        client = Client(centre_broker, ca.cert_path, ca.issue(cn), f"anpr-{cn}")
        client.client.will_set(
            f"anpr/v1/units/{will_unit}/status", b'{"state":"offline"}', qos=1, retain=True
        )
        connack = client.connect()
        if connack == 0:
            client.client.loop_stop()  # then drop the connection without a DISCONNECT
            client.client.socket().close()
        else:
            assert connack == NOT_AUTHORIZED
    wait_for(lambda: watcher.received("anpr/v1/units/unit-c/status"), "the control will")
    time.sleep(0.5)
    assert [m.topic for m in watcher.received()] == ["anpr/v1/units/unit-c/status"]
    watcher.close()


def test_only_the_centre_may_command_units_or_publish_hotlists_and_it_cannot_forge_reads(
    ca, centre_broker
):
    sender = centre(centre_broker, ca, subscribe=None)
    assert sender.publish(f"anpr/v1/units/{OTHER}/cmd", b"{}") in ACCEPTED
    assert sender.publish("anpr/v1/hotlists/national/snapshot", b"{}", retain=True) in ACCEPTED
    for name in ("reads", "hits", "status", "cmd/result"):
        assert sender.publish(f"anpr/v1/units/{OTHER}/{name}", b"{}") == NOT_AUTHORIZED, name
    rogue = unit_client(centre_broker, ca, "unit-a")
    assert rogue.publish(f"anpr/v1/units/{OTHER}/cmd", b"{}") == NOT_AUTHORIZED
    sender.close()
    rogue.close()


def test_the_unit_sessions_and_the_centre_subscription_survive_a_broker_restart(ca, centre_broker):
    """Persistence: a delta published while a unit's session is away, and a read published
    while the centre's consumer is away, both across a broker restart. The unit holds one
    session (its client id is its certificate's name), in which it also publishes."""
    week = 7 * 24 * 3600
    consumer, unit = ca.issue(CENTRE_CN), ca.issue(OTHER)
    for identity, topic_filter in (
        (consumer, "anpr/v1/units/+/#"),
        (unit, "anpr/v1/hotlists/#"),
    ):
        client = Client(centre_broker, ca.cert_path, identity, "any-id")
        assert client.connect(session_expiry_s=week, clean_start=False) == 0
        assert client.subscribe(topic_filter) == GRANTED_QOS1
        if identity is unit:
            assert client.publish(f"anpr/v1/units/{OTHER}/reads", b'{"read":1}') in ACCEPTED
        client.close()
    sender = Client(centre_broker, ca.cert_path, ca.issue(PUBLISHER_CN), "publisher")
    assert sender.connect() == 0
    assert sender.publish("anpr/v1/hotlists/national/delta", b'{"delta":2}') in ACCEPTED
    sender.close()
    centre_broker.stop()
    centre_broker.start()
    for identity, topic in (
        (consumer, f"anpr/v1/units/{OTHER}/reads"),
        (unit, "anpr/v1/hotlists/national/delta"),
    ):
        client = Client(centre_broker, ca.cert_path, identity, "any-id")
        assert client.connect(session_expiry_s=week, clean_start=False) == 0
        wait_for(lambda c=client: c.received(), f"{topic}: nothing after the restart", 10)
        assert [m.topic for m in client.received()] == [topic]
        client.close()


@pytest.mark.parametrize(
    "who", ["no certificate", "another CA", "expired", "revoked", "TLS 1.1", "good"]
)
def test_a_client_without_a_valid_certificate_is_refused_at_the_handshake(
    tmp_path, ca, who, monkeypatch
):
    """No CONNACK (the TLS handshake fails, or with TLS 1.3 the broker closes the connection
    right after it): such a client never sends a single MQTT packet. "good" is the control."""
    if who == "TLS 1.1":
        # Debian's OpenSSL policy (MinProtocol TLSv1.2, SECLEVEL 2) refuses TLS 1.1 by itself:
        # the broker runs under a lax policy here, so that only `tls_version` can refuse it
        lax = tmp_path / "lax-openssl.cnf"
        lax.write_text(LAX_OPENSSL)
        monkeypatch.setenv("OPENSSL_CONF", str(lax))
    identity: Identity | None = None
    if who == "another CA":
        identity = TestCA(tmp_path / "other", "another CA").issue("unit-a")
    elif who == "expired":
        identity = ca.issue("unit-a", expired=True)
    elif who == "revoked":
        identity = ca.issue("unit-a")
        ca.revoke(identity)  # in the CRL the broker loads at start
    elif who != "no certificate":
        identity = ca.issue("unit-a")
    (tmp_path / "broker").mkdir()
    broker = CentreBroker(tmp_path / "broker", ca)
    broker.start()
    try:
        context = old_tls_context(ca.cert_path, identity) if who == "TLS 1.1" else None
        client = Client(broker, ca.cert_path, identity, "anpr-unit-a", context=context)
        connack = client.connect(timeout_s=5)
        client.close()
    finally:
        broker.stop()
    log = broker.log.read_text()
    if who == "good":
        assert connack == 0, log
    else:
        assert connack is None, f"{who}: CONNACK {connack}"
        assert "New client connected" not in log, log


LAX_OPENSSL = """openssl_conf = default_conf
[default_conf]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
MinProtocol = TLSv1
CipherString = DEFAULT@SECLEVEL=0
"""


def test_a_unit_with_a_certificate_for_another_id_delivers_nothing_and_keeps_its_reads(
    tmp_path, ca, centre_broker
):
    """A mis-issued certificate (or a swapped SD card): the broker refuses every publish with
    "not authorised"; the unit says so, and keeps every read in its outbox."""
    watcher = centre(centre_broker, ca)
    config = tls_unit_config(tmp_path / "unit", centre_broker, ca.cert_path, ca.issue(OTHER))
    result = anpr(
        "run", "--config", str(config), "--source", "synthetic:paced=false,rate=60",
        "--max-frames", "240", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    reads = stored(config, "reads")
    assert reads and not any(read["delivered"] for read in reads)
    assert "Not authorized" in result.stderr, result.stderr[-3000:]
    time.sleep(0.5)
    assert watcher.received() == []  # not even its status: the will and "online" were refused
    watcher.close()


def test_a_unit_cannot_take_over_the_centres_session(ca, centre_broker):
    """use_username_as_clientid: the rogue's client id becomes its certificate's name, so it
    neither disconnects the centre's consumer nor drops the reads queued for it."""
    week = 7 * 24 * 3600
    consumer = ca.issue(CENTRE_CN)
    client = Client(centre_broker, ca.cert_path, consumer, "centre-consumer")
    assert client.connect(session_expiry_s=week, clean_start=False) == 0
    assert client.subscribe("anpr/v1/units/+/#") == GRANTED_QOS1
    client.close()  # the centre's consumer is away; reads queue for it
    unit = unit_client(centre_broker, ca, OTHER)
    assert unit.publish(f"anpr/v1/units/{OTHER}/reads", b'{"read":1}') in ACCEPTED
    rogue = Client(centre_broker, ca.cert_path, ca.issue("unit-a"), "centre-consumer")
    rogue.connect(session_expiry_s=0)  # takes the id, drops the session
    time.sleep(0.5)
    rogue.close()
    client = Client(centre_broker, ca.cert_path, consumer, "centre-consumer")
    assert client.connect(session_expiry_s=week, clean_start=False) == 0
    wait_for(client.received, "the queued read was lost", 5)
    client.close()
    unit.close()


def test_selftest_leaves_the_units_session_as_it_was(tmp_path, ca, centre_broker):
    """The broker turns the selftest's client id into the unit's (its certificate's name): the
    selftest must resume the unit's session without dropping it or taking what waits in it."""
    week = 7 * 24 * 3600
    identity = ca.issue(UNIT)
    client = Client(centre_broker, ca.cert_path, identity, UNIT)
    assert client.connect(session_expiry_s=week, clean_start=False) == 0
    assert client.subscribe("anpr/v1/hotlists/#") == GRANTED_QOS1
    client.close()
    sender = Client(centre_broker, ca.cert_path, ca.issue(PUBLISHER_CN), "publisher")
    assert sender.connect() == 0
    assert sender.publish("anpr/v1/hotlists/demo/delta", b'{"delta":1}') in ACCEPTED
    sender.close()
    config = tls_unit_config(tmp_path / "unit", centre_broker, ca.cert_path, identity)
    result = anpr("selftest", "--config", str(config), "--json")
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["broker"]["ok"], checks["broker"]
    client = Client(centre_broker, ca.cert_path, identity, UNIT)
    assert client.connect(session_expiry_s=week, clean_start=False) == 0
    wait_for(client.received, "the delta queued for the unit was lost", 10)
    assert [m.topic for m in client.received()] == ["anpr/v1/hotlists/demo/delta"]
    client.close()


# --- the unit's files -------------------------------------------------------------------------


def modes(*roots: Path) -> dict[Path, int]:
    found = {}
    for root in roots:
        found[root] = stat.S_IMODE(root.stat().st_mode)
        for path in root.rglob("*"):
            found[path] = stat.S_IMODE(path.lstat().st_mode)
    return found


def too_open(found: dict[Path, int]) -> list[str]:
    """Files must be 0600 and folders 0700. The one exception is by design: an Ed25519
    *public* key is 0644 (`hotlist keygen` makes it readable for units and auditors), so the
    folder it is made in may be 0755 too; neither may be writable by group or others."""
    bad = []
    for path, mode in sorted(found.items()):
        holds_public = path.is_dir() and any(path.glob("*.pub"))
        if (path.suffix == ".pub" or holds_public) and mode & 0o022 == 0:
            continue
        want = 0o700 if path.is_dir() else 0o600
        if mode != want:
            bad.append(f"{path}: {mode:04o}, expected {want:04o}")
    return bad


def test_nothing_the_unit_writes_is_open_to_group_or_others(tmp_path, broker):
    """With the permissive umask 022 of a technician's shell (systemd's UMask=0077 is not
    relied on): the store and its -wal/-shm while the unit runs, the status file, a camera
    snapshot, signing keys from `hotlist keygen`, and their folders."""
    old = os.umask(0o022)
    try:
        config = write_unit_config(tmp_path, broker)  # makes keys/ and the store, in-process
    finally:
        os.umask(old)
    state, run, keys = tmp_path / "state", tmp_path / "run", tmp_path / "keys"
    unit = start_unit(config, "--source", "synthetic:rate=60", "--duration", "120", umask=0o022)
    try:
        files = [run / "status.json", state / "anpr.db-wal", state / "anpr.db-shm"]
        wait_for(lambda: all(f.exists() for f in files), "the unit did not start", 60)
        running = modes(state, run)
        snapshot = anpr(
            "camera", "snapshot", str(state / "aim.jpg"), "--config", str(config),
            "--source", "synthetic:look=day,rate=60", "--wait", "0", umask=0o022,
        )  # fmt: skip
        assert snapshot.returncode == 0, snapshot.stderr
    finally:
        _out, err = stop_unit(unit)
    assert unit.returncode == 0, err[-3000:]
    keygen = anpr("hotlist", "keygen", "--out", str(tmp_path / "signing"), umask=0o022)
    assert keygen.returncode == 0, keygen.stderr
    after = modes(state, run, keys, tmp_path / "signing")
    assert (state / "aim.jpg") in after and (tmp_path / "signing" / "centre.key") in after
    problems = too_open(running) + too_open(after)
    assert problems == [], "\n".join(problems)


# --- the unit's secrets -----------------------------------------------------------------------


def password_broker(folder: Path, ca: TestCA, user: str, password: str) -> CentreBroker:
    """A TLS broker that also checks a password (the committed config takes the identity from
    the certificate and ignores passwords, so this one is the test's own)."""
    broker = CentreBroker(folder, ca)
    passwords = folder / "passwords"
    mosquitto_passwd(passwords, user, password)
    server = ca.issue("127.0.0.1", server=True)
    broker.config.write_text(
        f"user {'root' if os.geteuid() == 0 else 'mosquitto'}\n"
        f"listener {broker.port} 127.0.0.1\ncafile {ca.cert_path}\n"
        f"certfile {server.cert}\nkeyfile {server.key}\nrequire_certificate true\n"
        f"password_file {passwords}\nallow_anonymous false\npersistence false\n"
        f"log_dest file {broker.log}\nlog_type all\n"
    )
    return broker


def test_no_secret_reaches_any_output(tmp_path, ca):
    password, passphrase = f"pw-{secrets.token_hex(12)}", f"kp-{secrets.token_hex(12)}"
    (tmp_path / "broker").mkdir()
    broker = password_broker(tmp_path / "broker", ca, UNIT, password)
    broker.start()
    watcher = Client(broker, ca.cert_path, ca.issue("watcher"), "watcher")
    watcher.client.username_pw_set(UNIT, password)
    try:
        assert watcher.connect() == 0 and watcher.subscribe("#") == GRANTED_QOS1
        identity = ca.issue(UNIT, passphrase=passphrase)  # an encrypted client key
        assert b"ENCRYPTED" in identity.key.read_bytes()
        config = tls_unit_config(
            tmp_path / "unit", broker, ca.cert_path, identity,
            extra='[logging]\nlevel = "DEBUG"\n', mqtt_extra=f'username = "{UNIT}"\n',
        )  # fmt: skip
        env = {"ANPR_EDGE_MQTT_PASSWORD": password, "ANPR_EDGE_MQTT_KEY_PASSPHRASE": passphrase}
        outputs: dict[str, subprocess.CompletedProcess] = {}
        outputs["run"] = anpr(
            "run", "--config", str(config), "--source", "synthetic:paced=false,rate=60",
            "--max-frames", "150", "--json", env=env,
        )  # fmt: skip
        assert outputs["run"].returncode == 0, outputs["run"].stderr[-3000:]
        reads = stored(config, "reads")
        assert reads and all(r["delivered"] for r in reads)  # so both secrets were used
        outputs["config show --json"] = anpr("config", "show", str(config), "--json", env=env)
        outputs["config show"] = anpr("config", "show", str(config), env=env)
        shown = json.loads(outputs["config show --json"].stdout)
        assert shown["config"]["logging"]["level"] == "DEBUG", shown  # the most verbose
        assert "environment ANPR_EDGE_MQTT_PASSWORD" in json.dumps(shown)
        outputs["selftest"] = anpr("selftest", "--config", str(config), "--json", env=env)
        checks = {c["name"]: c for c in json.loads(outputs["selftest"].stdout)["checks"]}
        assert checks["broker"]["ok"], checks["broker"]
        # the same two secrets as systemd credentials ($CREDENTIALS_DIRECTORY), not variables
        credentials = tmp_path / "credentials"
        credentials.mkdir(mode=0o700)
        (credentials / "mqtt-password").write_text(password + "\n")
        (credentials / "mqtt-key-passphrase").write_text(passphrase)
        from_credentials = {**{name: "" for name in env}, "CREDENTIALS_DIRECTORY": str(credentials)}
        outputs["selftest, credentials"] = anpr(
            "selftest", "--config", str(config), "--json", env=from_credentials
        )
        checks = json.loads(outputs["selftest, credentials"].stdout)["checks"]
        assert next(c for c in checks if c["name"] == "broker")["ok"], checks
        outputs["config show, credentials"] = anpr(
            "config", "show", str(config), env=from_credentials
        )
        assert "credential mqtt-password" in outputs["config show, credentials"].stdout
        # the centre's tool takes the same two secrets (here with the same test identity)
        bundle = signed_snapshot(tmp_path / "unit", "demo", int(time.time()) + 1000)
        outputs["hotlist publish"] = anpr(
            "hotlist", "publish", str(bundle), "--broker", f"127.0.0.1:{broker.port}",
            "--ca", str(ca.cert_path), "--cert", str(identity.cert), "--key", str(identity.key),
            "--username", UNIT, "--client-id", "centre-test", env=env,
        )  # fmt: skip
        assert outputs["hotlist publish"].returncode == 0, outputs["hotlist publish"].stderr
        # and where it fails: a wrong password, a wrong passphrase
        wrong = {**env, "ANPR_EDGE_MQTT_PASSWORD": password[::-1]}
        outputs["selftest, wrong password"] = anpr(
            "selftest", "--config", str(config), "--json", env=wrong
        )
        checks = json.loads(outputs["selftest, wrong password"].stdout)["checks"]
        assert not next(c for c in checks if c["name"] == "broker")["ok"]
        outputs["run, wrong password"] = anpr(
            "run", "--config", str(config), "--source", "synthetic:paced=false",
            "--max-frames", "30", env=wrong,
        )  # fmt: skip
        assert "Not authorized" in outputs["run, wrong password"].stderr
        wrong = {**env, "ANPR_EDGE_MQTT_KEY_PASSPHRASE": passphrase[::-1]}
        outputs["run, wrong passphrase"] = anpr(
            "run", "--config", str(config), "--source", "synthetic:paced=false",
            "--max-frames", "10", env=wrong,
        )  # fmt: skip
        # checked before the unit starts: bad input, named (no `PEM lib`, no retry loop)
        assert outputs["run, wrong passphrase"].returncode == 2
        assert outputs["run, wrong passphrase"].stderr.splitlines()[-1] == (
            f"anpr-edge: error: mqtt.tls.key: {identity.key}: the passphrase does not open it "
            "(wrong mqtt-key-passphrase?)"
        )
    finally:
        watcher.close()
        broker.stop()
    texts = {f"{name} {stream}": getattr(result, stream)
             for name, result in outputs.items() for stream in ("stdout", "stderr")}  # fmt: skip
    texts["status file"] = (tmp_path / "unit" / "run" / "status.json").read_text()
    for message in watcher.received():  # everything the unit and the tools published
        texts[f"MQTT {message.topic}"] = message.payload.decode("utf-8", "replace")
    assert any(name.endswith("/reads") for name in texts)
    for path in (tmp_path / "unit" / "state").rglob("*"):  # the store, its WAL, the spool
        if path.is_file():
            texts[f"file {path.name}"] = path.read_bytes().decode("latin-1")
    for value in (password, passphrase, password[::-1], passphrase[::-1]):
        leaked = [name for name, text in texts.items() if value in text]
        assert leaked == [], f"a secret appears in: {leaked}"
