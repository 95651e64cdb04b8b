"""Fixture of the matching tests: a store and an index holding two signed lists."""

from __future__ import annotations

import pytest

from edge.hotlist.apply import BundleApplier
from edge.hotlist.index import IndexHolder
from tests.support.hotlist import FUTURE, PAST, Centre, entry, open_store


@pytest.fixture
def unit(tmp_path):
    centre = Centre(tmp_path / "keys")
    store = open_store(tmp_path / "anpr.db")
    holder = IndexHolder()
    applier = BundleApplier(store, centre.trusted(), max_payload_bytes=1 << 24, holder=holder)
    applier.apply(
        centre.snapshot(
            "national",
            1,
            [
                entry("AB12CDE", "stolen", 2),
                entry("AB12CDF", "drugs", 1),
                entry("OLD123", expires_at=PAST),
                entry("NEW123", expires_at=FUTURE),
                entry("B1"),
                entry("K8LMN"),
            ],
        )
    )
    applier.apply(centre.snapshot("county", 1, [entry("AB12CDE", "county-lines", 1, "monitor")]))
    return centre, store, holder, applier
