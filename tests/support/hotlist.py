"""Helpers for the hotlist tests (no tests here): a centre with real keys that signs real
bundles, unit configs pointing at a temporary store, and a store opened on a real file."""

from __future__ import annotations

import base64
import json
import threading
import time
from pathlib import Path

from edge.config import load_config
from edge.hotlist.bundle import delta_payload, seal, snapshot_payload
from edge.hotlist.index import IndexHolder
from edge.hotlist.signing import generate_keypair, load_signing_key, load_trusted_keys
from edge.hotlist.store import HotlistStore
from edge.hotlist.unit import make_sync
from edge.store.database import open_database

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "schemas"
ISSUED = "2026-03-01T12:00:00Z"


def entry(
    vrm: str,
    category: str = "stolen",
    priority: int = 1,
    action: str = "intercept",
    reason: str = "",
    expires_at: str | None = None,
) -> list:
    """One entry as a bundle line."""
    return [vrm, category, priority, action, reason, expires_at]


class Centre:
    """Two trusted signing keys (a, b: rotation) and one the unit does not trust (rogue)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.keys = {}
        self.public = {}
        for name in ("a", "b", "rogue"):
            _, private, public = generate_keypair(folder, f"centre-{name}")
            self.keys[name] = load_signing_key(private)
            self.public[name] = public

    @property
    def trusted_paths(self) -> list[Path]:
        return [self.public["a"], self.public["b"]]

    def trusted(self):
        return load_trusted_keys(self.trusted_paths)

    def sealed(self, payload: dict, *, key: str = "a", compression: str = "auto") -> bytes:
        """`payload` signed with key `key` ("a", "b" or "rogue")."""
        return seal(payload, self.keys[key], compression)

    def snapshot(self, list_id: str, version: int, entries: list[list], **how: str) -> bytes:
        return self.sealed(snapshot_payload(list_id, version, ISSUED, sorted(entries)), **how)

    def delta(
        self, list_id: str, version: int, base: int, changes: list[list], **how: str
    ) -> bytes:
        return self.sealed(delta_payload(list_id, version, base, ISSUED, changes), **how)


def tamper(bundle: bytes) -> bytes:
    """The bundle with one byte of its signed payload changed (the signature left as is)."""
    envelope = json.loads(bundle)
    payload = bytearray(base64.b64decode(envelope["payload"]))
    payload[-5] ^= 0x01  # near the end: the header line (which tools read) stays intact
    envelope["payload"] = base64.b64encode(bytes(payload)).decode()
    return json.dumps(envelope).encode()


def write_config(
    folder: Path,
    trusted: list[Path],
    *,
    lists=("national", "county"),
    host: str = "127.0.0.1",
    port: int = 1883,
    extra: str = "",
    tls_ca: Path | None = None,
) -> Path:
    """A unit config trusting the public keys `trusted`, with its store under `folder`."""
    path = folder / "unit.toml"
    keys = json.dumps([str(p) for p in trusted])
    tls = f'{{ enabled = true, ca = "{tls_ca}" }}' if tls_ca else "{ enabled = false }"
    path.write_text(
        f'[unit]\nid = "test-unit"\n'
        f"[hotlist]\nlists = {json.dumps(list(lists))}\ntrusted_keys = {keys}\n{extra}"
        f'[mqtt]\nhost = "{host}"\nport = {port}\ntls = {tls}\n'
        f'[storage]\npath = "{folder / "state" / "anpr.db"}"\n'
    )
    return path


def open_store(path: Path) -> HotlistStore:
    return HotlistStore(open_database(path))


def schema(name: str) -> dict:
    return json.loads((SCHEMAS / f"{name}.schema.json").read_text())


V1 = [entry("AB12CDE"), entry("BD51SMR", "no-insurance", 4, "monitor")]


class Unit:
    """The unit's sync, started on the test broker; `restart()` keeps its store and session."""

    def __init__(self, config_path):
        self.config = load_config(config_path)
        self.sync = None
        self.start()

    def start(self) -> None:
        self.stop_event = threading.Event()
        self.holder = IndexHolder()
        self.sync = make_sync(self.config, self.holder, self.stop_event)
        self.sync.start()
        assert self.sync.ready.wait(20), "the sync did not load its index"
        wait_for(lambda: self.sync.connected.is_set(), "the sync never connected")

    def stop(self) -> None:
        self.stop_event.set()
        self.sync.join(20)

    def restart(self) -> None:
        self.stop()
        self.start()

    def version(self, list_id: str = "national") -> int | None:
        return self.holder.versions().get(list_id)

    def rejected(self, reason: str) -> int:
        return self.sync.status()["rejected"].get(reason, 0)


def wait_for(condition, what: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out: {what}")


NOW = 1_900_000_000  # 2030-03-17: a fixed clock


PAST, FUTURE = "2029-01-01T00:00:00Z", "2031-01-01T00:00:00Z"


def found(matches) -> list[tuple]:
    return [(m.list_id, m.entry.vrm, m.kind, m.distance, m.confusion_only) for m in matches]


PREFIX = "anpr/v1"
