"""Hotlists: signed lists of plates of interest, kept current over MQTT and matched per read.

- `keys`, `entries`: plates as 64-bit keys; entries validated column by column.
- `signing`, `payload`, `bundle`, `rejections`: Ed25519 keys with ids, the signed bundle format
  and the reasons a bundle is refused.
- `store`, `apply`, `changes`, `local`, `csv_import`, `centre`: the lists in SQLite, applying
  bundles atomically, local (unsigned) lists, CSV files, signing on the centre's side.
- `index`, `loading`, `fuzzy`, `matcher`: the in-memory index and exact + fuzzy matching.
- `sync`, `publish`, `mqtt_client`: MQTT in (the unit) and out (the centre).
- `unit`: wiring from the unit config; `bench`, `sample`: the benchmark.
"""

import logging

# A library logs; the program decides where to. Without this, Python's last-resort handler
# would print warnings (e.g. a rejected bundle) to the stderr of every command.
logging.getLogger(__name__).addHandler(logging.NullHandler())
