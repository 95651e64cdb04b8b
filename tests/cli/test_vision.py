"""`synth`, `recognise`, `eval` and `bench` through the real CLI, with the bundled models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import DEMO_ENV, anpr
from tests.support.images import huge_png

DESIGN_EVAL_KEYS = {
    "detection",
    "read",
    "ocr",
    "ms_per_image",
    "ms_per_plate",
    "images",
    "plates",
    "region",
    "models",
}


@pytest.fixture(scope="module")
def scenes(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("scenes") / "set"
    result = anpr(
        "synth",
        "--out",
        str(out),
        "--count",
        "12",
        "--seed",
        "31337",
        "--region",
        "gb",
        "--size",
        "1456x1088",
        "--plate-height",
        "40-120",
        env=DEMO_ENV,
    )
    assert result.returncode == 0, result.stderr
    return out


def test_recognise_json_shape_and_reads(scenes):
    images = sorted(scenes.glob("*.jpg"))[:4]
    result = anpr("recognise", *map(str, images), "--region", "gb", "--json", env=DEMO_ENV)
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert [o["file"] for o in output] == list(map(str, images))
    labels = {}
    for line in (scenes / "labels.csv").read_text().splitlines()[1:]:
        file, text = line.split(",")[:2]
        labels.setdefault(file, set()).add(text)
    read_right = 0
    for item in output:
        for plate in item["plates"]:
            assert set(plate) >= {"text", "confidence", "box", "format"}
            assert len(plate["box"]) == 4 and 0 <= plate["confidence"] <= 1
        read_right += bool(
            {p["text"] for p in item["plates"]} & labels.get(Path(item["file"]).name, set())
        )
    assert read_right >= 3


def test_eval_json_has_the_design_keys_and_good_figures(scenes, tmp_path):
    result = anpr(
        "eval",
        str(scenes),
        "--region",
        "gb",
        "--json",
        "--report",
        str(tmp_path / "r"),
        env=DEMO_ENV,
    )
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert set(metrics) >= DESIGN_EVAL_KEYS
    assert metrics["images"] == 12
    # A smoke check on 12 scenes; the accuracy targets are measured by `eval` on 2,000.
    assert metrics["detection"]["recall"] >= 0.75, metrics
    assert metrics["read"]["exact"] >= 0.6, metrics
    assert len(metrics["models"]["detector"]["sha256"]) == 64
    page = (tmp_path / "r" / "index.html").read_text()
    assert "By plate height" in page and "Missed and misread plates" in page


def test_recognise_unreadable_image_is_a_clear_error(tmp_path, scenes):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8 not really a jpeg")
    good = sorted(scenes.glob("*.jpg"))[0]
    result = anpr("recognise", str(bad), str(good), "--json", env=DEMO_ENV)
    assert result.returncode == 2
    assert f"{bad}: not a readable image" in result.stderr
    assert "Traceback" not in result.stderr
    output = json.loads(result.stdout)
    assert output[0]["error"] and output[1]["plates"] is not None  # the good one still read


def test_recognise_refuses_an_image_declaring_a_huge_size_in_one_line(tmp_path):
    huge = huge_png(tmp_path / "huge.png")
    result = anpr("recognise", str(huge), env=DEMO_ENV)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1] == (
        f"anpr-edge: error: {huge}: declares 60000×60000 pixels, more than the 50 megapixels an "
        "image may have here (a corrupt or hostile file); not decoded"
    )


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing", "does not exist"),
        ("empty", "no images"),
        ("no-labels", "labels.csv"),
        ("bad-row", "line 2, field x"),
    ],
)
def test_eval_bad_dataset_is_a_clear_error(tmp_path, scenes, setup, message):
    folder = tmp_path / "d"
    if setup != "missing":
        folder.mkdir()
    if setup in ("no-labels", "bad-row"):
        (folder / "a.jpg").write_bytes((sorted(scenes.glob("*.jpg"))[0]).read_bytes())
    if setup == "bad-row":
        (folder / "labels.csv").write_text(
            "file,plate_text,x,y,w,h,country\na.jpg,AB12CDE,x,1,2,3,GB\n"
        )
    result = anpr("eval", str(folder), "--json", env=DEMO_ENV)
    assert result.returncode == 2, result.stdout
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_bench_json_keys():
    # a process of its own: its peak memory (VmHWM) is one of the figures
    result = anpr(
        "bench",
        "--json",
        "--frames",
        "4",
        "--plates",
        "20",
        env=DEMO_ENV,
        process=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    for key in ("recogniser_ms", "detector_ms"):
        assert figures[key]["median"] > 0 and figures[key]["p90"] >= figures[key]["median"]
    assert figures["frame"] == [1456, 1088] and figures["threads"] == 1
    # the whole command's peak resident memory, its own (VmHWM), within issue 12's 300 MB
    memory = figures["memory"]
    assert 50 < memory["vision_and_pipeline_peak_rss_mb"] <= memory["peak_rss_mb"] <= 300
