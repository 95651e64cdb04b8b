"""CTC decoding and UK grammar correction on hand-built model outputs."""

from __future__ import annotations

import numpy as np
import pytest

from edge.vision.ctc import BLANK, CHARSET, alternatives, confidence, greedy_decode
from edge.vision.grammar import correct_gb


def ctc_probs(columns: list[str], sure: float = 0.9) -> np.ndarray:
    """One column per entry: a character, or '-' for blank; `sure` on it, the rest spread."""
    probs = np.full((len(columns), 1 + len(CHARSET)), (1 - sure) / len(CHARSET), np.float32)
    for t, col in enumerate(columns):
        probs[t, BLANK if col == "-" else CHARSET.index(col) + 1] = sure
    return probs


def char_probs(text: str, swaps: dict[int, dict[str, float]] | None = None) -> np.ndarray:
    """Per-character distributions: `text` at 0.9 unless `swaps` gives other weights."""
    probs = np.full((len(text), len(CHARSET)), 0.001, np.float32)
    for i, c in enumerate(text):
        probs[i, CHARSET.index(c)] = 0.9
        for other, weight in (swaps or {}).get(i, {}).items():
            probs[i, CHARSET.index(other)] = weight
    return probs / probs.sum(axis=1, keepdims=True)


def test_greedy_merges_repeats_and_drops_blanks():
    reading = greedy_decode(ctc_probs(list("AA-B--BB-1-22")))
    assert reading.text == "ABB12"
    assert reading.char_probs.shape == (5, 36)
    expected = 0.9 / (0.9 + 35 * 0.1 / 36)  # renormalised without the blank
    assert reading.char_confidences == pytest.approx((expected,) * 5, rel=1e-3)


def test_empty_output_reads_nothing():
    reading = greedy_decode(ctc_probs(list("-----")))
    assert reading.text == "" and confidence(reading.char_confidences) == 0.0


def test_confidence_is_product_and_alternatives_swap_one_character():
    probs = ctc_probs(list("A-B-8"))
    probs[4, CHARSET.index("B") + 1] = 0.5  # 8 or B at the last column
    reading = greedy_decode(probs / probs.sum(axis=1, keepdims=True))
    assert reading.text == "AB8"
    conf = reading.char_confidences
    assert confidence(conf) == pytest.approx(np.prod(conf))
    alts = alternatives(reading, reading.text)
    assert alts[0][0] == "ABB"
    assert alts[0][1] < confidence(conf)


@pytest.mark.parametrize(
    ("read", "swaps", "expected", "fmt"),
    [
        ("AB12CDE", {}, "AB12CDE", "gb-current"),  # valid: unchanged
        ("A812CDE", {1: {"B": 0.3}}, "AB12CDE", "gb-current"),  # 8→B: current beats prefix prior
        ("AB1ZCDE", {3: {"2": 0.2}}, "AB12CDE", "gb-current"),  # Z→2 in the age identifier
        ("AB12CD8", {6: {"B": 0.2}}, "AB12CDB", "gb-current"),  # 8→B in the random letters
        ("0B12CDE", {0: {"O": 0.4}}, "OB12CDE", "gb-current"),  # 0→O in the memory tag
        ("AB6OCDE", {3: {"0": 0.3}}, "AB60CDE", "gb-current"),  # O→0 in the age identifier
        ("A123BCD", {}, "A123BCD", "gb-prefix"),
        ("ABC123D", {}, "ABC123D", "gb-suffix"),
        ("ABZ1234", {}, "ABZ1234", "gb-ni"),
    ],
)
def test_gb_grammar_corrects_confusable_characters_by_position(read, swaps, expected, fmt):
    result = correct_gb(read, char_probs(read, swaps))
    assert (result.text, result.format) == (expected, fmt)
    assert result.corrected == (expected != read)


@pytest.mark.parametrize(
    ("read", "expected"),
    [
        ("ABIICDE", "AB11CDE"),  # I for 1 in the age identifier, however sure the model was
        ("AB1ICDE", "AB11CDE"),
        ("0B12CDE", "OB12CDE"),  # 0 for O in the memory tag
        ("AB12C0E", "AB12COE"),
        ("AB6OCDE", "AB60CDE"),
        ("A1B2CDE", "A1B2CDE"),  # no UK layout fits: left alone
    ],
)
def test_glyph_twins_swap_by_position_whatever_the_model_said(read, expected):
    result = correct_gb(read, char_probs(read))  # the twin got no weight at all (0.001)
    assert result.text == expected
    if expected != read:
        changed = [i for i, (a, b) in enumerate(zip(read, expected, strict=True)) if a != b]
        # the twin carries the glyph's confidence, not the model's near-zero for it
        assert all(result.char_confidences[i] > 0.8 for i in changed)


def test_other_confusions_still_need_the_models_support():
    # 8 and B differ on a UK plate: with no weight on B the 8 is not turned into one
    result = correct_gb("A812CDE", char_probs("A812CDE"))
    assert result.text != "AB12CDE"


def test_grammar_never_invents_a_character_the_model_gave_no_weight():
    # "XYZ" is no UK plate; the only 3-character layouts need digits the model never saw.
    result = correct_gb("XYZ", char_probs("XYZ"))
    assert result.text == "XYZ" and result.format is None and not result.corrected


def test_grammar_leaves_foreign_lengths_alone():
    result = correct_gb("ABCDEFGH9", char_probs("ABCDEFGH9"))
    assert result.text == "ABCDEFGH9" and result.format is None
