"""Decode the recogniser's CTC output into text, per-character confidences and alternatives.

The model emits, for each of T columns of the plate, scores over the blank and 36 characters.
Greedy decoding (best class per column, repeats merged, blanks dropped) is what the model was
trained for and is exact enough for plates; it also tells, for each character, the column where
it was most sure, whose distribution the UK grammar uses to swap a confusable character (O/0,
B/8 …) for the best one its position allows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CHARSET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
BLANK = 0  # class 0 is the CTC blank; class i + 1 is CHARSET[i]


@dataclass(frozen=True)
class CtcReading:
    text: str
    char_probs: np.ndarray  # (len(text), 36): each character's distribution at its surest column

    @property
    def char_confidences(self) -> tuple[float, ...]:
        return tuple(float(self.char_probs[i, CHARSET.index(c)]) for i, c in enumerate(self.text))


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def greedy_decode(probs: np.ndarray) -> CtcReading:
    """`probs`: (T, 37) softmax over blank + CHARSET for one plate."""
    best = probs.argmax(axis=-1)
    chars: list[str] = []
    rows: list[np.ndarray] = []
    previous = BLANK
    for t, cls in enumerate(best):
        if cls != BLANK and cls != previous:
            chars.append(CHARSET[cls - 1])
            rows.append(probs[t])
        elif cls != BLANK and probs[t, cls] > rows[-1][cls]:
            rows[-1] = probs[t]  # same character, surer column
        previous = cls
    if not rows:
        return CtcReading("", np.zeros((0, len(CHARSET)), dtype=np.float32))
    distributions = np.stack(rows)[:, 1:]
    # Renormalise without the blank: the question at a character's column is which character.
    distributions = distributions / np.maximum(distributions.sum(axis=1, keepdims=True), 1e-9)
    return CtcReading("".join(chars), distributions.astype(np.float32))


def confidence(char_confidences: tuple[float, ...]) -> float:
    """The whole string is right only if every character is: the product."""
    return float(np.prod(char_confidences)) if char_confidences else 0.0


def alternatives(
    reading: CtcReading, best_text: str, count: int = 3
) -> tuple[tuple[str, float], ...]:
    """Next-best strings: the best text with one character swapped for its runner-up."""
    if not best_text or len(best_text) != len(reading.text):
        return ()
    base = confidence(reading.char_confidences)
    found: list[tuple[str, float]] = []
    for i, char in enumerate(best_text):
        dist = reading.char_probs[i]
        chosen = dist[CHARSET.index(char)]
        for cls in np.argsort(dist)[::-1][:2]:
            other = CHARSET[cls]
            if other != char and chosen > 0:
                text = best_text[:i] + other + best_text[i + 1 :]
                found.append((text, float(base * dist[cls] / chosen)))
                break
    found.sort(key=lambda item: -item[1])
    return tuple(found[:count])
