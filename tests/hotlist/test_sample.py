"""The benchmark's fast plate sampler draws what `random_registration` draws."""

from __future__ import annotations

from collections import Counter

import numpy as np

from edge.hotlist.sample import sample_registrations
from edge.plates.formats import FORMATS, classify, random_registration


def test_every_sample_is_a_valid_uk_registration_in_the_formats_shares():
    plates = sample_registrations(np.random.default_rng(3), 20_000)
    formats = Counter(classify(p) for p in plates)
    assert None not in formats
    for label, plate_format in FORMATS.items():
        assert abs(formats[label] / len(plates) - plate_format.share) < 0.02, label


def test_lengths_match_random_registration():
    rng = np.random.default_rng(4)
    fast = Counter(map(len, sample_registrations(rng, 20_000)))
    slow = Counter(len(random_registration(rng).text) for _ in range(4_000))
    for length in range(2, 8):
        assert abs(fast[length] / 20_000 - slow[length] / 4_000) < 0.03, length


def test_deterministic_by_seed():
    a = sample_registrations(np.random.default_rng(5), 100)
    assert a == sample_registrations(np.random.default_rng(5), 100)
    assert a != sample_registrations(np.random.default_rng(6), 100)
