"""Applying signed bundles: every rejection rule of DESIGN §4, each leaving the store as it was,
and the wire format checked against its JSON Schemas."""

from __future__ import annotations

import base64
import gzip
import json

import jsonschema
import pytest

from edge.hotlist.apply import BundleApplier
from edge.hotlist.bundle import snapshot_payload, wrap
from edge.hotlist.index import IndexHolder
from edge.hotlist.payload import ENTRY_COLUMNS, PAYLOAD_SCHEMA, compress
from edge.hotlist.rejections import BundleRejected, Reason
from tests.support.hotlist import ISSUED, Centre, entry, open_store, schema, tamper

MB = 1024 * 1024
V1 = [
    entry("AB12CDE"),
    entry("BD51SMR", "no-insurance", 4, "monitor", "no MOT"),
    entry("X1", "drugs", 2, "monitor", expires_at="2030-01-01T00:00:00Z"),
]


@pytest.fixture
def centre(tmp_path):
    return Centre(tmp_path / "keys")


@pytest.fixture
def unit(tmp_path, centre):
    """A unit holding national v1 (and a local list 'site'), with an index."""
    store = open_store(tmp_path / "anpr.db")
    holder = IndexHolder()
    applier = BundleApplier(
        store,
        centre.trusted(),
        max_payload_bytes=4 * MB,
        lists=["national", "county", "site"],
        holder=holder,
    )
    applier.apply(centre.snapshot("national", 1, V1))
    with store.change("site") as change:
        change.finish(version=1, issued_at=ISSUED, local=True, key_id=None)
    return applier


def state(applier: BundleApplier) -> tuple:
    store = applier.store
    return (
        [(i.list_id, i.version, i.entries) for i in store.lists()],
        list(store.iter_entries()),
        applier.holder.versions(),
    )


def rejected(applier: BundleApplier, bundle: bytes, reason: Reason, **kwargs) -> str:
    before = state(applier)
    counted = applier.counters.snapshot()["rejected"].get(reason.value, 0)
    with pytest.raises(BundleRejected) as caught:
        applier.apply(bundle, **kwargs)
    assert caught.value.reason == reason, caught.value
    assert state(applier) == before, "a rejected bundle changed the store or the index"
    assert applier.counters.snapshot()["rejected"][reason.value] == counted + 1
    return caught.value.detail


def reenvelope(bundle: bytes, **changes) -> bytes:
    envelope = json.loads(bundle)
    envelope.update(changes)
    return json.dumps(envelope).encode()


def signed_payload(centre: Centre, payload: bytes, compression: str = "none") -> bytes:
    carried = compress(payload) if compression == "gzip" else payload
    return wrap(carried, centre.keys["a"], compression)


def header(kind="snapshot", **fields) -> dict:
    base = {
        "schema": PAYLOAD_SCHEMA,
        "kind": kind,
        "list": "national",
        "version": 2,
        "issued_at": ISSUED,
        "entries": 1,
        "columns": ENTRY_COLUMNS,
    }
    return {**base, **fields}


def lines(head: dict, *rows) -> bytes:
    return b"\n".join(json.dumps(x).encode() for x in (head, *rows)) + b"\n"


def test_snapshot_then_delta_apply_and_the_index_follows(unit, centre):
    applied = unit.apply(
        centre.delta(
            "national",
            2,
            1,
            [
                ["add", *entry("CD34EFG", "firearms")],
                ["remove", "BD51SMR"],
                ["update", *entry("AB12CDE", "stolen", 3, "monitor", "seen")],
            ],
        )
    )
    assert (applied.kind, applied.version, applied.previous_version, applied.entries) == (
        "delta",
        2,
        1,
        3,
    )
    rows = {e["vrm"]: e for e in unit.store.iter_entries("national")}
    assert set(rows) == {"AB12CDE", "CD34EFG", "X1"}
    assert rows["AB12CDE"]["priority"] == 3 and rows["AB12CDE"]["reason"] == "seen"
    assert rows["X1"]["expires_at"] == "2030-01-01T00:00:00Z"
    index = unit.holder.current.lists["national"]
    assert index.info.version == 2 and len(index) == 3
    assert unit.counters.snapshot()["applied"] == 2


def test_a_key_rotation_is_accepted(unit, centre):
    assert unit.apply(centre.snapshot("national", 2, V1, key="b")).version == 2


def test_bad_signature(unit, centre):
    bundle = centre.snapshot("national", 2, V1)
    rejected(unit, tamper(bundle), Reason.BAD_SIGNATURE)
    other = json.loads(centre.snapshot("national", 3, V1))["signature"]
    rejected(unit, reenvelope(bundle, signature=other), Reason.BAD_SIGNATURE)


def test_unknown_key(unit, centre):
    message = rejected(unit, centre.snapshot("national", 2, V1, key="rogue"), Reason.UNKNOWN_KEY)
    assert centre.keys["rogue"].key_id in message


def test_replay_and_rollback_are_stale(unit, centre):
    assert "replay or rollback" in rejected(
        unit, centre.snapshot("national", 1, V1), Reason.STALE_VERSION
    )
    unit.apply(centre.snapshot("national", 5, V1))
    rejected(unit, centre.snapshot("national", 4, V1), Reason.STALE_VERSION)
    rejected(unit, centre.delta("national", 5, 4, [["remove", "X1"]]), Reason.STALE_VERSION)


def test_delta_from_another_base(unit, centre):
    rejected(unit, centre.delta("national", 4, 3, [["remove", "X1"]]), Reason.BASE_MISMATCH)
    rejected(unit, centre.delta("county", 2, 1, [["remove", "X1"]]), Reason.BASE_MISMATCH)


def test_delta_that_does_not_fit_the_held_rows(unit, centre):
    for change in (
        ["add", *entry("AB12CDE")],
        ["remove", "ZZ99ZZZ"],
        ["update", *entry("ZZ99ZZZ")],
    ):
        rejected(
            unit,
            centre.delta("national", 2, 1, [["add", *entry("NEW1")], change]),
            Reason.DELTA_CONFLICT,
        )


@pytest.mark.parametrize(
    "make",
    [
        lambda c: b"not json at all",
        lambda c: b"[1, 2]",
        lambda c: reenvelope(c.snapshot("national", 2, V1), extra="x"),
        lambda c: reenvelope(c.snapshot("national", 2, V1), payload="***"),
        lambda c: reenvelope(c.snapshot("national", 2, V1), schema="anpr.hotlist-bundle/9"),
        lambda c: reenvelope(c.snapshot("national", 2, V1), compression="zstd"),
        lambda c: signed_payload(c, b"not json\n"),
        lambda c: signed_payload(c, b"garbage that is not gzip", "none").replace(
            b'"none"', b'"gzip"'
        ),
        lambda c: signed_payload(c, lines(header(schema="other/1"), entry("A1"))),
        lambda c: signed_payload(c, lines(header(entries=2), entry("A1"))),  # truncated
        lambda c: signed_payload(c, lines(header(entries=2), entry("B1"), entry("A1"))),  # order
        lambda c: signed_payload(c, lines(header(entries=2), entry("A1"), entry("A1"))),  # repeat
        lambda c: signed_payload(c, lines(header(), entry("ab 1"))),  # not normalised
        lambda c: signed_payload(c, lines(header(), entry("A1", priority=9))),
        lambda c: signed_payload(c, lines(header(), entry("A1", category="Stolen!"))),
        lambda c: signed_payload(c, lines(header(), entry("A1", expires_at="tomorrow"))),
        lambda c: signed_payload(c, lines(header(), entry("A1")[:5])),
        lambda c: signed_payload(
            c,
            lines(
                header(
                    kind="delta",
                    base_version=1,
                    adds=0,
                    updates=0,
                    removes=1,
                    columns=["op", *ENTRY_COLUMNS],
                ),
                ["rename", "A1"],
            ),
        ),
        lambda c: signed_payload(c, lines(header(), entry("A1"))[:-1] + b"\n\n"),
    ],
    ids=[
        "not-json",
        "not-object",
        "extra-key",
        "bad-base64",
        "schema",
        "compression",
        "payload-not-json",
        "payload-not-gzip",
        "payload-schema",
        "truncated",
        "order",
        "repeat",
        "vrm",
        "priority",
        "category",
        "expiry",
        "short-entry",
        "delta-op",
        "blank-line",
    ],
)
def test_malformed(unit, centre, make):
    rejected(unit, make(centre), Reason.MALFORMED)


def test_a_bad_line_far_into_a_snapshot_names_its_line_and_keeps_the_old_list(unit, centre):
    rows = [entry(f"A{i:06d}") for i in range(30_000)]
    rows[25_000][2] = 7
    payload = lines(header(entries=len(rows)), *rows)
    message = rejected(unit, signed_payload(centre, payload, "gzip"), Reason.MALFORMED)
    assert "payload line 25002: field priority" in message


@pytest.mark.parametrize(
    "make",
    [
        lambda c: signed_payload(c, lines(header(), entry("A1", priority="1"))),
        lambda c: signed_payload(c, lines(header(version="2"), entry("A1"))),
        lambda c: signed_payload(c, lines(header(), [7, "stolen", 1, "x", "", None])),
        lambda c: reenvelope(c.snapshot("national", 2, V1), key_id=17),
    ],
    ids=["priority", "version", "vrm", "envelope"],
)
def test_wrong_types(unit, centre, make):
    rejected(unit, make(centre), Reason.WRONG_TYPE)


def test_oversized_bundles_and_decompression_bombs(unit, centre):
    unit.max_payload_bytes = 1 * MB
    big = [entry(f"A{i:06d}", reason="x" * 150) for i in range(8_000)]  # ~1.3 MB
    rejected(unit, centre.snapshot("national", 2, big, compression="none"), Reason.OVERSIZED)
    bomb = lines(header(entries=1), entry("A1", reason=" " * 200)) + b" " * (8 * MB)
    assert len(compress(bomb)) < 64 * 1024
    rejected(unit, signed_payload(centre, bomb, "gzip"), Reason.OVERSIZED)


def test_lists_the_unit_does_not_take(unit, centre):
    rejected(unit, centre.snapshot("elsewhere", 1, V1), Reason.WRONG_LIST)
    rejected(unit, centre.snapshot("site", 2, V1), Reason.WRONG_LIST)  # held as local
    rejected(
        unit, centre.snapshot("national", 2, V1), Reason.WRONG_TOPIC, topic=("national", "delta")
    )


def test_the_wire_format_matches_its_json_schemas(centre):
    bundle_schema, payload_schema = schema("hotlist-bundle"), schema("hotlist-payload")
    defs = {"$defs": payload_schema["$defs"]}
    big = [entry(f"B{i:05d}", reason="reported") for i in range(3000)]  # > 64 KiB
    bundles = [
        centre.snapshot("national", 1, V1),
        centre.snapshot("national", 2, big),
        centre.delta(
            "national",
            3,
            2,
            [["add", *entry("A1")], ["remove", "B00001"], ["update", *entry("B00002", priority=5)]],
        ),
    ]
    for bundle in bundles:
        envelope = json.loads(bundle)
        jsonschema.validate(envelope, bundle_schema)
        payload = base64.b64decode(envelope["payload"])
        if envelope["compression"] == "gzip":
            payload = gzip.decompress(payload)
        head, *rows = [json.loads(line) for line in payload.splitlines()]
        jsonschema.validate(head, payload_schema)
        line_schema = {
            **defs,
            "$ref": "#/$defs/" + ("entry" if head["kind"] == "snapshot" else "change"),
        }
        validator = jsonschema.Draft202012Validator(line_schema)  # compiled once, not per row
        for row in rows:
            validator.validate(row)
    assert json.loads(bundles[1])["compression"] == "gzip"  # compressed when large
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(json.loads(reenvelope(bundles[0], alg="rsa")), bundle_schema)


def test_snapshot_payload_round_trips_through_the_schema_rules(centre):
    payload = snapshot_payload("national", 1, ISSUED, sorted(V1))
    head = json.loads(payload.split(b"\n", 1)[0])
    assert head["entries"] == 3 and head["columns"] == ENTRY_COLUMNS
