"""Millions of random UK registrations, fast, for benchmarks and false-hit measurements.

`edge.plates.formats.random_registration` draws one plate per call (~20–100 µs here): ten
million would take minutes. `sample_registrations` draws from exactly the same distribution —
format by share, layout by weight, each position uniform over its alphabet, each restricted pair
uniform over its allowed list (as `Layout.random_text` does) — but a whole layout's worth of
plates per numpy call. tests/hotlist/test_sample.py checks it against the formats' own rules.
"""

from __future__ import annotations

import numpy as np

from edge.plates.formats import FORMATS, Layout


def sample_registrations(rng: np.random.Generator, count: int) -> list[str]:
    """`count` registrations (A–Z0–9, no spaces) with `random_registration`'s distribution."""
    formats = list(FORMATS.values())
    shares = np.array([f.share for f in formats], dtype=np.float64)
    per_format = rng.multinomial(count, shares / shares.sum())
    plates: list[str] = []
    for plate_format, n_format in zip(formats, per_format, strict=True):
        weights = np.array([layout.weight for layout in plate_format.layouts])
        per_layout = rng.multinomial(n_format, weights / weights.sum())
        for layout, n_layout in zip(plate_format.layouts, per_layout, strict=True):
            if n_layout:
                plates.extend(_layout_sample(rng, layout, int(n_layout)))
    order = rng.permutation(len(plates))
    return [plates[i] for i in order]


def _layout_sample(rng: np.random.Generator, layout: Layout, count: int) -> list[str]:
    width = len(layout.alphabets)
    chars = np.empty((count, width), dtype=np.uint8)
    for position, alphabet in enumerate(layout.alphabets):
        pool = np.frombuffer(alphabet.encode("ascii"), dtype=np.uint8)
        chars[:, position] = pool[rng.integers(len(pool), size=count)]
    for at, allowed in layout.pairs:
        pairs = np.frombuffer("".join(sorted(allowed)).encode("ascii"), dtype=np.uint8)
        pairs = pairs.reshape(-1, 2)
        chars[:, at : at + 2] = pairs[rng.integers(len(pairs), size=count)]
    return [plate.decode("ascii") for plate in chars.view(f"S{width}").ravel()]
