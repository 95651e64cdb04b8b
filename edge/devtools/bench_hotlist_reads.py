"""Real recogniser behaviour for `bench hotlist`: how sure it is of what it reads right, and
what it reads wrong.

The fuzzy false-hit rate depends on the confidences the unit passes to the matcher (a fuzzy
match may change only unsure characters, edge.hotlist.trust). Random plates have no
confidences, so each borrows the per-character confidences of a synthetic plate of the same
length that the bundled recogniser read right; and the recogniser's real misreads of
synthetic plates measure how many true hits fuzzy matching recovers, with and without the gate.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from edge.hotlist.fuzzy import FuzzyPolicy, candidates
from edge.hotlist.keys import encode, normalise_vrm
from edge.hotlist.trust import edits_believable


@dataclass(frozen=True)
class Misread:
    truth: str
    read: str
    confidences: tuple[float, ...]


@dataclass(frozen=True)
class RecogniserSample:
    right: dict[int, list[tuple[float, ...]]]  # plate length → confidences of right reads
    misreads: list[Misread]
    crops: int

    def confidences_for(self, plate: str, rng: np.random.Generator) -> tuple[float, ...]:
        """Confidences of a right read of the same length (or of the nearest length held)."""
        length = min(self.right, key=lambda n: (abs(n - len(plate)), n))
        pool = self.right[length]
        chosen = pool[int(rng.integers(len(pool)))]
        return tuple(chosen[i % len(chosen)] for i in range(len(plate)))


def sample_recogniser(crops: int, seed: int) -> RecogniserSample:
    """Read `crops` synthetic UK plate crops (region gb, every look) with the bundled model."""
    from edge.synth.scene import render_crop
    from edge.vision.recogniser import Recogniser

    recogniser = Recogniser()
    right: dict[int, list[tuple[float, ...]]] = defaultdict(list)
    misreads = []
    for index in range(crops):
        crop = render_crop(np.random.default_rng([seed, index]), region="gb")
        text = recogniser.read(crop.image, "gb")
        if not text.text:
            continue
        if text.text == crop.text:
            right[len(text.text)].append(text.char_confidences)
        else:
            misreads.append(Misread(crop.text, text.text, text.char_confidences))
    return RecogniserSample(dict(right), misreads, crops)


def misread_recovery(sample: RecogniserSample, policy: FuzzyPolicy) -> dict:
    """Of the recogniser's real misreads, how many a fuzzy match would still lead to the
    right plate: within the policy's edits at all, and also through unsure characters only."""
    reachable = believable = 0
    for miss in sample.misreads:
        try:
            read, truth = normalise_vrm(miss.read), normalise_vrm(miss.truth)
        except ValueError:
            continue
        near = candidates(read, policy, frozenset({len(truth)})).get(len(truth))
        if near is None or not np.any(near == encode(truth)):
            continue
        reachable += 1
        believable += edits_believable(read, truth, miss.confidences, policy.sure_confidence)
    count = max(len(sample.misreads), 1)
    return {
        "crops": sample.crops,
        "misreads": len(sample.misreads),
        "within_policy": round(reachable / count, 4),
        "within_policy_and_unsure": round(believable / count, 4),
    }
