"""UK plate grammar: position-aware correction of confusable characters, and the format label.

OCR confuses O/0, I/1, S/5, B/8, Z/2, G/6, D/0 … and a glyph alone often cannot tell them apart
(on UK plates O and 0 are nearly the same shape). The position can: in `AB12 CDE` positions 3–4
are digits and the rest letters, with the DVLA's letter rules. For each layout of the read's
length we take, per position, the most probable character that the layout allows (pairs such as
age identifiers are chosen jointly) and keep the most probable valid string overall. A read that
is already valid is kept as it is, since it is its own most probable candidate.

Glyph twins: on a UK plate (the DVLA's Charles Wright face) I and 1, and O and 0, are the same
stroke; the DVLA itself treats them as one character when it issues marks. So within a layout a
twin's probability is the pair's sum and the position alone decides (`ABIICDE` is `AB11CDE`),
however little weight the model gave the other twin. Between layouts the model's choice of twin
still says something (a clearly read `A123BCD` is a prefix plate, not the current `AI23BCD` the
commoner format would prefer), so each twin swap costs `TWIN_SWAP_COST` in the score. Other
confusable pairs (8/B, 5/S, 2/Z, 6/G) differ on the plate, so a swap to one of them still needs
the model's support (`MIN_SWAP_PROB`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

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
# Characters drawn alike on UK plates: one glyph, two meanings, told apart only by position.
GLYPH_TWINS = (("I", "1"), ("O", "0"))
_TWIN_INDICES = [(INDEX[a], INDEX[b]) for a, b in GLYPH_TWINS]
_TWINS = {pair for a, b in GLYPH_TWINS for pair in ((a, b), (b, a))}
TWIN_SWAP_COST = float(np.log(0.01))  # in the score, per twin swapped: a swap the model needn't
# support, but not free


def merge_twins(char_probs: np.ndarray) -> np.ndarray:
    """`char_probs` with each glyph twin given the pair's summed probability."""
    merged = char_probs.copy()
    for a, b in _TWIN_INDICES:
        both = char_probs[:, a] + char_probs[:, b]
        merged[:, a] = merged[:, b] = both
    return merged


def correct_gb(text: str, char_probs: np.ndarray) -> GrammarResult:
    """Most probable UK-valid string for a read (weighing each format by how common it is);
    the read unchanged, format None, when no UK layout of its length fits."""
    best: tuple[float, str, str] | None = None
    char_probs = merge_twins(char_probs)
    log_probs = np.log(np.maximum(char_probs, 1e-12))
    for label, plate_format in FORMATS.items():
        prior = float(np.log(plate_format.share))
        for layout in plate_format.layouts:
            if len(layout.alphabets) != len(text):
                continue
            candidate = _best_in_layout(layout, char_probs, log_probs, text)
            if candidate is not None and (best is None or candidate[0] + prior > best[0]):
                best = (candidate[0] + prior, candidate[1], label)
    if best is None:
        return GrammarResult(text, None, _confidences(text, char_probs), False)
    _, chosen, label = best
    return GrammarResult(chosen, label, _confidences(chosen, char_probs), chosen != text)


def _confidences(text: str, probs: np.ndarray) -> tuple[float, ...]:
    return tuple(float(probs[i, INDEX[c]]) for i, c in enumerate(text))


@cache
def _layout_tables(
    layout: Layout,
) -> tuple[np.ndarray, tuple[tuple[int, np.ndarray, list[str]], ...]]:
    """Per layout, computed once: which characters each position allows (a boolean mask over
    CHARSET) and, for restricted pairs, the allowed pairs as index arrays."""
    mask = np.zeros((len(layout.alphabets), len(CHARSET)), dtype=bool)
    for i, alphabet in enumerate(layout.alphabets):
        mask[i, [INDEX[c] for c in alphabet]] = True
    pairs = []
    for at, allowed in layout.pairs:
        ordered = sorted(allowed)
        pairs.append((at, np.array([[INDEX[p[0]], INDEX[p[1]]] for p in ordered]), ordered))
    return mask, tuple(pairs)


def _best_in_layout(
    layout: Layout, probs: np.ndarray, log_probs: np.ndarray, read: str
) -> tuple[float, str] | None:
    mask, pairs = _layout_tables(layout)
    choice = np.argmax(np.where(mask, probs, -1.0), axis=1)
    chars = [CHARSET[j] for j in choice]
    for at, indices, ordered in pairs:
        scores = log_probs[at, indices[:, 0]] + log_probs[at + 1, indices[:, 1]]
        chars[at : at + 2] = list(ordered[int(np.argmax(scores))])
    text = "".join(chars)
    if not layout.accepts(text):
        return None
    score = 0.0
    for i, (c, r) in enumerate(zip(text, read, strict=True)):
        if c != r and (c, r) in _TWINS:
            score += TWIN_SWAP_COST
        elif c != r and probs[i, INDEX[c]] < MIN_SWAP_PROB:
            return None
        score += float(log_probs[i, INDEX[c]])
    return score, text
