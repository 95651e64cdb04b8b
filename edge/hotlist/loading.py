"""Build the in-memory index of every list in the store (at start-up, or for a benchmark)."""

from __future__ import annotations

import logging
import time

from edge.hotlist.index import IndexHolder, ListIndex
from edge.hotlist.store import HotlistStore

log = logging.getLogger(__name__)


def load_index(store: HotlistStore, holder: IndexHolder) -> None:
    """Load each list held (signed and local) into `holder`, one list at a time, so matching
    can start on the first lists while later ones load."""
    labels = store.labels()
    for info in store.lists():
        started = time.monotonic()
        index = ListIndex.build(info, store.load_columns(info.list_id), labels)
        holder.replace(index)
        log.info(
            "hotlist %s v%d loaded: %d entries, %.0f MB, %.1f s",
            info.list_id,
            info.version,
            len(index),
            index.nbytes / 1e6,
            time.monotonic() - started,
        )
