"""The unit's SQLite store: one file at `storage.path`, opened by `open_database`.

`database` opens it (WAL, full sync, owner-only files, a busy timeout) and gives explicit write
transactions; `migrations` holds the numbered schema changes every table of the unit comes from.
"""

from edge.store.database import DEFAULT_BUSY_TIMEOUT_S, open_database
from edge.store.migrations import MIGRATIONS, Migration, apply_migrations, schema_version
from edge.store.sql import StoreError, transaction

__all__ = [
    "DEFAULT_BUSY_TIMEOUT_S",
    "MIGRATIONS",
    "Migration",
    "StoreError",
    "apply_migrations",
    "open_database",
    "schema_version",
    "transaction",
]
