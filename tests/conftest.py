"""Shared fixtures: a real Mosquitto broker, the real-dev datasets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.broker import MosquittoBroker, free_port, running
from tests.support.paths import REAL_DEV
from tests.support.tls import client_certificate, make_ca_and_server


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[MosquittoBroker]:
    """A fresh mosquitto on a free loopback port; fails (not skips) when mosquitto is missing,
    so CI cannot hide a missing install step."""
    with running(MosquittoBroker(tmp_path)) as instance:
        yield instance


@pytest.fixture
def logging_broker(tmp_path: Path) -> Iterator[MosquittoBroker]:
    """A broker that can write its log where the test reads it: run as root, mosquitto
    otherwise switches to its own user, which cannot write in the test's private folder."""
    with running(MosquittoBroker(tmp_path, extra_config="user root\n")) as instance:
        yield instance


@pytest.fixture
def real_dev() -> Path:
    if not REAL_DEV.is_dir():
        pytest.skip("../shared/datasets/real-dev is not beside this checkout")
    return REAL_DEV


@pytest.fixture
def outage_broker(tmp_path: Path, broker: MosquittoBroker) -> Iterator[MosquittoBroker]:
    """A broker on `broker`'s port that keeps sessions (and queued messages) across its
    restarts, for outage tests."""
    from tests.support.unit import persistent_broker

    with running(persistent_broker(tmp_path, broker)) as instance:
        yield instance


@pytest.fixture
def tls_broker(tmp_path):
    paths = make_ca_and_server(tmp_path)
    port = free_port()
    # Started as root, Mosquitto drops to its own user before reading the key; a test keeps
    # root so it can read the key in pytest's private temporary folder.
    instance = MosquittoBroker(
        tmp_path,
        extra_config=(
            f"user root\nlistener {port} 127.0.0.1\ncafile {paths['ca']}\n"
            f"certfile {paths['server']}\nkeyfile {paths['server-key']}\n"
        ),
    )
    with running(instance):
        yield port, paths["ca"]


@pytest.fixture
def mtls_broker(tmp_path):
    paths = make_ca_and_server(tmp_path)
    client_cas, cert, key = client_certificate(tmp_path, paths)
    port = free_port()
    instance = MosquittoBroker(
        tmp_path,
        extra_config=(
            f"user root\nlistener {port} 127.0.0.1\ncafile {client_cas}\n"
            f"certfile {paths['server']}\nkeyfile {paths['server-key']}\n"
            "require_certificate true\n"
        ),
    )
    with running(instance):
        yield port, paths["ca"], cert, key
