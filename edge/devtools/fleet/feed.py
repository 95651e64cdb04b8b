"""Synthetic reads and hits in place of the camera pipeline: records as the pipeline makes
them (edge.records), with a plate patch JPEG of a realistic size (1–2 KB) and no overview."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import cv2
import numpy as np

from edge.hotlist.sample import sample_registrations
from edge.records import Hit, HotlistEntry, HotlistMatch, PlateRead, new_read_id

MODELS = (("detector", "1.1.0"), ("recogniser", "2.1.0"))


def make_patches(rng: np.random.Generator, count: int = 16) -> list[bytes]:
    """Grey 160×48 plate-like crops (dark glyph blocks on light, with noise) as JPEG."""
    patches = []
    for _ in range(count):
        image = np.full((48, 160), 200, np.uint8)
        for x in range(8, 150, 20):
            image[10:38, x : x + 12] = rng.integers(20, 60)
        image = np.clip(image + rng.normal(0, 12, image.shape), 0, 255).astype(np.uint8)
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 80])
        assert ok
        patches.append(data.tobytes())
    return patches


class Feed:
    """Reads for the units of one process: random UK plates, one patch of a few per read."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.patches = make_patches(self.rng)
        self.plates = sample_registrations(self.rng, 20_000)
        self.n = 0

    def read(self, unit_id: str, location: tuple[float, float]) -> PlateRead:
        self.n += 1
        vrm = self.plates[self.n % len(self.plates)]
        now = datetime.now(UTC)
        confs = tuple(float(c) for c in self.rng.uniform(0.85, 0.99, len(vrm)).round(4))
        return PlateRead(
            read_id=new_read_id(), unit_id=unit_id, camera_id="cam1", vrm=vrm,
            confidence=min(confs), char_confidences=confs, format="gb-current",
            captured_at=now, first_seen=now - timedelta(milliseconds=900), last_seen=now,
            clock_synced=True, location=location, direction="towards", frames=9,
            model_versions=MODELS, patch_jpeg=self.patches[self.n % len(self.patches)],
        )  # fmt: skip

    @staticmethod
    def hit(read: PlateRead, list_id: str, version: int) -> Hit:
        entry = HotlistEntry(read.vrm, "stolen", 2, "intercept", "simulated")
        return Hit(read, (HotlistMatch(list_id, version, entry, "exact"),))
