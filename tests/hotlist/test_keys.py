"""Plates as keys, and fuzzy candidates, checked against brute force and definitions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.hotlist.fuzzy import CONFUSION_PAIRS, FuzzyPolicy, candidates, edit_kind
from edge.hotlist.index import key_lengths
from edge.hotlist.keys import (
    ALPHABET,
    InvalidPlate,
    decode,
    decode_many,
    encode,
    encode_many,
    normalise_vrm,
)
from edge.hotlist.prefilter import CHUNK_KEYS
from edge.plates.distance import levenshtein

plates = st.text(alphabet=ALPHABET, min_size=1, max_size=10)
CONFUSABLE = {frozenset(pair) for pair in CONFUSION_PAIRS}


def one_edit_away(plate: str) -> set[str]:
    found = set()
    for i in range(len(plate)):
        found.add(plate[:i] + plate[i + 1 :])
        found.update(plate[:i] + c + plate[i + 1 :] for c in ALPHABET)
    if len(plate) < 10:
        for i in range(len(plate) + 1):
            found.update(plate[:i] + c + plate[i:] for c in ALPHABET)
    return found - {"", plate}


def candidate_plates(plate: str, policy: FuzzyPolicy) -> set[str]:
    return {p for keys in candidates(plate, policy).values() for p in decode_many(keys)} - {plate}


@given(plates)
def test_keys_round_trip(plate):
    assert decode(encode(plate)) == plate
    assert decode_many(encode_many([plate])) == [plate]


@given(st.lists(plates, min_size=2, max_size=50))
def test_key_order_is_the_plates_byte_order(batch):
    keys = encode_many(batch)
    assert [batch[i] for i in np.argsort(keys, kind="stable")] == sorted(batch)
    assert keys.tolist() == [encode(p) for p in batch]


def test_invalid_plates_are_named_by_position():
    for bad in ("", "abc", "AB 12", "ABCDEFGHIJK", "ÄB1", "A\0", "A\0B", "\0AB"):
        with pytest.raises(InvalidPlate) as caught:
            encode_many(["AB12CDE", "X1", bad])
        assert caught.value.index == 2, bad


def test_normalise_drops_spaces_and_dashes_and_refuses_the_rest():
    assert normalise_vrm(" ab12-cde ") == "AB12CDE"
    for bad in ("AB#1", "", "  ", "ABCDEFGHIJK", "AB_1"):
        with pytest.raises(ValueError):
            normalise_vrm(bad)


@settings(max_examples=40, deadline=None)
@given(plates)
def test_any_substitution_policy_yields_exactly_the_plates_one_edit_away(plate):
    policy = FuzzyPolicy(1, "any", min_edit_length=0)
    assert candidate_plates(plate, policy) == one_edit_away(plate)


@settings(max_examples=40, deadline=None)
@given(plates)
def test_confusion_policy_substitutes_only_confusion_pairs(plate):
    def is_confusion(other: str) -> bool:
        ((a, b),) = [(a, b) for a, b in zip(plate, other, strict=True) if a != b]
        return frozenset((a, b)) in CONFUSABLE

    expected = {p for p in one_edit_away(plate) if len(p) != len(plate) or is_confusion(p)}
    policy = FuzzyPolicy(1, "confusions", min_edit_length=0)
    assert candidate_plates(plate, policy) == expected


@given(st.text(alphabet=ALPHABET, min_size=1, max_size=4))
def test_short_reads_get_confusion_substitutions_only(plate):
    def confusion(other: str) -> bool:
        if len(other) != len(plate):
            return False
        ((a, b),) = [(a, b) for a, b in zip(plate, other, strict=True) if a != b]
        return frozenset((a, b)) in CONFUSABLE

    expected = {p for p in one_edit_away(plate) if confusion(p)}
    assert candidate_plates(plate, FuzzyPolicy(1, "any")) == expected


@settings(max_examples=25, deadline=None)
@given(plates)
def test_distance_two_needs_a_confusion(plate):
    found = candidate_plates(plate, FuzzyPolicy(2, "confusions", min_edit_length=0))
    assert candidate_plates(plate, FuzzyPolicy(1, "confusions", min_edit_length=0)) <= found
    for other in found:
        distance, _ = edit_kind(plate, other)
        assert 1 <= distance <= 2


def test_candidates_are_generated_only_for_the_lengths_asked():
    by_length = candidates("AB12CDE", FuzzyPolicy(1, "any"), frozenset({7}))
    assert set(by_length) == {7}
    assert candidates("AB12CDE", FuzzyPolicy(0)) == {}


@given(plates, plates)
def test_edit_kind_distance_is_levenshtein(a, b):
    assert edit_kind(a, b)[0] == levenshtein(a, b)


def test_edit_kind_tells_confusions_from_other_edits():
    assert edit_kind("AB12CDE", "A812CDE") == (1, True)  # B/8
    assert edit_kind("AB12CDE", "AX12CDE") == (1, False)
    assert edit_kind("AB12CDE", "AB12CD") == (1, False)  # a dropped character
    assert edit_kind("O0S", "0O5") == (3, True)


def test_key_lengths():
    assert key_lengths(encode_many(["A", "AB12CDE", "ABCDEFGHIJ", "Z9"])) == {1, 2, 7, 10}
    assert key_lengths(np.zeros(0, np.int64)) == frozenset()


def test_key_lengths_counts_every_chunk_of_a_long_array():
    # computed a chunk at a time (edge.hotlist.prefilter.CHUNK_KEYS) to bound the temporaries
    sevens = encode_many([f"A{i:06d}" for i in range(CHUNK_KEYS * 2)])
    keys = np.concatenate([sevens, encode_many(["AB", "ABCDEFGHIJ"])])
    assert key_lengths(keys) == {2, 7, 10}
    assert key_lengths(keys[:CHUNK_KEYS]) == {7}
