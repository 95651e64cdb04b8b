"""A unit killed in the middle of applying a snapshot keeps the old list, whole.

A real process applies a real 400,000-entry snapshot into a real SQLite file and is killed
with SIGKILL once it reports (through the applier's progress callback) that 200,000 rows are
in the open transaction — by then SQLite has spilled them into the WAL on disk. The store
must then pass `PRAGMA integrity_check`, hold the old version with its old entries, and
accept the same snapshot afterwards.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import textwrap

from edge.hotlist.apply import BundleApplier
from edge.hotlist.index import IndexHolder
from tests.support.hotlist import Centre, entry, open_store
from tests.support.paths import REPO

CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from edge.hotlist.apply import BundleApplier
    from edge.hotlist.signing import load_trusted_keys
    from edge.hotlist.store import HotlistStore
    from edge.store.database import open_database

    store_path, bundle, *keys = sys.argv[1:]

    def progress(rows):
        if rows >= 200_000:
            print(f"rows {rows}", flush=True)
            time.sleep(120)  # killed here, inside the transaction

    store = HotlistStore(open_database(store_path))
    applier = BundleApplier(store, load_trusted_keys([Path(k) for k in keys]),
                            max_payload_bytes=1 << 28, progress=progress)
    applier.apply(Path(bundle).read_bytes())
    print("committed", flush=True)
""")


def readline(stream, timeout_s: float) -> str:
    ready, _, _ = select.select([stream], [], [], timeout_s)
    return stream.readline() if ready else ""


def test_sigkill_during_apply_leaves_the_old_list_intact(tmp_path):
    centre = Centre(tmp_path / "keys")
    db = tmp_path / "state" / "anpr.db"
    old = [entry("AB12CDE"), entry("X1", "drugs", 3, "monitor", "old reason")]
    store = open_store(db)
    BundleApplier(store, centre.trusted(), max_payload_bytes=1 << 28).apply(
        centre.snapshot("national", 1, old)
    )
    before = list(store.iter_entries())
    store.conn.close()

    bundle = tmp_path / "national-2.json"
    bundle.write_bytes(centre.snapshot("national", 2, [entry(f"N{i:07d}") for i in range(400_000)]))
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db), str(bundle), *map(str, centre.trusted_paths)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        line = readline(child.stdout, timeout_s=120)  # the child is mid-apply (or died)
        assert line.startswith("rows "), child.stderr.read()
        wal = db.with_name(db.name + "-wal")
        assert wal.stat().st_size > 1_000_000, "the uncommitted rows never reached the disk"
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)
        child.stdout.close()
        child.stderr.close()

    store = open_store(db)
    assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    (info,) = store.lists()
    assert (info.list_id, info.version, info.entries) == ("national", 1, 2)
    assert list(store.iter_entries()) == before
    holder = IndexHolder()
    applied = BundleApplier(
        store, centre.trusted(), max_payload_bytes=1 << 28, holder=holder
    ).apply(bundle.read_bytes())
    assert (applied.version, applied.entries) == (2, 400_000)
    assert len(holder.current.lists["national"]) == 400_000
