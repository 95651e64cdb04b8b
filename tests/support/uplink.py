"""The writer and the publisher of a unit on a real store and the test broker."""

from __future__ import annotations

import threading

from edge.mqtt import BrokerSettings
from edge.stages import Counters, Stage
from edge.store import open_database
from edge.store.reads import ReadStore
from edge.store.writer import END, StoreSettings, StoreWriter
from edge.uplink.publisher import Publisher, Topics
from tests.support.unit import PREFIX


class Unit:
    """The writer and the publisher of a unit, on a store under `folder`."""

    def __init__(self, folder, broker, window: int = 32, hit_reserve: int = 8):
        self.path = folder / "anpr.db"
        open_database(self.path).close()  # created and migrated once, as the service does
        self.counters = Counters()
        self.publisher = Publisher(
            BrokerSettings(broker.host, broker.port, "anpr-unit-1", keepalive_s=5),
            Topics(PREFIX, "unit-1"),
            self.path,
            Stage("publisher", 10),
            self.counters,
            on_delivered=lambda kind, no: self.writer.delivered(kind, no),
            versions=lambda: {"software": "test", "models": {}, "hotlists": {"demo": 7}},
            window=window,
            hit_reserve=hit_reserve,
        )
        self.writer = StoreWriter(
            StoreSettings(self.path, 86400.0, 10**9),
            Stage("writer", 10),
            self.counters,
            on_stored=self.publisher.stored,
        )
        # daemon: a failing test must not leave the suite waiting for them at exit
        self.threads = [threading.Thread(target=self.writer.run, daemon=True)]
        self.threads.append(threading.Thread(target=self.publisher.run, daemon=True))
        for thread in self.threads:
            thread.start()

    def backlog(self) -> dict:
        conn = open_database(self.path)
        try:
            return ReadStore(conn).backlog()
        finally:
            conn.close()

    def stop(self) -> None:
        self.publisher.close(5.0)
        self.threads[1].join(20)
        self.writer.submit(END)
        self.threads[0].join(20)
        assert not any(t.is_alive() for t in self.threads)
