"""Synthetic reads and hits in place of the camera pipeline: records as the pipeline makes
them (edge.records), each with a plate patch: a plate drawn by the synthetic generator
(edge.synth), grey as under infrared, padded as the unit crops it and encoded by the unit's
own patch encoder (edge.track.patches: ≤ 3 KB, so 1.3–3 KB), and no overview image (the unit's
default, `storage.keep_overview` off)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import cv2
import numpy as np

from edge.hotlist.sample import sample_registrations
from edge.plates.formats import random_registration
from edge.records import Hit, HotlistEntry, HotlistMatch, PlateRead, new_read_id
from edge.synth.plate import render_plate
from edge.track.patches import patch_jpeg

MODELS = (("detector", "1.1.0"), ("recogniser", "2.1.0"))


def make_patches(rng: np.random.Generator, count: int = 16) -> list[bytes]:
    """Plate patches 28–44 pixels high, with a little sensor noise."""
    patches = []
    for _ in range(count):
        plate = render_plate(rng, random_registration(rng), int(rng.integers(28, 44)))
        grey = cv2.cvtColor(plate.image, cv2.COLOR_BGR2GRAY)
        grey = cv2.copyMakeBorder(grey, 6, 6, 14, 14, cv2.BORDER_REPLICATE)
        grey = np.clip(grey + rng.normal(0, 4, grey.shape), 0, 255).astype(np.uint8)
        patches.append(patch_jpeg(grey))
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
