"""Local lists: a technician's own CSV loaded on this unit only (`hotlist import`), unsigned.

A local list never comes from the centre, so it is marked `local` in status, in exports and in
every match, and it cannot take the id of a list the unit receives from the centre (one id, one
source). Each import replaces the whole list and counts the version up by one.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np

from edge.errors import UserError
from edge.hotlist.bundle import LIST_ID
from edge.hotlist.csv_import import CsvEntries
from edge.hotlist.entries import EntryColumns
from edge.hotlist.records import ListInfo
from edge.hotlist.store import HotlistStore
from edge.progress import Progress
from edge.times import rfc3339_now


def import_local_list(
    store: HotlistStore,
    list_id: str,
    entries: CsvEntries,
    *,
    signed_lists: Collection[str],
    progress: Progress | None = None,
) -> ListInfo:
    if not LIST_ID.fullmatch(list_id):
        raise UserError(
            f"--list {list_id!r}: expected 1–64 letters, digits, '_' or '-', "
            "starting with a letter or digit"
        )
    if list_id in signed_lists:
        raise UserError(
            f"--list {list_id!r} is a list this unit receives from the centre "
            "(hotlist.lists); give the local list another id"
        )
    columns = _in_key_order(entries.columns)
    with store.change(list_id) as change:
        if change.held is not None and not change.held.local:
            raise UserError(
                f"--list {list_id!r} is held as a signed list from the centre; "
                "give the local list another id"
            )
        (progress or Progress("")).phase(f"storing {len(entries.lines)} entries")
        change.clear()
        change.insert(columns)
        version = change.held.version + 1 if change.held else 1
        return change.finish(version=version, issued_at=rfc3339_now(), local=True, key_id=None)


def remove_local_list(store: HotlistStore, list_id: str) -> None:
    info = store.get(list_id)
    if info is None:
        raise UserError(f"--list {list_id!r}: no such list on this unit")
    if not info.local:
        # Removing a signed list would forget its version, and with it the replay protection.
        raise UserError(
            f"--list {list_id!r} is a signed list from the centre; only local lists can be removed"
        )
    store.remove_list(list_id)


def _in_key_order(columns: EntryColumns) -> EntryColumns:
    """Sorted by plate: SQLite appends rows in key order much faster than it inserts them."""
    order = np.argsort(columns.keys, kind="stable")
    pick = order.tolist()
    return EntryColumns(
        [columns.vrms[i] for i in pick],
        columns.keys[order],
        [columns.categories[i] for i in pick],
        columns.priorities[order],
        [columns.actions[i] for i in pick],
        [columns.reasons[i] for i in pick],
        columns.expires[order],
    )
