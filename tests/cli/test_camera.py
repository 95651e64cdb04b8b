"""`anpr-edge camera snapshot|test` on the synthetic road (through the real CLI) and on the Pi
camera fake (tests.capture.test_sources.FakePicamera2) looking at a rendered road scene."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.capture.sources.synthetic import SyntheticRoad
from edge.cli import main
from edge.vision.reader import PlateReader
from tests.support.camera import FakePicamera2, FakeRequest
from tests.support.cli import DEMO_ENV, anpr

FULL = (1456, 1088)


def camera_config(folder: Path, camera: str) -> Path:
    """A unit config with this [camera] section (nothing else is used by the camera commands)."""
    path = folder / "unit.toml"
    path.write_text(
        f'[unit]\nid = "test-unit"\n[camera]\n{camera}\n'
        f'[hotlist]\ntrusted_keys = ["{folder}/a.pub", "{folder}/b.pub"]\n'
        f'[mqtt]\nhost = "127.0.0.1"\nport = 1883\n'
        f'[storage]\npath = "{folder}/state/anpr.db"\n'
    )
    return path


@pytest.fixture(scope="module")
def scene() -> np.ndarray:
    """A frame of the synthetic road (seed 1, day) in which the real models read a plate at
    least 30 px high: the picture the fake Pi camera shows."""
    reader = PlateReader.from_files()
    road = SyntheticRoad(seed=1, size=FULL, fps=15.0, look="day", paced=False)
    with road:
        for _ in range(300):
            image = road.read(1.0).image
            if any(plate.detection.box.h >= 30 for plate in reader.read(image)):
                return image
    raise AssertionError("no plate of 30 px or more in 300 frames of the synthetic road")


def test_snapshot_of_the_synthetic_road_boxes_and_reads_plates(tmp_path):
    config = camera_config(tmp_path, 'source = "synthetic"\nseed = 1\nlook = "day"\nfps = 15.0')
    out = tmp_path / "aim.jpg"
    result = anpr(
        "camera", "snapshot", str(out), "--overlay", "--config", str(config),
        "--source", "synthetic:seed=1,look=day,paced=false", "--json", env=DEMO_ENV,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    shot = json.loads(result.stdout)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # it shows plates: personal data
    picture = cv2.imread(str(out))
    width, height = shot["size"]
    assert (width, height) == FULL
    assert picture.shape[1] == width and picture.shape[0] > height  # the figures strip below
    assert shot["sharpness"] > 0 and shot["plates"], shot
    for plate in shot["plates"]:
        assert plate["text"] and plate["sharpness"] > 0
        x, y, w, h = plate["box"]
        assert 0 <= x < width and 0 <= y < height and w > 0 and h > 0
        # the box is drawn in green on its edge
        b, g, r = picture[y, x + w // 2].astype(int)
        assert g > 150 and r < 100 and b < 100
    assert shot["exposure_us"] is None  # the synthetic road has no sensor metadata
    plain = tmp_path / "plain.png"
    again = anpr(
        "camera", "snapshot", str(plain), "--config", str(config),
        "--source", "synthetic:seed=1,look=day,paced=false", env=DEMO_ENV,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert cv2.imread(str(plain)).shape == (height, width, 3)  # no overlay: the frame as taken
    assert f"{plain}: 1456×1088" in again.stdout and "higher is sharper" in again.stdout


@pytest.mark.parametrize(
    ("name", "message"),
    [("missing/aim.jpg", "does not exist"), ("aim.gif", "expected a .jpg, .jpeg or .png")],
)
def test_snapshot_refuses_a_bad_output_path_with_exit_2(tmp_path, name, message):
    config = camera_config(tmp_path, 'source = "synthetic"')
    result = anpr("camera", "snapshot", str(tmp_path / name), "--config", str(config), env=DEMO_ENV)
    assert result.returncode == 2
    assert message in result.stderr and str(tmp_path / name) in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def road_view(image: np.ndarray, exposures: tuple[int, ...] = (), skip_every: int = 0):
    """A fake Pi camera showing `image` at the sensor's pace: frames on a fixed cadence of
    camera.fps, stamped with the time the sensor took them (so a busy test machine that takes
    a frame late does not look like a lost frame). It can report varying exposure times, and
    lose every `skip_every`-th frame."""

    class SceneRequest(FakeRequest):
        def __init__(self, camera, index: int, taken_ns: int):
            super().__init__(camera, index)
            self.taken_ns = taken_ns

        def make_array(self, name: str) -> np.ndarray:
            super().make_array(name)  # the fake's own checks (never after release())
            return image.copy()

        def get_metadata(self) -> dict:
            metadata = {**super().get_metadata(), "SensorTimestamp": self.taken_ns}
            if exposures:
                metadata["ExposureTime"] = exposures[self.index % len(exposures)]
            return metadata

    class RoadView(FakePicamera2):
        def start(self) -> None:
            super().start()
            self.started_ns, self.tick = time.monotonic_ns(), 0

        def capture_request(self):
            self.tick += 1
            if skip_every and self.tick % skip_every == 0:
                self.tick += 1  # the sensor's frame was lost: the next one is a period later
            taken_ns = self.started_ns + round(self.tick * 1e9 / self.controls["FrameRate"])
            time.sleep(max(taken_ns - time.monotonic_ns(), 0) / 1e9)
            base = super().capture_request()
            return SceneRequest(self, base.index, taken_ns)

    return RoadView


PI_CAMERA = (
    'source = "picamera2"\nresolution = [1456, 1088]\nfps = 20.0\n'
    "exposure_us = 500\nanalogue_gain = 6.0"
)


def test_snapshot_with_the_pi_camera_reports_exposure_and_focus(
    tmp_path, scene, capsys, monkeypatch
):
    config = camera_config(tmp_path, PI_CAMERA)
    figures = {}
    for name, image in (("sharp", scene), ("blurred", cv2.GaussianBlur(scene, (0, 0), 2.5))):
        monkeypatch.setattr(
            "edge.capture.sources.picamera.import_picamera2", lambda image=image: road_view(image)
        )
        out = tmp_path / f"{name}.jpg"
        code = main(["camera", "snapshot", str(out), "--config", str(config), "--json"])
        assert code == 0
        figures[name] = json.loads(capsys.readouterr().out)
        camera = FakePicamera2.instances[-1]
        assert camera.closed and camera.outstanding == 0  # every buffer went back
        assert stat.S_IMODE(out.stat().st_mode) == 0o600
    sharp, blurred = figures["sharp"], figures["blurred"]
    assert sharp["exposure_us"] == 500 and sharp["analogue_gain"] == 6.0
    assert sharp["plates"], "no plate read on the sharp scene"
    # the focus figure falls when the picture is out of focus, on the frame and on the plate
    assert blurred["sharpness"] < sharp["sharpness"] / 2
    if blurred["plates"]:
        assert blurred["plates"][0]["sharpness"] < sharp["plates"][0]["sharpness"] / 2


def test_camera_test_on_the_synthetic_road_measures_its_frame_rate(tmp_path):
    config = camera_config(
        tmp_path, 'source = "synthetic"\nresolution = [728, 544]\nfps = 10.0\nlook = "ir"'
    )
    result = anpr(
        "camera", "test", "--seconds", "2", "--config", str(config), "--json", env=DEMO_ENV
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] and report["live"] and report["configured_fps"] == 10.0
    assert 9.0 <= report["fps"] <= 10.5, report
    assert report["frames"] >= 15 and report["dropped"] == 0 and report["failed"] == 0
    assert 0 < report["brightness"]["mean"] < 255 and report["exposure_us"] is None
    text = anpr("camera", "test", "--seconds", "1", "--config", str(config), env=DEMO_ENV)
    assert text.returncode == 0 and "camera.fps 10" in text.stdout and "PASS" in text.stdout


def test_camera_test_with_the_pi_camera_passes_when_steady(tmp_path, scene, capsys, monkeypatch):
    monkeypatch.setattr("edge.capture.sources.picamera.import_picamera2", lambda: road_view(scene))
    config = camera_config(tmp_path, PI_CAMERA)
    code = main(["camera", "test", "--seconds", "1.5", "--config", str(config), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0, report["problems"]
    assert 18.0 <= report["fps"] <= 21.0 and report["dropped"] == 0
    assert report["exposure_us"] == {"mean": 500.0, "std": 0.0, "min": 500.0, "max": 500.0}
    assert report["analogue_gain"]["mean"] == 6.0


def test_camera_test_fails_on_lost_frames_and_wandering_exposure(
    tmp_path, scene, capsys, monkeypatch
):
    monkeypatch.setattr(
        "edge.capture.sources.picamera.import_picamera2",
        lambda: road_view(scene, exposures=(500, 500, 900), skip_every=5),
    )
    config = camera_config(tmp_path, PI_CAMERA)
    code = main(["camera", "test", "--seconds", "1.5", "--config", str(config)])
    out = capsys.readouterr().out
    assert code == 1
    assert "frames dropped" in out and "below 90% of camera.fps 20" in out
    assert "exposure time varied from 500 µs to 900 µs" in out
    assert out.strip().splitlines()[-1].startswith("FAIL: 3 problem(s)")


def test_a_camera_that_hangs_fails_the_command_instead_of_hanging_it(
    tmp_path, scene, capsys, monkeypatch
):
    class Wedged(road_view(scene)):
        def capture_request(self):
            if self.captured >= 8:
                self.hang.set()  # capture_request now blocks inside "libcamera"
            return super().capture_request()

    monkeypatch.setattr("edge.capture.sources.picamera.import_picamera2", lambda: Wedged)
    monkeypatch.setattr("edge.ops.feed.JOIN_S", 0.5)
    config = camera_config(tmp_path, PI_CAMERA + "\ncapture_timeout_s = 0.5")
    started = time.monotonic()
    try:
        code = main(["camera", "test", "--seconds", "10", "--config", str(config)])
    finally:
        FakePicamera2.instances[-1].unhang.set()
    assert code == 1 and time.monotonic() - started < 8
    assert capsys.readouterr().err.strip() == (
        "anpr-edge: error: Pi camera 0 1456x1088 @ 20 fps, exposure 500 µs, gain 6: "
        "no frame within 1.5 s"
    )


class HeldCamera(FakePicamera2):
    """As picamera2 0.3 when another process (the running service) holds the camera."""

    def __init__(self, camera_num: int = 0):
        try:
            raise RuntimeError("camera.acquire() returned unexpected code: -16")
        except RuntimeError:
            raise RuntimeError("Camera __init__ sequence did not complete.")  # noqa: B904


def test_a_camera_held_by_the_service_says_so(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("edge.capture.sources.picamera.import_picamera2", lambda: HeldCamera)
    config = camera_config(tmp_path, PI_CAMERA)
    assert main(["camera", "test", "--seconds", "1", "--config", str(config)]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("anpr-edge: error: Pi camera 0 1456x1088 @ 20 fps")
    assert "is the anpr-edge service running?" in error and "\n" not in error


def test_camera_test_reports_a_source_that_cannot_open(tmp_path):
    config = camera_config(tmp_path, f'source = "images"\nuri = "{tmp_path / "none"}"')
    result = anpr("camera", "test", "--seconds", "1", "--config", str(config), env=DEMO_ENV)
    assert result.returncode == 2  # a bad camera.uri is bad input
    assert "not a folder of images" in result.stderr and "Traceback" not in result.stderr


def test_camera_live_without_a_running_unit_says_so(tmp_path):
    """The page comes from the running unit: with none, exit 1 and one plain line."""
    config = camera_config(tmp_path, 'source = "synthetic"')
    result = anpr("camera", "live", "--config", str(config))
    assert result.returncode == 1
    assert "anpr-edge is not running" in result.stderr
    assert "cannot ask it to open the live page" in result.stderr
    assert "Traceback" not in result.stderr
