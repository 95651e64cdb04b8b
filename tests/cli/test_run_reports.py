"""What `anpr-edge run` says at the end of a run that went badly without a crash: a folder of
pictures none of which could be read (exit 1), some that could not (skipped, counted, named),
and hotlist bundles rejected while it ran (in the summary, not "0 errors" alone). Real unit,
real Mosquitto, real files."""

from __future__ import annotations

import io
import json
import signal

import cv2
import numpy as np
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from edge.cli.run_cmd import print_summary
from tests.support.cli import start
from tests.support.images import huge_png
from tests.support.unit import PREFIX, wait_for, write_unit_config

pytestmark = pytest.mark.broker


def run_on(config, folder) -> tuple[int, str, str]:
    unit = start("run", "--config", str(config), "--source", f"images:{folder}")
    try:
        stdout, stderr = unit.communicate(timeout=180)
    finally:
        if unit.poll() is None:
            unit.kill()
            unit.communicate()
    return unit.returncode, stdout, stderr


def test_a_folder_of_only_unreadable_images_is_a_failed_run_naming_each(tmp_path, broker):
    config = write_unit_config(tmp_path, broker)
    folder = tmp_path / "pictures"
    folder.mkdir()
    huge = huge_png(folder / "a.png")
    broken = folder / "b.jpg"
    broken.write_bytes(b"\xff\xd8 not really a jpeg")
    code, stdout, stderr = run_on(config, folder)
    assert code == 1, stderr
    assert "Traceback" not in stderr
    assert f"images: skipped {huge}: declares 60000×60000 pixels" in stderr
    assert f"images: skipped {broken}: not a readable image" in stderr
    assert (
        "  no frame read: all 2 image file(s) were unreadable (each named in a warning above)"
        in stdout.splitlines()
    )


def test_an_unreadable_image_among_good_ones_is_skipped_and_counted(tmp_path, broker):
    config = write_unit_config(tmp_path, broker)
    folder = tmp_path / "pictures"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), np.full((120, 160, 3), 90, np.uint8))
    huge_png(folder / "b.png")
    code, stdout, stderr = run_on(config, folder)
    assert code == 0, stderr
    assert stdout.splitlines()[1].startswith("summary: 1 frames in")
    assert "  1 image file(s) unreadable and skipped (each named in a warning above)" in (
        stdout.splitlines()
    )


def test_rejected_hotlist_bundles_are_in_the_run_summary(tmp_path, broker):
    config = write_unit_config(tmp_path, broker)
    status = tmp_path / "run" / "status.json"
    unit = start("run", "--config", str(config), "--source", "synthetic:rate=60", "--json")
    centre = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id="centre", protocol=MQTTProtocolVersion.MQTTv5
    )
    try:

        def sync() -> dict:
            try:
                return json.loads(status.read_text()).get("hotlist_sync") or {}
            except (OSError, ValueError):
                return {}

        wait_for(lambda: sync().get("connected"), "the hotlist sync did not connect", 120)
        centre.connect(broker.host, broker.port)
        centre.loop_start()
        for n in range(3):
            info = centre.publish(f"{PREFIX}/hotlists/demo/delta", b"{not a bundle %d" % n, qos=1)
            info.wait_for_publish(10)
        wait_for(lambda: sum(sync().get("rejected", {}).values()) == 3, "not rejected", 30)
        unit.send_signal(signal.SIGTERM)
        stdout, stderr = unit.communicate(timeout=120)
    finally:
        centre.loop_stop()
        if unit.poll() is None:
            unit.kill()
            unit.communicate()
    assert unit.returncode == 0, stderr
    summary = json.loads(stdout)
    assert summary["hotlist_sync"] == {"applied": 0, "rejected": {"malformed": 3}, "errors": 0}
    out = io.StringIO()
    print_summary(summary, out)
    assert (
        "  hotlist bundles: 0 applied, 3 rejected (malformed 3), 0 failed to apply (see "
        "`hotlist bundle rejected` in the log)"
    ) in out.getvalue().splitlines()
