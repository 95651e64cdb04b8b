"""Did everything reach the subscriber: the reads and hits it got, and the check that the store
holds nothing undelivered and the subscriber nothing the store does not hold."""

from __future__ import annotations

from tests.support.faults import StoreView
from tests.support.unit import Subscriber


def received(subscriber: Subscriber, start: int = 0, end: int | None = None) -> list[tuple]:
    """(kind, read_id) of the reads and hits the subscriber got, in arrival order."""
    with subscriber.lock:
        messages = subscriber.messages[start:end]
    return [
        (topic.rsplit("/", 1)[1], payload.get("read_id"))
        for topic, payload, _ in messages
        if topic.endswith(("/reads", "/hits"))
    ]


def check_everything_delivered(store: StoreView, subscriber: Subscriber) -> dict[str, int]:
    """Every read and hit in the store is delivered and reached the subscriber at least once;
    the subscriber got nothing the store does not hold (nothing sent before it was stored)."""
    figures = {}
    for kind, topic in (("read", "reads"), ("hit", "hits")):
        rows = store.rows(kind)
        undelivered = [r.read_id for r in rows.values() if r.delivered_at is None or r.owed]
        assert undelivered == [], f"{kind}s never delivered: {undelivered[:10]}"
        got = {payload["read_id"] for payload in subscriber.of(topic)}
        missing = set(rows) - got
        assert not missing, f"{len(missing)} stored {kind}(s) never reached the subscriber"
        assert got <= set(rows), f"{kind}(s) received but not in the store: {got - set(rows)}"
        figures[f"{kind}s"] = len(rows)
        figures[f"{kind}s_received"] = len(subscriber.of(topic))
    return figures
