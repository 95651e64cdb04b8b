"""A camera that goes missing, stops, hangs or errors: reported, retried with back-off, the
watchdog stopped, the unit stopped in order for systemd to restart."""

from __future__ import annotations

import json
import math
import subprocess
import time

import pytest

from tests.support.camera import FAIL_FLAG_ENV, HANG_FLAG_ENV, fake_picamera2_path
from tests.support.faults import (
    NotifyRecorder,
    UnitRun,
    fault_config,
    health_with,
    write_road_video,
)
from tests.support.unit import Subscriber

pytestmark = pytest.mark.broker


# --- the camera ----------------------------------------------------------------------------


def retry_delays(messages: list[str]) -> list[tuple[bool, float]]:
    """Each failed camera attempt, from 'camera: …; retrying in N s': (whether frames had
    come since the previous failure, the back-off N)."""
    return [
        (m.startswith("camera: no frame from"), float(m.rsplit("retrying in ", 1)[1].split()[0]))
        for m in messages
        if m.startswith("camera: ") and "retrying in" in m
    ]


def test_a_camera_that_is_missing_then_stops_is_reported_and_retried_with_back_off(
    tmp_path, broker
):
    """An OpenCV stream (here a path where a video appears later, played once per connection)
    that is not there at start, then delivers, then stops: each failure is logged and counted
    in health (`camera_stalls`), the attempts back off (1, 2, 4 … s; back to 1 s after frames
    came), every stage stays alive and the watchdog keeps being fed, frames flow whenever the
    camera does."""
    config = fault_config(tmp_path, broker, hits_every=6)
    camera = tmp_path / "camera.avi"
    notify = NotifyRecorder(tmp_path)
    subscriber = Subscriber(broker)
    env = {"NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "1000000"}
    with UnitRun(config, f"opencv:{camera}", tmp_path, env=env) as unit:
        ready = notify.wait_field("READY=1", 0.0)
        unit.wait_log("retrying in 4 s", 30)
        missing = health_with(subscriber, lambda h: h["camera_stalls"] >= 2, "no stall counted")
        assert missing["frames"] == 0 and missing["source"]["connected"] is False
        assert missing["stages"] == dict.fromkeys(missing["stages"], True)
        attempts = [delay for _, delay in retry_delays(unit.messages())]
        assert attempts[:3] == [1.0, 2.0, 4.0]
        # and it waits as it says: attempts at about 0, 1, 3, 7 … s
        assert len(attempts) <= 2 + math.log2(1 + time.monotonic() - ready), attempts
        write_road_video(camera)
        delivering = health_with(subscriber, lambda h: h["frames"] > 0, "no frames", 40)
        assert delivering["source"]["reconnects"] >= len(attempts) - 1
        # played to its end, the "stream" stops; it comes back at the next attempt (1 s)
        unit.wait_log("stopped sending frames", 30, count=2)
        stalls = delivering["camera_stalls"]
        camera.unlink()  # now it stops for good
        unit.wait_log("retrying in 2 s", 30, count=2)
        stopped = health_with(
            subscriber, lambda h: h["camera_stalls"] > stalls + 1, "no stall counted", 30
        )
        assert stopped["stages"] == dict.fromkeys(stopped["stages"], True)
        fed = notify.times("WATCHDOG=1", ready)
        code, summary = unit.stop()
    notify.close()
    assert code == 0, unit.tail()
    delays = retry_delays(unit.messages())
    # doubling from 1 s after each time frames came (1, 2, 4 …, at most 30)
    runs: list[list[float]] = []
    for after_frames, delay in delays:
        if after_frames or not runs:
            runs.append([])
        runs[-1].append(delay)
    for run in runs:
        assert run == [min(2.0**i, 30.0) for i in range(len(run))], delays
    assert len(runs) >= 3  # missing at start, then once per end of the video, then gone
    final = json.loads((tmp_path / "run" / "status.json").read_text())
    warnings = [m for m in unit.messages() if m.startswith("capture: camera")]
    assert len(warnings) == final["camera_stalls"] >= stopped["camera_stalls"]
    assert final["state"] == "stopped" and summary["frames"] >= 30
    # the watchdog was fed all along (a camera being retried is not a hung unit)
    assert fed and max(b - a for a, b in zip([ready, *fed], fed, strict=False)) < 2.0
    subscriber.close()
    print(json.dumps({"retry_delays": [d for _, d in delays],
                      "camera_stalls": final["camera_stalls"], "frames": summary["frames"],
                      "watchdog_feeds": len(fed)}))  # fmt: skip


def test_a_hung_capture_stops_the_watchdog_while_the_other_stages_live(tmp_path, broker):
    """The Pi camera wedges inside capture_request() (the picamera2 fake on the unit's
    PYTHONPATH, blocking while a flag file exists): the capture stage stops beating, the unit
    logs it, health shows capture dead and the other stages alive, and WATCHDOG=1 stops (so
    systemd would restart the unit) while STATUS= and health go on; when the camera comes
    back, feeding resumes."""
    flag = tmp_path / "hang"
    config = fault_config(
        tmp_path, broker, hits_every=6,
        camera_extra="resolution = [640, 480]\ncapture_timeout_s = 1.0\n",
    )  # fmt: skip
    notify = NotifyRecorder(tmp_path)
    subscriber = Subscriber(broker)
    env = {
        "NOTIFY_SOCKET": notify.path,
        "WATCHDOG_USEC": "1000000",  # fed every 0.5 s while all is well
        "PYTHONPATH": str(fake_picamera2_path(tmp_path)),
        HANG_FLAG_ENV: str(flag),
    }
    with UnitRun(config, "picamera2", tmp_path, env=env) as unit:
        ready = notify.wait_field("READY=1", 0.0)
        health_with(subscriber, lambda h: h["frames"] > 20, "no frames from the fake camera")
        flag.touch()
        hung = time.monotonic()
        unit.wait_log("stage capture silent", 15)
        reported = time.monotonic()
        time.sleep(4.0)
        quiet_until = time.monotonic()
        during = [h for h in subscriber.of("health") if h["stages"]["capture"] is False]
        flag.unlink()
        released = time.monotonic()
        unit.wait_log("stage capture is running again", 15)
        back = notify.wait_field("WATCHDOG=1", released, 10)
        after = health_with(
            subscriber, lambda h: h["stages"]["capture"] and h["frames"] > during[-1]["frames"],
            "no frames after the camera came back",
        )  # fmt: skip
        code, _summary = unit.stop()
    notify.close()
    assert code == 0, unit.tail()
    fed_before = notify.times("WATCHDOG=1", ready, hung)
    assert len(fed_before) >= 3
    last_feed = max(notify.times("WATCHDOG=1", ready, reported))
    # capture's allowance is capture_timeout_s + 1 = 2 s; the supervisor looks every 0.5 s
    assert last_feed - hung <= 2.0 + 1.0, "the watchdog was fed long after capture hung"
    assert notify.times("WATCHDOG=1", reported, quiet_until) == []
    statuses = [f for at, f in notify.fields(reported, quiet_until) if f.startswith("STATUS=")]
    assert len(statuses) >= 3, "the main thread should keep telling systemd how it is"
    assert len(during) >= 2, "health should keep going out while capture is hung"
    for health in during:
        assert health["stages"] == {
            "capture": False, "pipeline": True, "writer": True, "publisher": True
        }  # fmt: skip
    assert during[-1]["frames"] == during[0]["frames"]
    silent = next(m for m in unit.messages() if m.startswith("stage capture silent"))
    assert "(camera stalled); not feeding the watchdog" in silent
    assert after["stages"] == dict.fromkeys(after["stages"], True)
    subscriber.close()
    print(json.dumps({"last_feed_after_hang_s": round(last_feed - hung, 2),
                      "reported_after_s": round(reported - hung, 2),
                      "feeding_again_after_s": round(back - released, 2),
                      "health_while_hung": len(during)}))  # fmt: skip


def test_a_camera_error_stops_the_unit_in_order_for_systemd_to_restart(tmp_path, broker):
    """The Pi camera raises (libcamera failed a request): the capture stage's error stops the
    unit in order, exit status 1 (systemd's Restart=on-failure starts it again), with the
    traceback logged, what it had read stored and delivered, and the status file "stopped";
    started again with the camera back, it runs."""
    flag = tmp_path / "fail"
    config = fault_config(
        tmp_path, broker, hits_every=6, camera_extra="resolution = [640, 480]\n"
    )  # fmt: skip
    subscriber = Subscriber(broker)
    env = {"PYTHONPATH": str(fake_picamera2_path(tmp_path)), FAIL_FLAG_ENV: str(flag)}
    with UnitRun(config, "picamera2", tmp_path, env=env) as unit:
        health_with(subscriber, lambda h: h["frames"] > 10, "no frames from the fake camera")
        flag.touch()
        try:
            code = unit.process.wait(60)
        except subprocess.TimeoutExpired:
            pytest.fail("the unit kept running after its camera failed:\n" + unit.tail())
        errors = [e for e in unit.log() if e.get("level") == "ERROR"]
    assert code == 1, unit.tail()
    assert any("stage capture stopped by an unexpected error" in e["message"] for e in errors)
    assert any("Camera frontend has timed out!" in e.get("traceback", "") for e in errors)
    summary = json.loads(unit.out_path.read_text())
    assert summary["exit_code"] == 1 and summary["errors"] == 1
    assert summary["backlog"] == {"hits": 0, "reads": 0, "oldest_age_s": None}
    status = json.loads((tmp_path / "run" / "status.json").read_text())
    assert status["state"] == "stopped"
    assert subscriber.of("status")[-1]["state"] == "offline"
    flag.unlink()
    before = len(subscriber.of("health"))
    with UnitRun(config, "picamera2", tmp_path, env=env, name="restarted") as unit:
        health_with(
            subscriber, lambda h: h["frames"] > 10 and h["errors"] == 0,
            "the restarted unit reads no frames", start=before,
        )  # fmt: skip
        code, _summary = unit.stop()
    assert code == 0, unit.tail()
    subscriber.close()
