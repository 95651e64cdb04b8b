"""The in-memory index and the matcher: exact and fuzzy, expiry, several lists, local lists,
delta merges equal to a reload from the store, and the store-backed matcher equal to both."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.hotlist.apply import BundleApplier
from edge.hotlist.csv_import import CsvEntries
from edge.hotlist.entries import columns_from_text
from edge.hotlist.fuzzy import FuzzyPolicy
from edge.hotlist.index import IndexHolder, ListIndex
from edge.hotlist.local import import_local_list
from edge.hotlist.matcher import Matcher, match_in_store
from edge.hotlist.records import IndexColumns, ListInfo
from edge.records import Hit, HotlistMatch
from tests.support.hotlist import NOW, Centre, entry, found, open_store


def test_exact_matches_on_every_list_holding_the_plate(unit):
    _, _, holder, _ = unit
    matches = Matcher(holder, FuzzyPolicy(0), clock=lambda: NOW).match("ab12 cde")
    assert found(matches) == [
        ("county", "AB12CDE", "exact", 0, False),
        ("national", "AB12CDE", "exact", 0, False),
    ]
    assert matches[0].entry.category == "county-lines" and matches[0].version == 1
    assert all(isinstance(m, HotlistMatch) for m in matches)
    Hit(read=None, matches=matches)  # a Hit carries them as HotlistMatches


def test_fuzzy_confusions_and_edits_are_told_apart(unit):
    _, _, holder, _ = unit
    matcher = Matcher(holder, FuzzyPolicy(1, "confusions"), clock=lambda: NOW)
    assert found(matcher.match("A812CDE")) == [
        ("county", "AB12CDE", "fuzzy", 1, True),
        ("national", "AB12CDE", "fuzzy", 1, True),
    ]
    assert found(matcher.match("KBLMN")) == [("national", "K8LMN", "fuzzy", 1, True)]
    assert found(matcher.match("K8LMNP")) == [("national", "K8LMN", "fuzzy", 1, False)]
    assert matcher.match("B12") == ()  # a short read: confusions only, and none leads to B1
    assert matcher.match("AB12CDX") == ()  # X/E is no confusion: needs substitutions="any"
    anything = Matcher(holder, FuzzyPolicy(1, "any"), clock=lambda: NOW)
    assert ("national", "AB12CDE", "fuzzy", 1, False) in found(anything.match("AB12CDX"))
    # Exact first; then fuzzy by distance and priority.
    assert found(matcher.match("AB12CDF"))[0] == ("national", "AB12CDF", "exact", 0, False)


def test_expired_entries_never_match(unit):
    _, _, holder, _ = unit
    matcher = Matcher(holder, FuzzyPolicy(1), clock=lambda: NOW)
    assert matcher.match("OLD123") == () and matcher.match("0LD123") == ()
    assert found(matcher.match("NEW123")) == [("national", "NEW123", "exact", 0, False)]
    later = Matcher(holder, FuzzyPolicy(1), clock=lambda: 1_950_000_000)
    assert later.match("NEW123") == ()


def test_reads_that_are_not_plates_match_nothing(unit):
    _, _, holder, _ = unit
    matcher = Matcher(holder, FuzzyPolicy(1))
    assert matcher.match("") == () and matcher.match("AB#12") == ()
    assert Matcher(IndexHolder(), FuzzyPolicy(1)).match("AB12CDE") == ()


def test_local_lists_are_marked_local_in_every_match(unit):
    _, store, holder, _ = unit
    records = [{"vrm": "AB12CDE", "category": "watch", "priority": "5", "action": "monitor"}]
    info = import_local_list(
        store,
        "site",
        CsvEntries(columns_from_text(records), [2]),
        signed_lists=["national", "county"],
    )
    assert info.local and info.version == 1
    matches = match_in_store(store, "AB12CDE", FuzzyPolicy(1), clock=lambda: NOW)
    assert {(m.list_id, m.local) for m in matches} == {
        ("county", False),
        ("national", False),
        ("site", True),
    }
    assert holder.current.lists.keys() == {"national", "county"}  # the CLI does not touch it


def test_matches_carry_the_reason_when_the_store_is_asked(unit):
    centre, store, holder, applier = unit
    applier.apply(
        centre.delta(
            "national",
            2,
            1,
            [["update", *entry("K8LMN", "firearms", 1, "do-not-stop", "armed, do not approach")]],
        )
    )
    (match,) = Matcher(holder, FuzzyPolicy(0), reasons=store.reason).match("K8LMN")
    assert match.entry.reason == "armed, do not approach" and match.version == 2
    assert match.entry.action == "do-not-stop"


changes = st.lists(
    st.tuples(
        st.sampled_from(["add", "update", "remove"]),
        st.text("AB0128", min_size=1, max_size=4),
        st.integers(1, 5),
    ),
    max_size=25,
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rounds=st.lists(changes, min_size=1, max_size=4))
def test_delta_merges_equal_a_reload_from_the_store(tmp_path_factory, rounds):
    folder = tmp_path_factory.mktemp("merge")
    centre = Centre(folder)
    store = open_store(folder / "anpr.db")
    holder = IndexHolder()
    applier = BundleApplier(store, centre.trusted(), max_payload_bytes=1 << 24, holder=holder)
    held = {"A1": 1, "B2": 2, "AB": 3}
    applier.apply(centre.snapshot("national", 1, [entry(v, priority=p) for v, p in held.items()]))
    for version, proposed in enumerate(rounds, start=2):
        delta, seen = [], set()
        for op, vrm, priority in proposed:
            if vrm in seen or (op == "add") == (vrm in held):
                continue  # only changes that fit what is held
            seen.add(vrm)
            delta.append(["remove", vrm] if op == "remove" else [op, *entry(vrm, "x", priority)])
            if op == "remove":
                del held[vrm]
            else:
                held[vrm] = priority
        applier.apply(centre.delta("national", version, version - 1, delta))
        merged = holder.current.lists["national"]
        reloaded = ListIndex.build(merged.info, store.load_columns("national"), store.labels())
        for name in ("keys", "category", "action", "priority", "expires"):
            assert np.array_equal(getattr(merged.columns, name), getattr(reloaded.columns, name)), (
                name
            )
        assert merged.lengths >= reloaded.lengths


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    read=st.text("AB12CDEFKLMNO80", min_size=1, max_size=8),
    policy=st.sampled_from([FuzzyPolicy(0), FuzzyPolicy(1), FuzzyPolicy(1, "any"), FuzzyPolicy(2)]),
)
def test_store_matching_equals_index_matching(unit, read, policy):
    _, store, holder, _ = unit
    in_memory = Matcher(holder, policy, clock=lambda: NOW, reasons=store.reason).match(read)
    assert match_in_store(store, read, policy, clock=lambda: NOW) == in_memory


def big_index(rng, entries: int) -> ListIndex:
    keys = np.unique(rng.integers(1, 2**60, entries))
    n = len(keys)
    columns = IndexColumns(
        keys,
        np.ones(n, np.uint16),
        np.ones(n, np.uint16),
        np.ones(n, np.uint8),
        np.zeros(n, np.uint32),
    )
    info = ListInfo("national", 1, "2026-03-01T12:00:00Z", False, n, None, "")
    return ListIndex.build(info, columns, ("", "x"))


def test_the_membership_prefilter_changes_no_answer():
    rng = np.random.default_rng(11)
    index = big_index(rng, 200_000)
    assert index.membership is not None  # large enough to use it
    assert index.membership.may_contain(index.columns.keys).all()  # never a false "absent"
    absent = rng.integers(1, 2**60, 100_000)
    assert index.membership.may_contain(absent).mean() < 0.1  # it does filter
    candidates = np.sort(np.concatenate([rng.choice(index.columns.keys, 500), absent[:5000]]))
    found, rows = index.lookup(candidates)
    expected = np.flatnonzero(np.isin(candidates, index.columns.keys))
    assert np.array_equal(found, expected)
    assert np.array_equal(index.columns.keys[rows], candidates[found])


def test_merged_deltas_keep_the_prefilter_right_and_resize_it_when_outgrown():
    rng = np.random.default_rng(12)
    index = big_index(rng, 70_000)
    info = index.info
    added_keys = np.setdiff1d(rng.integers(1, 2**60, 1000), index.columns.keys)
    added = IndexColumns(
        added_keys,
        *(np.ones(len(added_keys), t) for t in (np.uint16, np.uint16, np.uint8)),
        np.zeros(len(added_keys), np.uint32),
    )
    removed = index.columns.keys[:10]
    merged = index.with_changes(info, index.labels, removed, IndexColumns.empty(), added)
    assert merged.membership.slot_bits == index.membership.slot_bits  # copied and extended
    assert np.array_equal(merged.lookup(np.sort(added_keys))[0], np.arange(len(added_keys)))
    assert merged.lookup(np.sort(removed))[0].size == 0  # gone, though their bits remain
    many = np.setdiff1d(rng.integers(1, 2**60, 200_000), merged.columns.keys)
    grown = merged.with_changes(
        info,
        index.labels,
        np.zeros(0, np.int64),
        IndexColumns.empty(),
        IndexColumns(
            many,
            *(np.ones(len(many), t) for t in (np.uint16, np.uint16, np.uint8)),
            np.zeros(len(many), np.uint32),
        ),
    )
    assert grown.membership.slot_bits > index.membership.slot_bits  # rebuilt for its size
    assert grown.membership.may_contain(grown.columns.keys).all()
