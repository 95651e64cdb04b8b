"""The unit's side of hotlist matching: the `reason` of a matched entry comes from the store
(the in-memory index holds no free text), read on the matching thread's own connection."""

from __future__ import annotations

import threading
from pathlib import Path

from edge.hotlist.store import HotlistStore
from edge.store.database import open_database


class StoreReasons:
    def __init__(self, path: Path):
        self.path = path
        self._local = threading.local()

    def __call__(self, list_id: str, vrm: str) -> str | None:
        store = getattr(self._local, "store", None)
        if store is None:  # sqlite3 connections belong to the thread that opened them
            store = self._local.store = HotlistStore(open_database(self.path, migrate=False))
        return store.reason(list_id, vrm)
