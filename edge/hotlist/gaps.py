"""Gaps in a list's versions (part of `edge.hotlist.sync.HotlistSync`): a delta whose base is
not the held version. One that is ahead is parked (a few per list, its file left in the spool)
and applied once the versions between have arrived; the unit asks the broker for the retained
snapshot again (re-subscribing with MQTT 5 retain handling 0 makes the broker re-send it) and
repeats the request every `snapshot_retry_s` until a newer snapshot arrives.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from paho.mqtt.subscribeoptions import SubscribeOptions

from edge.hotlist.index import IndexHolder
from edge.hotlist.spool import Spool, Spooled
from edge.mqtt import BrokerSettings
from edge.uplink.connection import Connection
from edge.uplink.topics import hotlist_topic

if TYPE_CHECKING:
    from edge.hotlist.sync import SyncSettings

# part of the sync: its log lines are the sync's
log = logging.getLogger("edge.hotlist.sync")

PARKED_PER_LIST = 16


@dataclass
class ListState:
    waiting_since: float | None = None  # monotonic time of the last snapshot request
    parked: dict[int, Spooled] = field(default_factory=dict)  # base version → spooled delta


class VersionGaps:
    # the sync's, set in HotlistSync.__init__
    settings: SyncSettings
    broker: BrokerSettings
    connection: Connection
    holder: IndexHolder
    spool: Spool
    _next: deque[Spooled]
    _states: dict[str, ListState]

    def _park(self, state: ListState, base_version: int | None, item: Spooled) -> bool:
        if base_version is None:
            return False
        replaced = state.parked.pop(base_version, None)
        if replaced is not None:
            self.spool.remove(replaced)
        state.parked[base_version] = item
        while len(state.parked) > PARKED_PER_LIST:
            # keep those nearest the held version
            self.spool.remove(state.parked.pop(max(state.parked)))
        return base_version in state.parked

    def _apply_parked(self, list_id: str, state: ListState) -> None:
        """The parked delta that follows on from the held version, if any, is next (through
        `_process`, so it is retried and removed like any other)."""
        held = self.holder.versions().get(list_id, 0)
        for base in [base for base in state.parked if base < held]:
            self.spool.remove(state.parked.pop(base))  # superseded by what was applied
        item = state.parked.pop(held, None)
        if item is not None:
            self._next.append(item)

    def _request_snapshot(self, list_id: str, state: ListState) -> None:
        state.waiting_since = time.monotonic()
        topic = hotlist_topic(self.settings.prefix, list_id, "snapshot")
        log.info(
            "hotlist %s: waiting for a snapshot; asking the broker for the retained one", list_id
        )
        if self.broker.mqtt5:
            self.connection.subscribe(topic, options=SubscribeOptions(qos=1, retainHandling=0))
        else:
            self.connection.subscribe(topic, qos=1)  # brings the retained snapshot

    def _request_overdue_snapshots(self) -> None:
        now = time.monotonic()
        for list_id, state in self._states.items():
            if (
                state.waiting_since is not None
                and now - state.waiting_since >= self.settings.snapshot_retry_s
            ):
                self._request_snapshot(list_id, state)
