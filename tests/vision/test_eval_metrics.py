"""The eval metrics of DESIGN §2 on a hand-made case whose answers are worked out here."""

from __future__ import annotations

import pytest

from edge.plates.distance import levenshtein
from edge.records import Box
from edge.vision.evaluate import (
    Prediction,
    Tally,
    char_accuracy,
    match_detections,
    metrics,
    score_image,
)
from edge.vision.failures import failure_kind


def test_levenshtein_and_char_accuracy():
    assert levenshtein("AB12CDE", "AB12CDE") == 0
    assert levenshtein("AB12CDE", "A812CDE") == 1
    assert levenshtein("AB12CDE", "AB12CD") == 1
    assert levenshtein("", "ABC") == 3
    assert char_accuracy("AB12CDE", "A812CDE") == pytest.approx(1 - 1 / 7)
    assert char_accuracy("AB12CDE", "AB12CDEF") == pytest.approx(1 - 1 / 8)
    assert char_accuracy("AB12CDE", None) == 0.0


def test_detection_matching_is_one_to_one_at_iou_half():
    labels = [Box(0, 0, 100, 20), Box(200, 0, 100, 20)]
    # two predictions on the first plate, none good on the second (IoU 0.33)
    predicted = [Box(0, 0, 100, 20), Box(2, 0, 100, 20), Box(250, 0, 100, 20)]
    assert match_detections(labels, predicted) == {0: 0}


def test_hand_made_dataset_metrics():
    tally = Tally()
    # image 1: two plates; the first found and read right, the second found and misread by one
    score_image(
        tally,
        "a.jpg",
        [(Box(10, 10, 100, 20), "AB12CDE"), (Box(300, 10, 100, 20), "XY51ZZZ")],
        [Prediction(Box(12, 10, 100, 20), "AB12CDE"), Prediction(Box(300, 12, 100, 20), "XY51ZZ2")],
        ocr_reads=["AB12CDE", "XY51ZZZ"],
    )
    # image 2: one plate missed; a false positive elsewhere
    score_image(
        tally,
        "b.jpg",
        [(Box(50, 50, 80, 16), "A123BCD")],
        [Prediction(Box(400, 400, 80, 16), "QQQ")],
        ocr_reads=["A12BCD"],
    )
    # image 3: a boxed but unreadable plate (detection only), detected at IoU 0.6
    score_image(
        tally,
        "c.jpg",
        [(Box(0, 0, 100, 20), "")],
        [Prediction(Box(0, 0, 60, 20), "")],
        ocr_reads=[""],
    )
    # image 4: a negative with no prediction
    score_image(tally, "d.jpg", [], [], ocr_reads=[])
    result = metrics(tally)
    assert result["plates"] == 4
    # detected: plate 1, plate 2, plate 4 (IoU 0.6) of 4 boxes; predictions matched 3 of 4
    assert result["detection"] == {"recall": 0.75, "precision": 0.75}
    # three plates with text: one exact; chars 1, 6/7, 0
    assert result["read"]["exact"] == pytest.approx(1 / 3, abs=1e-4)
    assert result["read"]["char"] == pytest.approx((1 + 6 / 7 + 0) / 3, abs=1e-4)
    # recogniser alone: two exact; A12BCD vs A123BCD is one deletion over 7
    assert result["ocr"]["exact"] == pytest.approx(2 / 3, abs=1e-4)
    assert result["ocr"]["char"] == pytest.approx((1 + 1 + 6 / 7) / 3, abs=1e-4)
    assert [o.read for o in tally.outcomes] == ["AB12CDE", "XY51ZZ2", None]
    assert result["failures"] == {
        "read": {"right": 1, "not found": 1, "substitution": 1},
        "ocr": {"right": 2, "characters dropped": 1},
    }


@pytest.mark.parametrize(
    ("label", "read", "kind"),
    [
        ("AB12CDE", "AB12CDE", "right"),
        ("AB12CDE", None, "not found"),
        ("AB12CDE", "", "nothing read"),
        ("ABC1D23", "ABC11D23", "furniture inserted"),  # a hyphen or an emblem read as 1
        ("RIO2A18", "BRRIO2A18", "furniture inserted"),  # a country band read as letters
        ("AB12CDE", "CDE", "part read"),  # one row of a two-row plate
        ("AB12CDE", "AB12CD", "part read"),  # the box cut the last character off
        ("AB12CDE", "A12CE", "characters dropped"),
        ("AB12CDE", "A812CDE", "substitution"),
        ("AB12CDE", "XY9", "other"),
    ],
)
def test_each_miss_gets_its_kind(label, read, kind):
    assert failure_kind(label, read) == kind


def test_a_read_needs_only_iou_0_3_but_detection_needs_0_5():
    tally = Tally()
    # IoU of these boxes is 0.4: not a detection, but the read still counts
    score_image(
        tally,
        "a.jpg",
        [(Box(0, 0, 100, 20), "AB12CDE")],
        [Prediction(Box(0, 0, 40, 20), "AB12CDE")],
        ocr_reads=["AB12CDE"],
    )
    result = metrics(tally)
    assert result["detection"]["recall"] == 0.0
    assert result["read"]["exact"] == 1.0
