"""`anpr-edge reads` and `hits` as a technician uses them: --since, --plate, --limit, --csv,
--json and --follow, run as subprocesses against a real store written through the library's
own writer methods (the same ones the unit's store writer uses)."""

from __future__ import annotations

import csv
import io
import json
import queue
import signal
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edge.store import open_database, transaction
from edge.store.reads import ReadStore
from tests.support.cli import anpr, start
from tests.support.reads import IMAGE_MARK, add_hit, add_read, write_config


@pytest.fixture
def unit(tmp_path):
    """A config and its store with reads captured 3 h, 30 min and 1 min ago, and one hit."""
    config = write_config(tmp_path)
    conn = open_database(tmp_path / "state" / "anpr.db")
    store = ReadStore(conn)
    now = datetime.now(UTC)
    ids = {
        "AB12CDE": add_read(store, "AB12CDE", now - timedelta(hours=3)),
        "AB12CDF": add_read(store, "AB12CDF", now - timedelta(minutes=30)),
        "XY51ZZZ": add_read(store, "XY51ZZZ", now - timedelta(minutes=1), hit=True),
    }
    ids["hit"] = add_hit(store, "XY51ZZZ", now - timedelta(minutes=1), ["national", "local"])
    with transaction(conn):
        store.mark_delivered("read", [1])
    yield config, store, ids
    conn.close()


def vrms(result: subprocess.CompletedProcess[str], kind: str = "reads") -> list[str]:
    assert result.returncode == 0, result.stderr
    return [r["vrm"] for r in json.loads(result.stdout)[kind]]


def test_since_takes_an_age_or_a_time_in_utc_or_local(unit):
    config, _store, _ids = unit
    assert vrms(anpr("reads", "--config", str(config), "--since", "2h", "--json")) == [
        "XY51ZZZ",
        "AB12CDF",
    ]
    assert vrms(anpr("reads", "--config", str(config), "--since", "15m", "--json")) == ["XY51ZZZ"]
    assert len(vrms(anpr("reads", "--config", str(config), "--since", "1d", "--json"))) == 3
    since = datetime.now(UTC) - timedelta(minutes=45)
    utc = since.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert vrms(anpr("reads", "--config", str(config), "--since", utc, "--json")) == [
        "XY51ZZZ",
        "AB12CDF",
    ]
    # no zone: the unit's local time; here UTC+5, so the same instant is written 5 h later
    local = (since + timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%S")
    east = {"TZ": "XYZ-5"}  # POSIX: a zone five hours east of UTC (no tzdata needed)
    found = anpr("reads", "--config", str(config), "--since", local, "--json", env=east)
    assert vrms(found) == ["XY51ZZZ", "AB12CDF"]
    as_utc = anpr("reads", "--config", str(config), "--since", local, "--json")
    assert vrms(as_utc) == []  # read as UTC it is 5 h in the future


def test_plate_is_exact_and_normalised_with_star_and_question_mark_wildcards(unit):
    config, _store, ids = unit
    exact = anpr("reads", "--config", str(config), "--plate", "ab12 cde", "--json")
    assert vrms(exact) == ["AB12CDE"]
    assert json.loads(exact.stdout)["reads"][0]["read_id"] == ids["AB12CDE"]
    assert vrms(anpr("reads", "--config", str(config), "--plate", "AB12*", "--json")) == [
        "AB12CDF",
        "AB12CDE",
    ]
    assert vrms(anpr("reads", "--config", str(config), "--plate", "AB12CD?", "--json")) == [
        "AB12CDF",
        "AB12CDE",
    ]
    assert vrms(anpr("reads", "--config", str(config), "--plate", "AB12", "--json")) == []
    hits = anpr("hits", "--config", str(config), "--plate", "*ZZZ", "--json")
    assert vrms(hits, "hits") == ["XY51ZZZ"]
    text = anpr("reads", "--config", str(config), "--plate", "QQ99*", "--since", "1h")
    assert text.returncode == 0 and "no reads stored in" in text.stdout
    assert "that match" in text.stdout


def test_limit_and_undelivered_combine_with_the_filters(unit):
    config, _store, _ids = unit
    assert vrms(anpr("reads", "--config", str(config), "--limit", "1", "--json")) == ["XY51ZZZ"]
    owed = anpr("reads", "--config", str(config), "--undelivered", "--plate", "AB*", "--json")
    assert vrms(owed) == ["AB12CDF"]  # AB12CDE (read 1) was delivered


def test_csv_has_a_header_and_one_row_per_record_and_never_an_image(unit):
    config, _store, ids = unit
    result = anpr("reads", "--config", str(config), "--csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["vrm"] for r in rows] == ["XY51ZZZ", "AB12CDF", "AB12CDE"]
    assert list(rows[0]) == [
        "read_id", "vrm", "captured_at", "confidence", "direction", "frames", "hit",
        "stored_at", "delivered", "delivered_at",
    ]  # fmt: skip
    assert rows[0]["hit"] == "true" and rows[2]["delivered"] == "true"
    assert rows[1]["delivered_at"] == "" and rows[2]["delivered_at"].endswith("Z")
    assert "waiting to be sent" not in result.stdout  # nothing but CSV on stdout
    hits = anpr("hits", "--config", str(config), "--csv")
    hit_rows = list(csv.DictReader(io.StringIO(hits.stdout)))
    assert hit_rows[0]["read_id"] == ids["hit"] and hit_rows[0]["lists"] == "national;local"
    for output in (result.stdout, hits.stdout, anpr("reads", "--config", str(config)).stdout):
        assert IMAGE_MARK not in output and "patch_jpeg" not in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--since", "yesterday"), "--since: got 'yesterday'"),
        (("--since", "15x"), "--since: got '15x'"),
        (("--plate", "AB-12"), "--plate: got 'AB-12'"),
        (("--plate", "AB[12]"), "--plate: got 'AB[12]'"),
        (("--limit", "0"), "--limit: got 0"),
        (("--follow-seconds", "0"), "--follow-seconds: got 0"),
    ],
)
def test_bad_input_exits_2_naming_the_option(unit, args, message):
    config, _store, _ids = unit
    result = anpr("reads", "--config", str(config), *args)
    assert result.returncode == 2
    assert result.stderr.startswith(f"anpr-edge: error: {message}")
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        # an age or a time before any record: every one (these were OverflowError tracebacks)
        (("--since", "99999999d"), ["XY51ZZZ", "AB12CDF", "AB12CDE"]),
        (("--since", "0001-01-01T00:00"), ["XY51ZZZ", "AB12CDF", "AB12CDE"]),
        (("--since", "0001-01-01T00:00+05:00"), ["XY51ZZZ", "AB12CDF", "AB12CDE"]),
        (("--since", "9" * 400 + "d"), ["XY51ZZZ", "AB12CDF", "AB12CDE"]),
        # past the end of the calendar: none
        (("--since", "9999-12-31T23:59-01:00"), []),
        # a limit past SQLite's integers: all of them
        (("--limit", "99999999999999999999"), ["XY51ZZZ", "AB12CDF", "AB12CDE"]),
    ],
)
def test_extreme_since_and_limit_are_clamped_to_what_they_mean(unit, args, expected):
    config, _store, _ids = unit
    result = anpr("reads", "--config", str(config), *args, "--json")
    assert "Traceback" not in result.stderr
    assert vrms(result) == expected


def test_a_nan_follow_time_is_refused(unit):
    config, _store, _ids = unit
    result = anpr("reads", "--config", str(config), "--follow-seconds", "nan")
    assert result.returncode == 2
    assert result.stderr == "anpr-edge: error: --follow-seconds: got nan; expected more than 0\n"


def test_json_and_csv_together_is_a_usage_error(unit):
    config, _store, _ids = unit
    result = anpr("reads", "--config", str(config), "--json", "--csv")
    assert result.returncode == 2 and "not allowed with" in result.stderr


def test_a_missing_store_is_reported_not_created(tmp_path):
    config = write_config(tmp_path)
    result = anpr("reads", "--config", str(config))
    assert result.returncode == 1
    assert f"no store at {tmp_path / 'state' / 'anpr.db'}" in result.stderr
    assert not (tmp_path / "state").exists()


class Follower:
    """`anpr-edge reads --follow …` as a subprocess, its stdout lines collected by a thread
    (so a test can wait for lines without blocking on a pipe)."""

    def __init__(self, config: Path, *args: str):
        self.process = start("reads", "--config", str(config), "--follow", *args)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def next(self, count: int, timeout_s: float) -> list[str]:
        got: list[str] = []
        deadline = time.monotonic() + timeout_s
        while len(got) < count:
            try:
                line = self.lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                raise AssertionError(f"only {got} within {timeout_s} s") from None
            assert line is not None, f"the follower ended early: {self.process.stderr.read()}"
            got.append(line)
        return got

    def rest(self, timeout_s: float) -> tuple[list[str], str]:
        """Wait for the end; the lines not yet taken and stderr."""
        self.process.wait(timeout=timeout_s)
        self.reader.join(5)
        left = []
        while (line := self.lines.get_nowait()) is not None:
            left.append(line)
        return left, self.process.stderr.read()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def test_follow_prints_the_latest_then_each_new_read_as_it_is_stored(unit):
    config, store, _ids = unit
    tail = Follower(config, "--limit", "2", "--json", "--plate", "N*", "--follow-seconds", "12")
    try:
        time.sleep(2.0)  # the newest --limit that match: none yet
        add_read(store, "AB99XYZ", datetime.now(UTC))  # filtered out by --plate
        first = add_read(store, "NA12BCD", datetime.now(UTC))
        got = [json.loads(line) for line in tail.next(1, 10)]
        assert [r["read_id"] for r in got] == [first]  # JSON Lines: one object per line
        assert got[0]["delivered"] is False and "patch_jpeg" not in got[0]
        second, third = (add_read(store, vrm, datetime.now(UTC)) for vrm in ("NB1", "NC2"))
        assert [json.loads(line)["read_id"] for line in tail.next(2, 10)] == [second, third]
        left, err = tail.rest(30)  # it stops by itself after --follow-seconds
    finally:
        tail.kill()
    assert tail.process.returncode == 0, err
    assert left == []  # nothing printed twice


def test_follow_starts_with_the_newest_oldest_first_and_stops_on_sigterm(unit):
    config, store, _ids = unit
    tail = Follower(config, "--limit", "2", "--csv")
    try:
        header, *rows = tail.next(3, 20)
        assert header.startswith("read_id,vrm,")
        assert [row.split(",")[1] for row in rows] == ["AB12CDF", "XY51ZZZ"]
        fresh = add_read(store, "CD34EFG", datetime.now(UTC))
        assert tail.next(1, 10)[0].startswith(f"{fresh},CD34EFG,")
        started = time.monotonic()
        tail.process.send_signal(signal.SIGTERM)
        left, err = tail.rest(10)
        assert time.monotonic() - started < 3.0
    finally:
        tail.kill()
    assert tail.process.returncode == 0 and left == [] and "Traceback" not in err
