"""The committed manifest of the real training set (training/data/real-train.csv, issue 13).

Checks only the committed file: no network, no /work/data. The reserved-photo check runs when
../shared/tools/reserved_check.py is beside this checkout.
"""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from training.real_data import MANIFEST_COLUMNS, SOURCES, TEACHER_MIN_CHAR_PROB

REPO = Path(__file__).resolve().parents[2]
MANIFEST = REPO / "training" / "data" / "real-train.csv"
RESERVED_CHECK = REPO.parent / "shared" / "tools" / "reserved_check.py"
# What a shipped model may be trained on (issue 13); spelled out here, not imported, so that a
# change to the builder cannot widen it unnoticed.
ALLOWED = {"MIT", "BSD-2-Clause", "BSD-3-Clause", "Apache-2.0", "CC0-1.0", "CC-BY-2.0", "CC-BY-4.0"}
TEST_SOURCES = ("openalpr/benchmarks", "ablanco1950/LicensePlate_Yolov8_Filters_PaddleOCR")
HEX64 = re.compile(r"[0-9a-f]{64}")


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    with open(MANIFEST, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == MANIFEST_COLUMNS
        return list(reader)


def _per_plate(row: dict[str, str], column: str) -> list[str]:
    return row[column].split(";") if row["boxes"] else []


def test_manifest_is_not_empty_and_names_pinned_allowed_sources(rows):
    assert len(rows) > 1000
    refs = {s.ref: s for s in SOURCES.values()}
    for row in rows:
        repo, _, commit = row["source"].partition("@")
        assert re.fullmatch(r"[0-9a-f]{40}", commit), row["source"]
        assert repo not in TEST_SOURCES
        assert row["source"] in refs, f"{row['source']} is not a source of training.real_data"
        assert row["licence"] == refs[row["source"]].licence
        for licence in row["licence"].split(" AND "):
            assert licence in ALLOWED, f"{row['path']}: licence {licence}"


def test_images_are_unique_and_hashed(rows):
    assert all(HEX64.fullmatch(row["sha256"]) for row in rows)
    assert all(HEX64.fullmatch(row["dhash"]) for row in rows)
    duplicates = [h for h, n in Counter(row["sha256"] for row in rows).items() if n > 1]
    assert not duplicates
    assert len({row["file"] for row in rows}) == len(rows)


def test_labels_are_aligned_and_well_formed(rows):
    for row in rows:
        boxes = _per_plate(row, "boxes")
        for box in boxes:
            _x, _y, w, h = map(int, box.split(","))
            assert w > 0 and h > 0
        texts = _per_plate(row, "plate_text")
        sources = _per_plate(row, "text_source")
        confidences = _per_plate(row, "teacher_confidence")
        assert len(texts) == len(sources) == len(confidences) == len(boxes), row["file"]
        for text, source, confidence in zip(texts, sources, confidences, strict=True):
            assert re.fullmatch(r"[A-Z0-9]*", text), row["file"]
            assert source in ({"teacher", "human", "file name"} if text else {""}), row["file"]
            if source == "teacher":
                assert float(confidence) >= TEACHER_MIN_CHAR_PROB, row["file"]


def test_splits_are_by_plate(rows):
    assert {row["split"] for row in rows} <= {"train", "valid", "heldout"}
    texts: dict[str, set[str]] = {"train": set(), "valid": set(), "heldout": set()}
    for row in rows:
        texts[row["split"]].update(t for t in _per_plate(row, "plate_text") if t)
    assert not texts["heldout"] & (texts["train"] | texts["valid"])
    assert not texts["valid"] & texts["train"]
    share = len(texts["heldout"]) / len(set().union(*texts.values()))
    assert 0.04 <= share <= 0.2, f"held-out share of plate texts {share:.2f}"


@pytest.mark.skipif(
    not RESERVED_CHECK.exists(), reason="../shared/tools is not beside this checkout"
)
def test_no_reserved_photo():
    result = subprocess.run(
        [sys.executable, str(RESERVED_CHECK), "--manifest", str(MANIFEST)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 reserved" in result.stderr
