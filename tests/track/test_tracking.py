"""Grouping a vehicle's frames: confidence-weighted voting, association, track ends, direction,
and the read record with its patch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from edge.records import Box, Detection, Frame, PlateText
from edge.track.patches import PATCH_MAX_BYTES, encode_within, patch_jpeg
from edge.track.reading import ReadContext, direction_of, make_read
from edge.track.tracking import Tracker, TrackSettings
from edge.track.voting import vote
from edge.vision.reader import PlateResult

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FPS = 20.0


def text(value: str, conf: float = 0.9, confs: list[float] | None = None) -> PlateText:
    chars = tuple(confs) if confs else (conf,) * len(value)
    return PlateText(value, float(np.prod(chars)), chars, "gb-current")


IMAGE = np.zeros((1088, 1456), np.uint8)


def frame(index: int) -> Frame:
    return Frame(index, IMAGE, T0 + timedelta(seconds=index / FPS), index / FPS)


def plate(x: float, y: float, h: float, reading: PlateText) -> PlateResult:
    return PlateResult(Detection(Box(x, y, h * 4.7, h), 0.9), reading)


def feed(tracker: Tracker, index: int, results: list[PlateResult]):
    crops = [np.full((10, 40, 3), 200, np.uint8) for _ in results]
    updated = tracker.observe(frame(index), results, crops)
    return updated, tracker.due(index / FPS)


def test_vote_outweighs_a_misread_character_and_a_dropped_one():
    readings = [
        text("AB12CDE"),
        text("AB12CDE"),
        text("A812CDE", confs=[0.9, 0.4, 0.9, 0.9, 0.9, 0.9, 0.9]),
        text("AB2CDE"),  # a dropped character: outvoted on length
    ]
    result = vote(readings)
    assert result.text == "AB12CDE"
    assert result.agreeing == 2 and result.frames == 4
    assert result.format == "gb-current"
    # the disputed position is less certain than the undisputed ones
    assert result.char_confidences[1] < result.char_confidences[0]
    assert 0 < result.confidence <= 1


def test_vote_confidence_grows_with_agreeing_frames():
    one = vote([text("AB12CDE", 0.8)])
    five = vote([text("AB12CDE", 0.8)] * 5)
    assert five.confidence > one.confidence
    assert vote([]) is None and vote([text("")]) is None


def test_two_vehicles_crossing_give_two_tracks_each_decided_once_after_the_gap():
    tracker = Tracker(TrackSettings(gap_s=0.3, max_s=10.0))
    decided = []
    for i in range(12):
        results = [
            plate(100 + 3 * i, 100 + 20 * i, 20 + i, text("AB12CDE")),  # coming nearer
            plate(900 - 2 * i, 600 - 15 * i, 40 - i, text("XY51ZZT")),  # going away
        ]
        decided += feed(tracker, i, results)[1]
    assert len(tracker.open) == 2 and not decided
    for i in range(12, 30):  # nothing seen: both end once the gap has passed
        decided += feed(tracker, i, [])[1]
    assert sorted(t.vote("gb").text for t in decided) == ["AB12CDE", "XY51ZZT"]
    assert {t.read_id for t in decided} and len({t.read_id for t in decided}) == 2
    by_text = {t.vote("gb").text: t for t in decided}
    assert direction_of(by_text["AB12CDE"]) == "towards"
    assert direction_of(by_text["XY51ZZT"]) == "away"
    assert all(len(t.observations) == 12 for t in decided)


def test_a_plate_lost_briefly_and_found_again_does_not_read_twice():
    tracker = Tracker(TrackSettings(gap_s=0.2, max_s=10.0))
    decided = []
    for i in range(5):
        decided += feed(tracker, i, [plate(100, 100 + 10 * i, 30, text("AB12CDE"))])[1]
    for i in range(5, 11):  # lost for 0.3 s: the track ends and is decided
        decided += feed(tracker, i, [])[1]
    assert len(decided) == 1
    for i in range(11, 14):  # found again further on, same text: absorbed, no new track to read
        updated, due = feed(tracker, i, [plate(100, 100 + 10 * i, 30, text("AB12CDE"))])
        assert updated == [] and due == []
    decided += tracker.flush()
    assert len(decided) == 1


def test_a_long_track_is_decided_at_max_time_and_then_only_absorbs():
    tracker = Tracker(TrackSettings(gap_s=0.5, max_s=1.0))
    decided = []
    for i in range(40):  # a queueing car, two seconds in view
        decided += feed(tracker, i, [plate(300, 300, 30, text("AB12CDE"))])[1]
    assert len(decided) == 1 and decided[0].decided
    assert tracker.flush() == []


def test_plates_cut_by_the_edge_and_double_boxes_are_left_out():
    tracker = Tracker(TrackSettings())
    updated = tracker.observe(
        frame(0),
        [
            plate(0, 500, 30, text("9J")),  # half a plate at the left edge
            plate(600, 1088 - 30, 30, text("AB1")),  # touching the bottom
            plate(300, 300, 30, text("XY51ZZT")),
            plate(305, 302, 28, text("XY51ZZ", 0.5)),  # the same plate boxed twice
        ],
        [np.zeros((30, 140), np.uint8)] * 4,
    )
    assert [t.vote("gb").text for t in updated] == ["XY51ZZT"]


def test_association_follows_motion_not_just_nearness():
    tracker = Tracker(TrackSettings())
    for i in range(6):  # a fast vehicle moving 60 px a frame; a new one appears ahead of it
        results = [plate(200, 100 + 60 * i, 30, text("AB12CDE"))]
        if i == 5:
            results.append(plate(200, 100 + 60 * 4 + 25, 30, text("CD34EFG")))
        feed(tracker, i, results)
    texts = sorted(t.vote("gb").text for t in tracker.open)
    assert texts == ["AB12CDE", "CD34EFG"]
    assert {len(t.observations) for t in tracker.open} == {6, 1}


def test_read_record_carries_the_vote_times_and_a_small_patch():
    tracker = Tracker(TrackSettings(gap_s=0.2))
    rng = np.random.default_rng(1)
    for i in range(4):
        crop = rng.integers(0, 255, (40, 190, 3), np.uint8)  # noise: the hardest to compress
        tracker.observe(frame(i), [plate(100, 100 + 10 * i, 40, text("AB12CDE"))], [crop])
    (track,) = tracker.flush()
    context = ReadContext("unit-1", "cam1", (51.5, -0.1), (("recogniser", "r@1"),), "towards")
    read = make_read(track, track.vote("gb"), context)
    assert read.vrm == "AB12CDE" and read.frames == 4 and read.read_id == track.read_id
    assert read.first_seen == T0 and read.last_seen == T0 + timedelta(seconds=3 / FPS)
    assert 0 < len(read.patch_jpeg) <= PATCH_MAX_BYTES
    assert read.patch_jpeg[:2] == b"\xff\xd8"
    assert read.overview_jpeg is None


def test_jpeg_limits_hold_for_any_picture():
    rng = np.random.default_rng(2)
    big = rng.integers(0, 255, (1088, 1456, 3), np.uint8)
    assert 0 < len(encode_within(big, 25 * 1024, 640)) <= 25 * 1024
    assert patch_jpeg(None) == b""
    assert len(patch_jpeg(big[:300, :900])) <= PATCH_MAX_BYTES


def test_an_overview_is_kept_only_when_configured_and_fits_25_kb():
    rng = np.random.default_rng(3)
    picture = rng.integers(0, 255, (1088, 1456, 3), np.uint8)
    tracker = Tracker(TrackSettings(gap_s=0.2, keep_frames=True))
    for i in range(3):
        shot = Frame(i, picture, T0 + timedelta(seconds=i / FPS), i / FPS)
        crop = np.full((40, 190), 128, np.uint8)
        tracker.observe(shot, [plate(100, 100 + 10 * i, 40, text("AB12CDE"))], [crop])
    (track,) = tracker.flush()
    context = ReadContext("unit-1", "cam1", None, (), keep_overview=True)
    read = make_read(track, track.vote("gb"), context)
    assert read.overview_jpeg is not None and 0 < len(read.overview_jpeg) <= 25 * 1024
    assert read.location is None and read.direction == "towards"


def test_a_fragment_is_part_of_a_plate_allowing_one_misread_character():
    from edge.track.pipeline import _part_of

    assert _part_of("VF", "705BVF") and _part_of("9VJD", "W519VJD")
    assert _part_of("B9VJD", "W519VJD")  # "19VJD" with one character misread
    assert not _part_of("VX", "705BVF")  # short pieces must match exactly
    assert not _part_of("AB12", "CD34EFG")


def test_vote_at_a_given_length_reads_among_readings_of_that_length_only():
    readings = [text("XW17VOD")] * 3 + [text("XW17VO", 0.95)] * 6  # the plate, then cut short
    assert vote(readings).text == "XW17VO"
    at_hit = vote(readings, length=7)
    assert at_hit.text == "XW17VOD" and at_hit.agreeing == 3 and at_hit.frames == 9
    assert vote(readings, length=5).text == "XW17VO"  # no reading of that length: as usual


def test_a_track_whose_hit_went_out_keeps_the_hits_length():
    tracker = Tracker(TrackSettings(gap_s=0.2))
    for i in range(3):
        feed(tracker, i, [plate(600, 500 - 10 * i, 40, text("XW17VOD"))])
    (track,) = tracker.open
    track.hit_vrm = "XW17VOD"  # as the pipeline sets it when the hit goes out
    for i in range(3, 9):  # the vehicle moves on, its plate read a character short
        feed(tracker, i, [plate(600, 500 - 10 * i, 40, text("XW17VO", 0.95))])
    assert track.vote("gb").text == "XW17VOD"
    track.hit_vrm = None
    assert track.vote("gb").text == "XW17VO"
