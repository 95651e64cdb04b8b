"""Wiring from the unit's configuration: the `hotlist`, `mqtt` and `storage` sections turned
into the objects the commands and the running unit use."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from edge.config import Config
from edge.hotlist.index import IndexHolder
from edge.hotlist.signing import PublicKey, load_trusted_keys
from edge.hotlist.store import HotlistStore
from edge.hotlist.storefile import open_hotlists
from edge.hotlist.sync import HotlistSync, SyncSettings
from edge.mqtt import BrokerSettings
from edge.uplink.connection import Connection


def trusted_keys(config: Config, config_file: str = "") -> dict[str, PublicKey]:
    return load_trusted_keys(list(config.hotlist.trusted_keys), config_file)


def max_payload_bytes(config: Config) -> int:
    return SyncSettings.from_config(config).max_payload_bytes


@contextmanager
def open_store(config: Config) -> Iterator[HotlistStore]:
    """The lists in the hotlist file (`storage.hotlist_file`), closed on exit (a sqlite3
    connection's own `with` only commits); lists an older version kept in the store are moved
    in first."""
    conn = open_hotlists(config.storage.hotlist_file, legacy_store=config.storage.path)
    try:
        yield HotlistStore(conn)
    finally:
        conn.close()


def make_sync(
    config: Config,
    holder: IndexHolder,
    stop: threading.Event,
    config_file: str = "",
    connection: Connection | None = None,
) -> HotlistSync:
    """The MQTT sync of the configured lists; `start()` it, set `stop` and `join()` to end.
    On the unit's `connection` (which its owner starts and stops), or on one of its own."""
    link = connection or BrokerSettings.from_config(config, config.mqtt_client_id)
    return HotlistSync(
        SyncSettings.from_config(config), link, trusted_keys(config, config_file), holder, stop
    )
