"""Model bundles applied by the real updater to real models on disk (no broker: the MQTT path
is in tests/system/test_model_updates.py): a good bundle switches the reader; every bad one is
refused with its reason code, counted, announced, and the running models kept."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from edge.config import load_config
from edge.stages import Counters
from edge.updates.model_start import start_models
from edge.updates.model_store import ModelStore
from edge.updates.model_updater import ModelUpdater
from edge.updates.readers import ReaderHolder, golden_test
from edge.updates.unit import model_trusted_keys
from tests.support.hotlist import write_config
from tests.support.models import (
    ModelCentre,
    detector_as_recogniser,
    mislabelled_recogniser,
    misreading_recogniser,
    tampered,
    unloadable_recogniser,
)


class Updater:
    """The unit's side: the model store under `folder`, started as the unit starts it."""

    def __init__(self, folder: Path, centre: ModelCentre, **settings):
        config_path = write_config(folder, [folder / "h-a.pub", folder / "h-b.pub"],
                                   extra=centre.config_lines(**settings))  # fmt: skip
        self.config = load_config(config_path)
        self.store = ModelStore(self.config.model_store_dir)
        active, _, _ = start_models(self.config, self.store)
        self.holder = ReaderHolder(active)
        self.results: list[dict] = []
        self.updater = ModelUpdater(
            self.config, self.store, self.holder, Counters(), threading.Event(),
            trusted=model_trusted_keys(self.config), announce=self.results.append,
        )  # fmt: skip

    def rejected(self) -> dict[str, int]:
        return self.updater.outcomes.snapshot()["rejected"]


def test_a_good_bundle_is_staged_tested_and_switched_to(tmp_path, centre):
    unit = Updater(tmp_path, centre)
    before = unit.holder.current
    unit.updater.apply(centre.bundle(2))
    active = unit.holder.current
    assert active.version == 2 and active is not before
    state = unit.store.read()
    assert (state.current, state.previous, state.trial, state.highest_seen) == (2, None, 2, 2)
    folder = unit.store.versions / "2"
    assert sorted(p.name for p in folder.iterdir()) == [
        "detector.json", "detector.tflite", "golden", "recogniser.json", "recogniser.tflite"
    ]  # fmt: skip
    assert folder.stat().st_mode & 0o777 == 0o700
    assert (folder / "recogniser.tflite").stat().st_mode & 0o777 == 0o600
    assert (unit.store.folder / "state.json").stat().st_mode & 0o777 == 0o600
    assert golden_test(active, folder / "golden").plates >= 5
    (result,) = unit.results
    assert result["ok"] is True and result["id"] == "model-v2"
    assert result["command"] == "model-update" and "base → v2" in result["detail"]
    # a recogniser-only bundle keeps the running detector (copied into the new version)
    unit.updater.apply(centre.bundle(3, roles=("recogniser",)))
    assert unit.holder.current.version == 3
    assert (unit.store.versions / "3" / "detector.tflite").read_bytes() == (
        folder / "detector.tflite"
    ).read_bytes()
    assert unit.store.read().previous == 2


BAD = {
    "bad-signature": lambda c, f: tampered(c.bundle(5)),
    "unknown-key": lambda c, f: c.bundle(5, key="rogue"),
    "stale-version": lambda c, f: c.bundle(2),
    "manifest-mismatch": lambda c, f: c.bundle(5, recogniser=mislabelled_recogniser(f)),
    "truncated": lambda c, f: c.bundle(5)[:400_000],
    "load-failed": lambda c, f: c.bundle(5, recogniser=unloadable_recogniser(f)),
    "golden-failed": lambda c, f: c.bundle(5, recogniser=misreading_recogniser(f)),
    "software-too-old": lambda c, f: c.bundle(5, min_software="99.0"),
}


@pytest.mark.parametrize("reason", sorted(BAD))
def test_a_bad_bundle_is_refused_with_its_reason_and_the_running_models_kept(
    tmp_path, centre, reason
):
    unit = Updater(tmp_path, centre)
    unit.updater.apply(centre.bundle(3))
    running = unit.holder.current
    state = unit.store.read()
    unit.updater.apply(BAD[reason](centre, tmp_path / "bad"))
    assert unit.rejected() == {reason: 1}
    assert unit.holder.current is running
    after = unit.store.read()
    assert (after.current, after.previous, after.trial) == (state.current, state.previous, 3)
    assert sorted(p.name for p in unit.store.versions.iterdir()) == ["3"]  # nothing staged kept
    assert golden_test(unit.holder.current, unit.store.versions / "3" / "golden").plates >= 5
    result = unit.results[-1]
    assert result["ok"] is False and result["reason"] == reason and result["detail"]


def test_the_other_model_in_the_recognisers_slot_is_a_manifest_mismatch(tmp_path, centre):
    unit = Updater(tmp_path, centre)
    unit.updater.apply(centre.bundle(2, recogniser=detector_as_recogniser(tmp_path / "swap")))
    assert unit.rejected() == {"manifest-mismatch": 1}
    assert unit.holder.current.version is None
    assert "'detector' model" in unit.results[-1]["detail"]


def test_an_oversized_bundle_is_refused_before_it_is_parsed(tmp_path, centre):
    unit = Updater(tmp_path, centre, max_bundle_mb=1)
    unit.updater.apply(centre.bundle(2))
    assert unit.rejected() == {"oversized": 1}
    assert "models.max_bundle_mb" in unit.results[-1]["detail"]


def test_a_retained_bundle_seen_again_is_ignored_and_a_refused_one_not_retried(tmp_path, centre):
    unit = Updater(tmp_path, centre)
    unit.updater.apply(centre.bundle(2))
    unit.updater.apply(centre.bundle(2))  # the retained bundle at the next connection
    bad = centre.bundle(3, recogniser=misreading_recogniser(tmp_path / "bad"))
    unit.updater.apply(bad)
    unit.updater.apply(bad)
    assert unit.rejected() == {"golden-failed": 1}
    assert unit.updater.outcomes.snapshot()["applied"] == 1
    assert unit.store.read().highest_seen == 3  # persisted: a restart does not retry it
    assert [r["ok"] for r in unit.results] == [True, False]


def test_the_health_figures_name_current_previous_and_pending(tmp_path, centre):
    unit = Updater(tmp_path, centre)
    unit.updater.apply(centre.bundle(2))
    unit.updater.apply(centre.bundle(3))
    status = unit.updater.status()
    assert (status["current"], status["previous"], status["pending"]) == (3, 2, None)
    assert status["trial"]["version"] == 3 and status["applied"] == 2
    assert status["models"]["recogniser"].startswith("anpr-recogniser@")
    assert json.dumps(status)  # goes into the health message as is


def test_the_selftest_checks_the_models_the_unit_runs(tmp_path, centre):
    from edge.ops.checks import check_model

    unit = Updater(tmp_path, centre)
    assert "edge/models/recogniser.tflite" in check_model(unit.config, "recogniser").reason
    unit.updater.apply(centre.bundle(2))
    result = check_model(unit.config, "recogniser")
    assert result.ok and "versions/2/recogniser.tflite" in result.reason


def test_the_state_lock_gives_up_after_its_timeout(tmp_path, centre):
    from edge.errors import RuntimeFailure
    from edge.updates.state_file import locked

    unit = Updater(tmp_path, centre)
    waiting = locked(unit.store.folder, 0o600, timeout_s=0.2)
    with unit.store.locked(), pytest.raises(RuntimeFailure, match="held by another process"):
        waiting.__enter__()
