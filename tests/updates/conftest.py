"""Fixtures of the model update tests: one model centre (keys, golden images) per test."""

from __future__ import annotations

import pytest

from tests.support.models import ModelCentre


@pytest.fixture
def centre(tmp_path) -> ModelCentre:
    return ModelCentre(tmp_path / "centre")
