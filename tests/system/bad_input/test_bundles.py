"""Bad hotlist bundles (random bytes, truncated, bit flips, unknown keys, replays, wrong bases,
oversized, malformed lines, wrong types): each rejected with its reason, the store and the
index left as they were."""

from __future__ import annotations

import base64
import json
import string
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.hotlist.apply import BundleApplier
from edge.hotlist.bundle import wrap
from edge.hotlist.index import IndexHolder
from edge.hotlist.payload import ENTRY_COLUMNS, PAYLOAD_SCHEMA
from edge.hotlist.rejections import BundleRejected, Reason
from tests.support.bad_input import CASES, MB, examples, json_values
from tests.support.hotlist import ISSUED, Centre, entry, open_store

# ---------------------------------------------------------------------------------------------
# Hotlist bundles
# ---------------------------------------------------------------------------------------------

HELD = 5  # the unit holds national v5


GOOD = [
    entry("AB12CDE"),
    entry("BD51SMR", "no-insurance", 4, "monitor", "no MOT"),
    entry("X1", "drugs", 2, "monitor", expires_at="2030-01-01T00:00:00Z"),
]


REASONS = set(Reason)


class Unit:
    """A unit with a real SQLite store holding national v5 and an index; `fresh()` starts over
    (only needed when a mutated bundle turned out to be equivalent to the valid one)."""

    def __init__(self, folder: Path, centre: Centre):
        self.folder, self.centre, self.count = folder, centre, 0
        self.fresh()

    def fresh(self) -> None:
        self.count += 1
        self.applier = BundleApplier(
            open_store(self.folder / f"anpr-{self.count}.db"),
            self.centre.trusted(),
            max_payload_bytes=4 * MB,
            lists=["national", "county"],
            holder=IndexHolder(),
        )
        self.applier.apply(self.centre.snapshot("national", HELD, GOOD))

    def state(self) -> tuple:
        store = self.applier.store
        return (
            [(i.list_id, i.version, i.entries) for i in store.lists()],
            list(store.iter_entries()),
            self.applier.holder.versions(),
        )

    def rejects(self, bundle: bytes, *reasons: Reason, area: str) -> BundleRejected:
        """Apply `bundle`: it must be refused (for one of `reasons`, any when none given) and
        leave the store and index as they were."""
        CASES[area] += 1
        before = self.state()
        with pytest.raises(BundleRejected) as caught:
            self.applier.apply(bundle)
        rejection = caught.value
        assert rejection.reason in (reasons or REASONS), rejection
        assert rejection.detail and str(rejection).startswith("bundle rejected (")
        assert self.state() == before, "a rejected bundle changed the store or the index"
        return rejection


@pytest.fixture
def centre(tmp_path):
    return Centre(tmp_path / "keys")


@pytest.fixture
def unit(tmp_path, centre):
    return Unit(tmp_path, centre)


def signed(centre: Centre, payload: bytes) -> bytes:
    return wrap(payload, centre.keys["a"], "none")


def header(**fields) -> dict:
    return {
        "schema": PAYLOAD_SCHEMA,
        "kind": "snapshot",
        "list": "national",
        "version": HELD + 1,
        "issued_at": ISSUED,
        "entries": 1,
        "columns": ENTRY_COLUMNS,
        **fields,
    }


def lines(*rows) -> bytes:
    return b"".join(json.dumps(row).encode() + b"\n" for row in rows)


vrms = st.text(alphabet=string.ascii_uppercase + string.digits, min_size=1, max_size=10)


good_entries = st.lists(
    st.builds(
        entry,
        vrms,
        st.sampled_from(["stolen", "drugs", "no-insurance"]),
        st.integers(1, 5),
        st.sampled_from(["intercept", "monitor"]),
    ),
    min_size=1,
    max_size=6,
    unique_by=lambda e: e[0],
)


@examples(ci=25, long=700)
@given(data=st.binary(max_size=600))
def test_random_bytes_are_rejected(unit, data):
    unit.rejects(data, Reason.MALFORMED, Reason.WRONG_TYPE, area="bundle: random bytes")


@examples(ci=25, long=500)
@given(rows=good_entries, cut=st.floats(0, 1, exclude_max=True))
def test_truncated_bundles_are_rejected(unit, centre, rows, cut):
    bundle = centre.snapshot("national", HELD + 1, rows).rstrip()  # no trailing whitespace
    unit.rejects(bundle[: int(len(bundle) * cut)], Reason.MALFORMED, area="bundle: truncated")


@examples(ci=25, long=700)
@given(rows=good_entries, where=st.floats(0, 1, exclude_max=True), bit=st.integers(0, 7))
def test_bit_flips_are_rejected(unit, centre, rows, where, bit):
    bundle = bytearray(centre.snapshot("national", HELD + 1, rows))
    bundle[int(len(bundle) * where)] ^= 1 << bit
    try:
        unit.rejects(bytes(bundle), area="bundle: bit flip")
    except pytest.fail.Exception:
        # Accepted: allowed only if the flip did not change what was signed (a spare bit of
        # the last base64 character), and then the unit must hold exactly that list.
        original = json.loads(centre.snapshot("national", HELD + 1, rows))
        assert meaning(json.loads(bytes(bundle))) == meaning(original)
        unit.fresh()


def meaning(envelope: dict) -> dict:
    """The envelope with its base64 fields decoded (spare bits of the last character ignored)."""
    return {
        key: base64.b64decode(value) if key in ("payload", "signature") else value
        for key, value in envelope.items()
    }


@examples(ci=20, long=400)
@given(rows=good_entries, version=st.integers(HELD + 1, 10**6))
def test_signed_by_an_unknown_key(unit, centre, rows, version):
    rejection = unit.rejects(
        centre.snapshot("national", version, rows, key="rogue"),
        Reason.UNKNOWN_KEY,
        area="bundle: unknown key",
    )
    assert centre.keys["rogue"].key_id in rejection.detail


@examples(ci=20, long=400)
@given(rows=good_entries, version=st.integers(1, HELD), delta=st.booleans())
def test_replay_and_rollback(unit, centre, rows, version, delta):
    bundle = (
        centre.delta("national", version, version - 1, [["remove", "X1"]])
        if delta and version > 1
        else centre.snapshot("national", version, rows)
    )
    unit.rejects(bundle, Reason.STALE_VERSION, area="bundle: rollback/replay")


@examples(ci=20, long=400)
@given(base=st.integers(1, 10**6).filter(lambda b: b != HELD), ahead=st.integers(1, 100))
def test_delta_from_the_wrong_base(unit, centre, base, ahead):
    bundle = centre.delta("national", max(base, HELD) + ahead, base, [["remove", "X1"]])
    unit.rejects(bundle, Reason.BASE_MISMATCH, area="bundle: wrong base")


@examples(ci=10, long=200)
@given(
    count=st.integers(60, 200),
    reason=st.integers(50, 200),
    compression=st.sampled_from(["none", "gzip"]),
)
def test_oversized(unit, centre, count, reason, compression):
    """Over 4 KiB of payload (≥ 60 lines of ≥ 70 bytes), sent as is or as a gzip bomb."""
    unit.applier.max_payload_bytes = 4096
    rows = [entry(f"A{i:05d}", reason="r" * reason) for i in range(count)]
    unit.rejects(
        centre.snapshot("national", HELD + 1, rows, compression=compression),
        Reason.OVERSIZED,
        area="bundle: oversized",
    )


@examples(ci=25, long=700)
@given(
    junk=st.lists(
        st.binary(max_size=60) | st.text(max_size=60).map(str.encode), min_size=1, max_size=4
    ),
    good=st.integers(0, 2),
)
def test_malformed_payload_lines(unit, centre, junk, good):
    """A valid header and `good` valid entries, then lines of junk (bytes or text)."""
    rows = [entry(f"A{i}") for i in range(good)]
    body = lines(header(entries=good + len(junk)), *rows)
    body += b"".join(line.replace(b"\n", b" ") + b"\n" for line in junk)
    rejection = unit.rejects(
        signed(centre, body), Reason.MALFORMED, Reason.WRONG_TYPE, area="bundle: bad lines"
    )
    assert "line" in rejection.detail or "payload" in rejection.detail, rejection


FIELD_TYPES = {  # field → a strategy for values of a type it never takes
    "vrm": json_values.filter(lambda v: not isinstance(v, str)),
    "category": json_values.filter(lambda v: not isinstance(v, str)),
    "priority": json_values.filter(lambda v: type(v) is not int),
    "action": json_values.filter(lambda v: not isinstance(v, str)),
    "reason": json_values.filter(lambda v: not isinstance(v, str)),
    "expires_at": json_values.filter(lambda v: v is not None and not isinstance(v, str)),
}


@examples(ci=25, long=700)
@given(data=st.data(), field=st.sampled_from(sorted(FIELD_TYPES)))
def test_wrong_types_in_entries_name_line_and_field(unit, centre, data, field):
    row = entry("A1")
    row[ENTRY_COLUMNS.index(field)] = data.draw(FIELD_TYPES[field], label="value")
    rejection = unit.rejects(
        signed(centre, lines(header(), row)),
        Reason.WRONG_TYPE,
        Reason.MALFORMED,
        area="bundle: wrong types",
    )
    assert f"payload line 2: field {field}" in rejection.detail, rejection
