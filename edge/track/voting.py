"""Decide one plate from the readings of a vehicle's frames: per-character, confidence-weighted.

1. The length: each frame votes for the length it read, weighted by its string confidence
   times the sum of its character confidences; the heaviest length wins (a frame that dropped
   or doubled a character is outvoted by the frames that did not, and a far, blurred plate read
   with little confidence barely counts).
2. Each position: among frames of that length, every character collects its confidence there
   times its frame's string confidence; the heaviest character wins.
3. A position's confidence is the winners' share of the weight times the chance that not all
   of the agreeing frames were wrong (1 − Π(1 − c)): many frames agreeing → near 1; frames
   split between two characters → about the winner's share. The string's confidence is the
   product, as for a single frame (`edge.vision.ctc.confidence`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from edge.plates.formats import classify
from edge.records import PlateText
from edge.vision.ctc import confidence as string_confidence


@dataclass(frozen=True, slots=True)
class Vote:
    text: str
    confidence: float
    char_confidences: tuple[float, ...]
    format: str | None
    agreeing: int  # frames that read exactly `text`
    frames: int  # frames voting


def vote(readings: list[PlateText], region: str = "gb", length: int | None = None) -> Vote | None:
    """The plate the readings agree on; with `length`, among the readings of that length only
    (when there are any): how a vehicle whose hit has gone out is read in the end."""
    readings = [r for r in readings if r.text]
    if not readings:
        return None
    by_length: dict[int, float] = defaultdict(float)
    for reading in readings:
        by_length[len(reading.text)] += _weight(reading) * sum(reading.char_confidences)
    if length not in by_length:
        # ties go to the longer reading: dropping a character is the commoner CTC error
        length = max(by_length, key=lambda n: (by_length[n], n))
    voters = [r for r in readings if len(r.text) == length]
    chars: list[str] = []
    confidences: list[float] = []
    for position in range(length):
        weights: dict[str, float] = defaultdict(float)
        misses: dict[str, float] = defaultdict(lambda: 1.0)
        for reading in voters:
            char = reading.text[position]
            confidence = reading.char_confidences[position]
            weights[char] += confidence * _weight(reading)
            misses[char] *= 1.0 - min(max(confidence, 0.0), 1.0)
        winner = max(weights, key=lambda c: (weights[c], c))
        total = sum(weights.values())
        share = weights[winner] / total if total > 0 else 0.0
        chars.append(winner)
        confidences.append(round(share * (1.0 - misses[winner]), 4))
    text = "".join(chars)
    formats = [r.format for r in voters if r.text == text and r.format]
    fmt = formats[0] if formats else (classify(text) if region == "gb" else None)
    char_confidences = tuple(confidences)
    return Vote(
        text=text,
        confidence=round(string_confidence(char_confidences), 4),
        char_confidences=char_confidences,
        format=fmt,
        agreeing=sum(1 for r in readings if r.text == text),
        frames=len(readings),
    )


def _weight(reading: PlateText) -> float:
    return max(reading.confidence, 1e-6)  # never zero: a lone reading still decides
