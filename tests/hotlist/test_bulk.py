"""The bulk paths of a large apply and of the reload at boot (edge.hotlist.bulk, the block
parsing of edge.hotlist.payload), at sizes that cross their statement, block and chunk edges:
what goes in comes back out exactly, errors still name their line, and nothing leaks out of an
apply (the garbage collector's state)."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from edge.hotlist import bulk, payload, prefilter
from edge.hotlist.apply import BundleApplier
from edge.hotlist.index import IndexHolder
from edge.hotlist.keys import encode_many
from edge.hotlist.rejections import BundleRejected, Reason
from edge.store.sql import StoreError
from tests.support.hotlist import Centre, entry, open_store

MB = 1024 * 1024
CATEGORIES = ("stolen", "no-insurance", "drugs")
EXPIRIES = (None, None, "2030-01-01T00:00:00Z", "2031-06-01T12:30:00+01:00")


def entries(count: int, prefix: str = "A") -> list[list]:
    """`count` sorted entries (not a multiple of bulk.INSERT_ROWS) varying every field."""
    return [
        entry(
            f"{prefix}{i:06d}",
            CATEGORIES[i % 3],
            1 + i % 5,
            "monitor" if i % 2 else "intercept",
            ["", "seen in Bradford", "PNC marker — ☂"][i % 3],
            EXPIRIES[i % 4],
        )
        for i in range(count)
    ]


@pytest.fixture
def centre(tmp_path):
    return Centre(tmp_path / "keys")


@pytest.fixture
def unit(tmp_path, centre):
    return BundleApplier(
        open_store(tmp_path / "anpr.db"),
        centre.trusted(),
        max_payload_bytes=4 * MB,
        holder=IndexHolder(),
    )


def test_a_snapshot_comes_back_out_of_the_store_and_the_index_as_it_went_in(
    unit, centre, monkeypatch
):
    rows = entries(2 * bulk.INSERT_ROWS + 37)
    unit.apply(centre.snapshot("national", 1, rows))
    stored = [
        [e["vrm"], e["category"], e["priority"], e["action"], e["reason"], e["expires_at"]]
        for e in unit.store.iter_entries("national")
    ]
    assert [r[:5] for r in stored] == [r[:5] for r in rows]
    utc = {None: None, EXPIRIES[2]: EXPIRIES[2], EXPIRIES[3]: "2031-06-01T11:30:00Z"}
    assert [r[5] for r in stored] == [utc[r[5]] for r in rows]

    monkeypatch.setattr(bulk, "READ_ROWS", 50)  # many chunks, the last one short
    reloaded = unit.store.load_columns("national")
    held = unit.holder.current.lists["national"].columns
    for name in reloaded.FIELDS:
        assert np.array_equal(getattr(reloaded, name), getattr(held, name)), name
        assert getattr(reloaded, name).dtype == getattr(held, name).dtype, name
    assert np.array_equal(reloaded.keys, encode_many([r[0] for r in rows]))


def test_a_reload_refuses_a_list_whose_row_count_disagrees(unit, centre, monkeypatch):
    unit.apply(centre.snapshot("national", 1, entries(120)))
    monkeypatch.setattr(bulk, "READ_ROWS", 50)
    unit.store.conn.execute("UPDATE hotlist_lists SET entries = 119")
    with pytest.raises(StoreError, match="different number of entries"):
        unit.store.load_columns("national")
    unit.store.conn.execute("UPDATE hotlist_lists SET entries = 121")
    with pytest.raises(StoreError, match="different number of entries"):
        unit.store.load_columns("national")
    assert not unit.store.conn.in_transaction


def test_a_delta_adding_a_held_plate_mid_statement_names_its_line(unit, centre):
    unit.apply(centre.snapshot("national", 1, [entry("B000150")]))
    adds = [["add", *row] for row in entries(250, "B")]
    with pytest.raises(BundleRejected) as caught:
        unit.apply(centre.delta("national", 2, 1, adds))
    assert caught.value.reason == Reason.DELTA_CONFLICT
    assert "payload line 152:" in caught.value.detail  # header, then B000000 on line 2
    assert [e["vrm"] for e in unit.store.iter_entries("national")] == ["B000150"]


@pytest.mark.parametrize("compression", ["none", "gzip"])
def test_tiny_blocks_still_name_the_bad_line(unit, centre, monkeypatch, compression):
    monkeypatch.setattr(payload, "BLOCK_BYTES", 64)  # shorter than most lines
    rows = entries(300)
    assert unit.apply(centre.snapshot("national", 1, rows, compression=compression)).entries == 300
    rows[211][1] = "Not A Label"
    with pytest.raises(BundleRejected) as caught:
        unit.apply(centre.snapshot("national", 2, rows, compression=compression))
    assert "payload line 213: field category" in caught.value.detail
    assert unit.store.get("national").version == 1


def test_an_apply_leaves_the_garbage_collector_as_it_found_it(unit, centre):
    assert gc.isenabled()
    unit.apply(centre.snapshot("national", 1, entries(10)))
    assert gc.isenabled()
    with pytest.raises(BundleRejected):
        unit.apply(centre.snapshot("national", 2, [entry("A1", priority=9)]))
    assert gc.isenabled()
    gc.disable()
    try:
        unit.apply(centre.snapshot("national", 3, entries(10)))
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_list_larger_than_a_hashing_chunk_is_indexed_whole_and_kept_on_refusal(
    unit, centre, tmp_path
):
    # the membership bits and plate lengths are computed a chunk of keys at a time (to bound
    # an apply's memory): a plate of its own length in the last chunk must still be found
    rows = [*(entry(f"A{i:06d}") for i in range(prefilter.CHUNK_KEYS + 999)), entry("ZZ9")]
    assert unit.apply(centre.snapshot("national", 1, rows)).entries == len(rows)
    held = unit.holder.current.lists["national"]
    assert held.lengths == {3, 7}
    assert held.membership is not None and held.membership.may_contain(held.columns.keys).all()
    assert np.array_equal(held.columns.keys, encode_many(sorted(r[0] for r in rows)))
    assert held.lookup_one(int(encode_many(["ZZ9"])[0])) == len(rows) - 1

    rows[-1] = entry("ZZ9", priority=9)  # refused on its last line, after every chunk
    spooled = tmp_path / "national-2.bundle"  # given as a file, as the sync gives its spool's
    spooled.write_bytes(centre.snapshot("national", 2, rows))
    with pytest.raises(BundleRejected) as caught:
        unit.apply(spooled)
    assert caught.value.reason == Reason.MALFORMED
    assert unit.holder.current.lists["national"] is held  # the last good list, untouched
    assert unit.store.get("national").version == 1
    assert unit.store.get("national").entries == len(rows)
