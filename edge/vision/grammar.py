"""UK plate grammar: position-aware correction of confusable characters, and the format label.

OCR confuses O/0, I/1, S/5, B/8, Z/2, G/6, D/0 … and a glyph alone often cannot tell them apart
(on UK plates O and 0 are nearly the same shape). The position can: in `AB12 CDE` positions 3–4
are digits and the rest letters, with the DVLA's letter rules. For each layout of the read's
length we take, per position, the most probable character that the layout allows (pairs such as
age identifiers are chosen jointly) and keep the most probable valid string overall. A read that
is already valid is kept as it is, since it is its own most probable candidate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edge.plates.formats import FORMATS, Layout
from edge.vision.ctc import CHARSET

INDEX = {c: i for i, c in enumerate(CHARSET)}


@dataclass(frozen=True)
class GrammarResult:
    text: str
    format: str | None
    char_confidences: tuple[float, ...]
    corrected: bool


# A swap needs some support from the model: never invent a character it gave almost no weight.
MIN_SWAP_PROB = 0.01


def correct_gb(text: str, char_probs: np.ndarray) -> GrammarResult:
    """Most probable UK-valid string for a read (weighing each format by how common it is);
    the read unchanged, format None, when no UK layout of its length fits."""
    best: tuple[float, str, str] | None = None
    for label, plate_format in FORMATS.items():
        prior = float(np.log(plate_format.share))
        for layout in plate_format.layouts:
            if len(layout.alphabets) != len(text):
                continue
            candidate = _best_in_layout(layout, char_probs, text)
            if candidate is not None and (best is None or candidate[0] + prior > best[0]):
                best = (candidate[0] + prior, candidate[1], label)
    if best is None:
        return GrammarResult(text, None, _confidences(text, char_probs), False)
    _, chosen, label = best
    return GrammarResult(chosen, label, _confidences(chosen, char_probs), chosen != text)


def _confidences(text: str, probs: np.ndarray) -> tuple[float, ...]:
    return tuple(float(probs[i, INDEX[c]]) for i, c in enumerate(text))


def _best_in_layout(layout: Layout, probs: np.ndarray, read: str) -> tuple[float, str] | None:
    log_probs = np.log(np.maximum(probs, 1e-12))
    chars = []
    for i, alphabet in enumerate(layout.alphabets):
        allowed = [INDEX[c] for c in alphabet]
        chars.append(CHARSET[allowed[int(np.argmax(probs[i, allowed]))]])
    for at, pairs in layout.pairs:
        pair = max(
            sorted(pairs),
            key=lambda p: log_probs[at, INDEX[p[0]]] + log_probs[at + 1, INDEX[p[1]]],
        )
        chars[at : at + 2] = list(pair)
    text = "".join(chars)
    if not layout.accepts(text):
        return None
    if any(
        c != r and probs[i, INDEX[c]] < MIN_SWAP_PROB
        for i, (c, r) in enumerate(zip(text, read, strict=True))
    ):
        return None
    return float(sum(log_probs[i, INDEX[c]] for i, c in enumerate(text))), text
