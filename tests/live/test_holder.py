"""The pipeline's hand-off to the live page: nothing held, copied or drawn while no page
watches; the newest frame by reference while one does."""

from __future__ import annotations

import time
from dataclasses import replace

from edge.hotlist.fuzzy import FuzzyPolicy
from edge.hotlist.index import IndexHolder
from edge.hotlist.matcher import Matcher
from edge.live.holder import FrameHolder
from edge.live.view import Renderer
from edge.records import ReadDecided
from edge.stages import Counters
from edge.track.pipeline import Pipeline, PipelineSettings
from edge.track.reading import ReadContext
from edge.track.tracking import Tracker, TrackSettings
from edge.vision.motion import MotionGate
from edge.vision.reader import PlateReader
from tests.live.conftest import grey_of


def test_nothing_is_held_or_rendered_while_no_page_watches(road_frame):
    frame, plates = road_frame
    holder = FrameHolder()
    renderer = Renderer(holder, max_fps=8.0)
    for index in range(50):
        holder.offer(replace(frame, index=index), grey_of(frame), plates)
    assert holder.held == 0 and holder.latest() is None and renderer.rendered == 0


def test_a_watching_page_gets_the_newest_frame_by_reference(road_frame):
    frame, plates = road_frame
    holder = FrameHolder(lease_s=0.3)
    holder.watch()
    holder.offer(frame, grey_of(frame), plates)
    newer = replace(frame, index=frame.index + 1)
    holder.offer(newer, grey_of(newer), plates)
    held = holder.latest()
    assert held is not None and held.sequence == 2 and held.frame is newer
    assert held.frame.image is frame.image and held.grey is not None  # not copied
    time.sleep(0.35)  # the page stopped asking: the next offer lets the frame go
    holder.offer(newer, grey_of(newer), plates)
    assert holder.latest() is None and holder.held == 2


def test_reads_are_kept_only_while_the_page_is_served(road_frame):
    holder = FrameHolder()
    read = _decided_read(road_frame)
    holder.offer_read(read)
    assert holder.reads() == []
    holder.open = True
    holder.offer_read(read)
    assert [r.read.vrm for r in holder.reads()] == [read.read.vrm]
    holder.close()
    assert holder.reads() == [] and not holder.open


def test_the_pipeline_hands_frames_over_only_while_watched(road_frame):
    """The unit's own pipeline with the holder wired in, over real frames."""
    frame, _ = road_frame
    holder = FrameHolder()
    reader = PlateReader.from_files(None, None)
    pipeline = Pipeline(
        reader, MotionGate(enabled=False), Tracker(TrackSettings()),
        Matcher(IndexHolder(), FuzzyPolicy(max_distance=1, substitutions="confusions")),
        ReadContext("u1", "cam1", None, reader.model_versions), PipelineSettings(),
        emit=lambda event: None, counters=Counters(), on_frame=holder.offer,
    )  # fmt: skip
    for index in range(3):
        pipeline.process(replace(frame, index=index, monotonic_s=frame.monotonic_s + index))
    assert holder.held == 0 and holder.latest() is None
    holder.watch()
    pipeline.process(replace(frame, index=3, monotonic_s=frame.monotonic_s + 3))
    held = holder.latest()
    assert held is not None and held.frame.index == 3 and held.plates  # read on it, boxed


def _decided_read(road_frame) -> ReadDecided:
    from edge.records import PlateRead
    from edge.times import utc_now

    now = utc_now()
    read = PlateRead(
        "id1", "u1", "cam1", "AB12CDE", 0.99, (0.99,) * 7, "gb-current", now, now, now, False,
        None, None, 5, patch_jpeg=b"\xff\xd8jpeg",
    )  # fmt: skip
    return ReadDecided(read, hit=False)
