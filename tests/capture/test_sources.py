"""Frame sources behind one interface: the synthetic road (deterministic, realistic motion,
ground truth), an image folder, OpenCV (a video file; a stream that is down, then back), the
Pi camera through a fake that follows picamera2's API; and the motion gate."""

from __future__ import annotations

import csv
import logging
import time

import cv2
import numpy as np
import pytest

from edge.capture.sources import SourceStalled, make_source, parse_spec
from edge.capture.sources.images import ImageFolder
from edge.capture.sources.opencv import OpenCvSource
from edge.capture.sources.picamera import PiCamera
from edge.capture.sources.road import MPH, RoadCamera, RoadPlan
from edge.capture.sources.synthetic import SyntheticRoad
from edge.capture.truth import COLUMNS, TruthRecorder
from edge.config import load_config
from edge.errors import RuntimeFailure, UserError
from edge.vision.motion import MotionGate
from tests.support.camera import FakePicamera2
from tests.support.images import huge_png
from tests.support.paths import REPO

SMALL = (728, 544)


def frames(source, count: int) -> list:
    with source:
        return [source.read(1.0) for _ in range(count)]


def test_the_synthetic_road_is_deterministic_by_seed():
    one = frames(SyntheticRoad(seed=3, size=SMALL, vehicles_per_minute=60, paced=False), 40)
    two = frames(SyntheticRoad(seed=3, size=SMALL, vehicles_per_minute=60, paced=False), 40)
    other = frames(SyntheticRoad(seed=4, size=SMALL, vehicles_per_minute=60, paced=False), 40)
    assert all(np.array_equal(a.image, b.image) for a, b in zip(one, two, strict=True))
    assert not all(np.array_equal(a.image, b.image) for a, b in zip(one, other, strict=True))
    assert [f.index for f in one] == list(range(40))
    assert one[1].monotonic_s - one[0].monotonic_s == pytest.approx(1 / 15)


def test_road_traffic_moves_at_road_speeds_and_plates_grow_as_they_come_nearer():
    camera = RoadCamera()
    for vehicle in RoadPlan(9).first(30):
        assert 25 * MPH <= vehicle.speed_mps <= 75 * MPH + 1e-9
        times = np.arange(vehicle.enter_s, vehicle.leave_s, 1 / 30)
        poses = [p for p in (camera.pose(vehicle, t) for t in times) if p is not None]
        heights = [camera.plate_height_px(p) for p in poses]
        rows = [p.centre[1] for p in poses]
        if vehicle.direction == "towards":  # top of the picture to the bottom, growing
            assert heights == sorted(heights) and rows == sorted(rows)
        else:
            assert heights == sorted(heights, reverse=True)
        in_view = [h for p, h in zip(poses, heights, strict=True) if 0 < p.centre[1] < 1088]
        assert 10 < min(in_view) < 20 and 35 < max(in_view) < 70


def test_truth_lists_every_vehicle_shown_with_its_frames(tmp_path):
    path = tmp_path / "truth.csv"
    source = SyntheticRoad(
        seed=5, vehicles_per_minute=60, paced=False, truth=TruthRecorder(path, 15.0)
    )
    frames(source, 450)
    rows = list(csv.DictReader(path.open()))
    assert tuple(rows[0]) == COLUMNS
    assert len(rows) >= 10
    plan = {v.vehicle_id: v.plate for v in source.plan.first(100)}
    for row in rows:
        assert plan[int(row["vehicle_id"])] == row["plate"]
        assert 0 <= int(row["first_frame"]) <= int(row["last_frame"]) < 450
    complete = [r for r in rows if r["complete"] == "true"]
    assert len(complete) >= len(rows) - 3


def test_a_paced_road_runs_in_real_time_and_is_live():
    source = SyntheticRoad(seed=1, size=SMALL, fps=20.0, paced=True)
    assert source.live
    started = time.monotonic()
    frames(source, 11)
    assert time.monotonic() - started >= 0.45


def test_source_specs_and_config(tmp_path):
    assert parse_spec("opencv:rtsp://cam/1") == ("opencv", "rtsp://cam/1")
    for bad in ("webcam", "images", "synthetic:look=sepia", "synthetic:rate", "synthetic:x=1"):
        with pytest.raises(UserError):
            source = make_source(load_config(), bad)
    source = make_source(load_config(), "synthetic:seed=4,look=day,rate=30,fps=10,paced=false")
    assert isinstance(source, SyntheticRoad)
    assert (source.seed, source.look, source.fps, source.paced) == (4, "day", 10.0, False)
    with pytest.raises(UserError, match="--truth"):
        make_source(load_config(), f"images:{tmp_path}", truth=tmp_path / "t.csv")


def test_an_image_folder_is_read_in_name_order_then_ends(tmp_path):
    for name, value in (("b.png", 20), ("a.jpg", 10), ("c.png", 30), ("notes.txt", 0)):
        if name.endswith("txt"):
            (tmp_path / name).write_text("not an image")
        else:
            cv2.imwrite(str(tmp_path / name), np.full((48, 64, 3), value, np.uint8))
    (tmp_path / "broken.png").write_bytes(b"not a png")
    source = ImageFolder(tmp_path, fps=10.0)
    with source:
        read = [source.read(1.0) for _ in range(4)]
    assert [int(f.image[0, 0, 0]) for f in read[:3]] == [10, 20, 30]
    assert read[3] is None and source.unreadable == 1
    with pytest.raises(UserError):
        ImageFolder(tmp_path / "missing").open()


def test_a_bad_image_in_the_folder_is_skipped_counted_and_named(tmp_path, caplog):
    cv2.imwrite(str(tmp_path / "a.png"), np.full((48, 64, 3), 10, np.uint8))
    huge = huge_png(tmp_path / "b.png")  # 60000×60000 declared: was a cv2.error, ending the unit
    (tmp_path / "c.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    cv2.imwrite(str(tmp_path / "d.png"), np.full((48, 64, 3), 40, np.uint8))
    source = ImageFolder(tmp_path, fps=10.0)
    with caplog.at_level(logging.WARNING, logger="edge.capture.sources.images"), source:
        read = [source.read(1.0) for _ in range(3)]
    assert [int(f.image[0, 0, 0]) for f in read[:2]] == [10, 40] and read[2] is None
    assert source.status() == {"source": "images", "frames": 4, "unreadable": 2}
    assert caplog.messages == [
        f"images: skipped {huge}: declares 60000×60000 pixels, more than the 50 megapixels an "
        "image may have here (a corrupt or hostile file); not decoded",
        f"images: skipped {tmp_path / 'c.jpg'}: not a readable image",
    ]


def test_opencv_reads_a_video_file_to_its_end(tmp_path):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (160, 120))
    for i in range(12):
        writer.write(np.full((120, 160, 3), i * 20, np.uint8))
    writer.release()
    source = OpenCvSource(str(path))
    assert not source.live
    with source:
        read = [source.read(1.0) for _ in range(13)]
    assert all(f is not None for f in read[:12]) and read[12] is None
    assert read[11].monotonic_s - read[0].monotonic_s == pytest.approx(11 / 25, abs=0.01)


def test_opencv_reports_a_dead_stream_and_reconnects_with_back_off(tmp_path):
    path = tmp_path / "later.avi"  # a stream that is not there yet
    source = OpenCvSource(str(path), backoff_s=(0.2, 0.4))
    source.is_file, source.live = False, True
    with source:
        with pytest.raises(SourceStalled):
            source.read(0.05)
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (64, 48))
        for _ in range(5):
            writer.write(np.zeros((48, 64, 3), np.uint8))
        writer.release()
        deadline = time.monotonic() + 10
        frame = None
        while frame is None and time.monotonic() < deadline:
            try:
                frame = source.read(0.5)
            except SourceStalled:
                continue
        assert frame is not None and frame.image.shape == (48, 64, 3)
        assert source.status()["reconnects"] >= 1 and source.failures >= 1


def test_pi_camera_fixed_exposure_roi_released_buffers_and_sensor_time():
    camera = PiCamera(
        resolution=(320, 240), fps=60.0, exposure_us=500, analogue_gain=6.0,
        roi=(10, 20, 200, 100), camera_factory=FakePicamera2,
    )  # fmt: skip
    with camera:
        fake = FakePicamera2.instances[-1]
        read = [camera.read(1.0) for _ in range(20)]  # more than buffer_count: each released
    assert fake.outstanding == 0 and fake.closed and not fake.started
    assert fake.controls == {
        "AeEnable": False, "ExposureTime": 500, "AnalogueGain": 6.0, "FrameRate": 60.0
    }  # fmt: skip
    assert fake.config["main"] == {"size": (320, 240), "format": "RGB888"}
    assert read[0].image.shape == (100, 200, 3)
    assert read[0].exposure_us == 500 and read[0].analogue_gain == 6.0
    assert 0.0 <= time.monotonic() - read[-1].monotonic_s < 1.0  # sensor time, not arrival
    assert [f.index for f in read] == list(range(20))


def test_pi_camera_refuses_unknown_controls_and_closes(monkeypatch):
    monkeypatch.setattr(FakePicamera2, "CONTROLS", {"ExposureTime"})
    camera = PiCamera(camera_factory=FakePicamera2)
    with pytest.raises(RuntimeError, match="not advertised"):
        camera.open()
    assert FakePicamera2.instances[-1].closed


def test_without_picamera2_the_message_says_where_it_comes_from():
    try:
        import picamera2  # noqa: F401
    except ImportError:
        with pytest.raises(RuntimeFailure, match="python3-picamera2"):
            PiCamera().open()
    else:
        pytest.skip("picamera2 is installed here")


def test_motion_gate_skips_an_empty_road_and_opens_for_a_vehicle():
    source = SyntheticRoad(seed=2, vehicles_per_minute=6, paced=False)
    gate = MotionGate()
    with source:
        opened = []
        for _ in range(150):
            frame = source.read(1.0)
            on_road = any(source.renderer.camera.pose(v, frame.index / 15) for v in source._active)
            opened.append((gate.check(frame.image), on_road))
    empty = [gate_open for gate_open, on_road in opened[10:] if not on_road]
    busy = [gate_open for gate_open, on_road in opened if on_road]
    assert empty and sum(empty) / len(empty) < 0.2
    assert busy and sum(busy) / len(busy) > 0.9
    assert MotionGate(enabled=False).check(np.zeros((10, 10), np.uint8))


def test_the_demo_config_source_is_the_synthetic_road():
    source = make_source(load_config(REPO / "firmware_config" / "demo.toml"))
    assert isinstance(source, SyntheticRoad) and source.paced


def test_scoring_by_truth_counts_right_wrong_duplicate_missed_and_ghost_reads():
    from datetime import UTC, datetime, timedelta

    from edge.capture.truth import TruthVehicle, score

    t0 = datetime(2026, 3, 1, 12, tzinfo=UTC)

    def vehicle(i: int, plate: str, start: float) -> TruthVehicle:
        at = t0 + timedelta(seconds=start)
        return TruthVehicle(i, plate, at, at + timedelta(seconds=1), "towards", "ir", True)

    def read(vrm: str, start: float) -> dict:
        at = t0 + timedelta(seconds=start)
        return {"vrm": vrm, "first_seen": at.isoformat(), "last_seen": at.isoformat()}

    truth = [
        vehicle(0, "AB12CDE", 0),
        vehicle(1, "XY51ZZT", 5),
        vehicle(2, "KW10FZM", 10),
        vehicle(3, "LC62UPC", 15),
    ]
    reads = [
        read("AB12CDE", 0.5),  # right
        read("XY51ZZT", 5.2),
        read("XY51ZZ", 5.6),  # the same vehicle twice
        read("FZM", 10.3),  # one row of a two-row plate: a wrong read, not a ghost
        read("QQ99QQQ", 30),  # nothing in view: a ghost
    ]
    result = score(truth, reads)
    assert result["vehicles"] == 4 and result["read_once_right"] == 1
    assert result["duplicated"] == [("XY51ZZT", ["XY51ZZT", "XY51ZZ"])]
    assert result["wrong"] == [("KW10FZM", "FZM")]
    assert result["missed"] == ["LC62UPC"] and result["ghost_reads"] == ["QQ99QQQ"]
