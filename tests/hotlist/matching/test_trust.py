"""The confidence gate on fuzzy matches (edge.hotlist.trust): a fuzzy match may change only
what the recogniser was unsure of; exact matches never depend on confidences."""

from __future__ import annotations

import pytest

from edge.hotlist.fuzzy import FuzzyPolicy
from edge.hotlist.matcher import Matcher
from edge.hotlist.trust import edits_believable
from tests.support.hotlist import NOW, found

SURE = 0.99
ALL_SURE = (0.999,) * 7


def unsure_at(*positions: int, length: int = 7) -> tuple[float, ...]:
    return tuple(0.6 if i in positions else 0.999 for i in range(length))


@pytest.mark.parametrize(
    ("read", "plate", "confidences", "believable"),
    [
        # one substitution: only where the read character was unsure
        ("AB12CDE", "AB12CDF", ALL_SURE, False),
        ("AB12CDE", "AB12CDF", unsure_at(6), True),
        ("AB12CDE", "AB12CDF", unsure_at(5), False),  # unsure elsewhere does not count
        # the read has one character too many: only an unsure one may go
        ("AB12CDEE", "AB12CDE", (0.999,) * 8, False),
        ("AB12CXDE", "AB12CDE", unsure_at(5, length=8), True),
        # the read lost a character: at either end (box cut short) ...
        ("B12CDE", "AB12CDE", (0.999,) * 6, True),
        ("AB12CD", "AB12CDE", (0.999,) * 6, True),
        # ... where it doubles a neighbour (CTC merged a repeated character) ...
        ("AB12DE", "AB12DDE", (0.999,) * 6, True),
        # ... or beside an unsure character, not in the middle of sure ones
        ("AB12DE", "AB12CDE", (0.999,) * 6, False),
        ("AB12DE", "AB12CDE", (0.999, 0.999, 0.999, 0.5, 0.999, 0.999), True),
        # two edits: both must be explained
        ("AB12CDE", "A812CDF", unsure_at(1), False),
        ("AB12CDE", "A812CDF", unsure_at(1, 6), True),
    ],
)
def test_only_unsure_characters_are_edited(read, plate, confidences, believable):
    assert edits_believable(read, plate, confidences, SURE) is believable


def test_sure_one_or_missing_confidences_trust_no_character():
    assert edits_believable("AB12CDE", "AB12CDF", ALL_SURE, 1.0)
    assert edits_believable("AB12CDE", "AB12CDF", ALL_SURE[:6], SURE)  # wrong length: no gate


def test_the_matcher_drops_fuzzy_matches_through_sure_characters(unit):
    _, _, holder, _ = unit
    matcher = Matcher(holder, FuzzyPolicy(1, "confusions"), clock=lambda: NOW)
    assert matcher.match("A812CDE", ALL_SURE) == ()
    assert found(matcher.match("A812CDE", unsure_at(1))) == [
        ("county", "AB12CDE", "fuzzy", 1, True),
        ("national", "AB12CDE", "fuzzy", 1, True),
    ]
    assert found(matcher.match("A812CDE")) == found(matcher.match("A812CDE", unsure_at(1)))
    # an exact match stands whatever the confidences; its fuzzy neighbour needs an unsure E
    assert found(matcher.match("AB12CDF", ALL_SURE)) == [("national", "AB12CDF", "exact", 0, False)]
    everything = Matcher(holder, FuzzyPolicy(1, "confusions", sure_confidence=1.0))
    assert found(everything.match("A812CDE", ALL_SURE)) == found(matcher.match("A812CDE"))
