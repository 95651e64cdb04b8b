"""Helpers for the fault tests (tests/system/faults/; no tests here): the real unit as a
subprocess logging JSON to a file, a view of its SQLite store from outside, a notify socket that
timestamps datagrams, filler records for the quota test, a short recorded road as a video file,
the health message a test waits for. (The picamera2 fake that can be wedged from the test is in
tests/support/camera.py.)"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from edge.config import load_config
from edge.devtools.demo import prepare_demo_hotlist
from edge.records import PlateRead, new_read_id
from edge.store.database import open_database
from edge.store.sql import transaction
from edge.uplink.payloads import HIT_SCHEMA, encode, read_payload
from tests.support.cli import start
from tests.support.unit import NotifySocket, Subscriber, wait_for, write_unit_config

LONG = os.environ.get("ANPR_EDGE_LONG_TESTS") == "1"
SEED = int(os.environ.get("ANPR_EDGE_FAULT_SEED", "20260307"))


def fault_rounds(ci: int, long: int) -> int:
    """How many rounds: ANPR_EDGE_FAULT_ROUNDS, else `long` with ANPR_EDGE_LONG_TESTS=1, else
    `ci`."""
    value = os.environ.get("ANPR_EDGE_FAULT_ROUNDS")
    if value:
        return int(value)
    return long if LONG else ci


# --- configuration ------------------------------------------------------------------------


def fault_config(
    folder: Path,
    broker,
    *,
    hits_every: int = 2,
    quota_mb: int | None = None,
    camera_extra: str = "",
    fps: float = 15.0,
) -> Path:
    """`write_unit_config` with JSON logs, a hotlist of every `hits_every`-th vehicle of the
    road (the usual 6th gives too few hits for ordering checks) and an optional store quota."""
    path = write_unit_config(
        folder, broker, fps=fps, camera_extra=camera_extra, extra='[logging]\nformat = "json"\n'
    )
    if quota_mb is not None:
        text = path.read_text()
        path.write_text(text.replace("[storage]\n", f"[storage]\nquota_mb = {quota_mb}\n", 1))
    if hits_every != 6:
        # the hotlist version is the clock's second: the new one must be a later second
        time.sleep(1.05 - time.time() % 1.0)
        prepare_demo_hotlist(load_config(path), str(path), every=hits_every)
    return path


def store_path(config: Path) -> Path:
    return Path(load_config(config).storage.path)


# --- the unit -----------------------------------------------------------------------------


class UnitRun:
    """`anpr-edge run` as systemd runs it, stdout and stderr to files (a pipe nobody reads
    would fill and block the unit's logging). A context manager: killed if still running."""

    def __init__(self, config: Path, source: str, folder: Path, *, env: dict | None = None,
                 name: str = "unit", args: tuple[str, ...] = ()):  # fmt: skip
        self.log_path = folder / f"{name}.log"
        self.out_path = folder / f"{name}.out"
        self._log = self.log_path.open("ab")
        self._out = self.out_path.open("wb")
        self._log_from = self.log_path.stat().st_size
        self.started = time.monotonic()
        self.process = start(
            "run", "--config", str(config), "--source", source, "--json", *args,
            env=env, stdout=self._out, stderr=self._log, text=False,
        )  # fmt: skip
        self.pid = self.process.pid

    def __enter__(self) -> UnitRun:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.process.poll() is None:
            self.kill()
        self._close_files()

    def _close_files(self) -> None:
        for file in (self._log, self._out):
            if not file.closed:
                file.close()

    def log(self) -> list[dict]:
        """This run's log lines (JSON); anything else (a library writing to stderr) as
        {"message": line}."""
        with self.log_path.open("rb") as file:
            file.seek(self._log_from)
            text = file.read().decode(errors="replace")
        lines = []
        for line in text.splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                entry = {"message": line, "level": "?"}
            lines.append(entry if isinstance(entry, dict) else {"message": line})
        return lines

    def messages(self) -> list[str]:
        return [entry.get("message", "") for entry in self.log()]

    def wait_log(self, text: str, timeout_s: float = 30.0, count: int = 1) -> None:
        wait_for(
            lambda: sum(text in m for m in self.messages()) >= count,
            f"{count}× {text!r} in the unit's log; it said:\n" + "\n".join(self.messages()[-30:]),
            timeout_s,
        )

    def stop(self, timeout_s: float = 90.0) -> tuple[int, dict]:
        """SIGTERM; the exit code and the --json summary."""
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout_s)
        self._close_files()
        out = self.out_path.read_text()
        try:
            summary = json.loads(out) if out.strip() else {}
        except ValueError:
            summary = {"unparsed": out}
        return code, summary

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)
        self._close_files()

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.messages()[-lines:])


class NotifyRecorder(NotifySocket):
    """NotifySocket, read continuously in a thread: every datagram with when it came
    (time.monotonic()), so a test can ask what the unit said in a window of time."""

    def __init__(self, folder: Path):
        super().__init__(folder)
        self.timed: list[tuple[float, str]] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._closing.is_set():
            try:
                data = self.sock.recv(4096).decode()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.timed.append((time.monotonic(), data))
                self.messages.append(data)

    def fields(self, since: float = 0.0, until: float = float("inf")) -> list[tuple[float, str]]:
        with self._lock:
            timed = list(self.timed)
        return [(at, f) for at, m in timed if since <= at <= until for f in m.split("\n")]

    def times(self, field: str, since: float = 0.0, until: float = float("inf")) -> list[float]:
        return [at for at, f in self.fields(since, until) if f == field]

    def wait_field(self, field: str, since: float, timeout_s: float = 120.0) -> float:
        found: list[float] = []
        wait_for(lambda: found.extend(self.times(field, since)) or found, f"{field} from the "
                 "unit", timeout_s)  # fmt: skip
        return found[0]

    def close(self) -> None:
        self._closing.set()
        self._thread.join(2)
        self.sock.close()


# --- the store, from outside --------------------------------------------------------------

_TABLES = {"read": ("plate_reads", "read_no"), "hit": ("plate_hits", "hit_no")}


@dataclass(frozen=True)
class Row:
    kind: str
    no: int
    read_id: str
    stored_at: float
    delivered_at: float | None
    hit: bool  # a read of a vehicle that hit (always True for a hit)
    owed: bool  # in the outbox


class StoreView:
    """Read-only questions about the unit's store, each on a fresh connection (WAL: never
    blocks the unit's writer). Never creates the file."""

    def __init__(self, path: Path):
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{self.path}?mode=rw", uri=True, timeout=30)

    def query(self, sql: str, *params) -> list[tuple]:
        conn = self._connect()
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def rows(self, kind: str) -> dict[str, Row]:
        table, key = _TABLES[kind]
        hit = "t.hit" if kind == "read" else "1"
        result = self.query(
            f"SELECT t.{key}, t.read_id, t.stored_at, t.delivered_at, {hit}, o.ref_no "
            f"FROM {table} t LEFT JOIN outbox o ON o.kind = ? AND o.ref_no = t.{key}",
            kind,
        )
        return {
            rid: Row(kind, no, rid, at, done, bool(h), owed is not None)
            for no, rid, at, done, h, owed in result
        }

    def ids(self, kind: str) -> set[str]:
        table, _ = _TABLES[kind]
        return {r[0] for r in self.query(f"SELECT read_id FROM {table}")}

    def owed(self, kind: str | None = None) -> int:
        if kind is None:
            return self.query("SELECT COUNT(*) FROM outbox")[0][0]
        return self.query("SELECT COUNT(*) FROM outbox WHERE kind = ?", kind)[0][0]

    def integrity(self) -> str:
        return "; ".join(r[0] for r in self.query("PRAGMA integrity_check"))

    def inconsistencies(self) -> list[str]:
        """Records neither delivered nor owed (never to be sent), delivered yet still owed,
        and outbox rows naming no record."""
        problems = []
        for kind, (table, key) in _TABLES.items():
            for what, condition in (
                ("neither delivered nor owed", "t.delivered_at IS NULL AND o.ref_no IS NULL"),
                ("delivered yet owed", "t.delivered_at IS NOT NULL AND o.ref_no IS NOT NULL"),
            ):
                found = self.query(
                    f"SELECT t.read_id FROM {table} t LEFT JOIN outbox o ON o.kind = ? AND "
                    f"o.ref_no = t.{key} WHERE {condition}",
                    kind,
                )
                problems += [f"{kind} {r[0]}: {what}" for r in found]
            orphans = self.query(
                f"SELECT ref_no FROM outbox o WHERE kind = ? AND NOT EXISTS "
                f"(SELECT 1 FROM {table} t WHERE t.{key} = o.ref_no)",
                kind,
            )
            problems += [f"outbox {kind} {r[0]}: names no record" for r in orphans]
        return problems

    def used_bytes(self) -> int:
        conn = self._connect()
        try:
            pages, free, size = (
                conn.execute(f"PRAGMA {name}").fetchone()[0]
                for name in ("page_count", "freelist_count", "page_size")
            )
        finally:
            conn.close()
        return (pages - free) * size

    def counters(self) -> dict[str, int]:
        return dict(self.query("SELECT name, value FROM store_counters"))


# --- filler records (the quota test) ------------------------------------------------------


def filler_read(rng: random.Random, at: datetime, patch_bytes: int) -> PlateRead:
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    vrm = "".join(rng.choice(letters) for _ in range(2)) + f"{rng.randrange(10, 99)}"
    vrm += "".join(rng.choice(letters) for _ in range(3))
    return PlateRead(
        new_read_id(), "test-unit", "cam1", vrm, 0.97, (0.99,) * len(vrm), "gb-current",
        at, at, at, True, (51.5, -0.1), "towards", 6, (("recogniser", "r@1"),),
        rng.randbytes(patch_bytes),
    )  # fmt: skip


def add_fillers(
    path: Path,
    rng: random.Random,
    *,
    count: int,
    delivered: bool,
    hit_every: int = 0,
    patch_bytes: int = 2200,
    age_s: float = 86400.0,
) -> dict[str, list[tuple[int, str]]]:
    """`count` reads written straight into the store (as the unit's writer would: payload and
    outbox row in one transaction), stored `age_s` ago; every `hit_every`-th one a hit read
    with its hit. Returns {"read": [(read_no, read_id)], "hit_read": [...], "hit": [...]}."""
    from edge.store.reads import ReadStore

    made: dict[str, list[tuple[int, str]]] = {"read": [], "hit_read": [], "hit": []}
    now = time.time()
    conn = open_database(path)
    try:
        store = ReadStore(conn, clock=lambda: now - age_s)
        with transaction(conn):
            for i in range(count):
                read = filler_read(rng, datetime.now(UTC) - timedelta(seconds=age_s), patch_bytes)
                is_hit = bool(hit_every) and i % hit_every == hit_every - 1
                captured = read.captured_at.isoformat()
                if is_hit:
                    hit = {**read_payload(read, True), "schema": HIT_SCHEMA, "filler": True}
                    item = store.add_hit(read.read_id, read.vrm, captured, ["demo"], encode(hit))
                    made["hit"].append((item.no, read.read_id))
                item = store.add_read(
                    read.read_id, read.vrm, captured, confidence=0.97, direction="towards",
                    frames=6, hit=is_hit, payload=encode(read_payload(read, is_hit)),
                )  # fmt: skip
                made["hit_read" if is_hit else "read"].append((item.no, read.read_id))
            if delivered:
                for kind in ("read", "hit_read", "hit"):
                    nos = [no for no, _ in made[kind]]
                    store.mark_delivered("hit" if kind == "hit" else "read", nos)
    finally:
        conn.close()
    return made


# --- a camera that comes and goes ---------------------------------------------------------


def write_road_video(path: Path, frames: int = 30, size: tuple[int, int] = (640, 480)) -> None:
    """A few frames of the synthetic road as an MJPG file, written beside `path` and moved
    into place in one step (a camera that appears whole)."""
    import cv2

    from edge.capture.sources.synthetic import SyntheticRoad

    partial = path.with_name("partial-" + path.name)
    writer = cv2.VideoWriter(str(partial), cv2.VideoWriter_fourcc(*"MJPG"), 15.0, size)
    with SyntheticRoad(seed=3, size=size, vehicles_per_minute=60, paced=False) as road:
        for _ in range(frames):
            writer.write(road.read(1.0).image)
    writer.release()
    os.replace(partial, path)


def health_with(
    subscriber: Subscriber, condition, what: str, timeout_s: float = 60.0, start: int = 0
) -> dict:
    """The first health message (from the `start`-th on) that meets `condition`."""
    found: list[dict] = []

    def check() -> bool:
        found[:] = [h for h in subscriber.of("health")[start:] if condition(h)]
        return bool(found)

    wait_for(check, what, timeout_s)
    return found[0]
