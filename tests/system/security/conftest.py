"""Fixtures of the security tests: a test CA, and the centre's broker on the committed config."""

from __future__ import annotations

import pytest

from tests.support.security import CentreBroker, TestCA


@pytest.fixture
def ca(tmp_path) -> TestCA:
    return TestCA(tmp_path / "pki")


@pytest.fixture
def centre_broker(tmp_path, ca):
    (tmp_path / "broker").mkdir()
    broker = CentreBroker(tmp_path / "broker", ca)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
