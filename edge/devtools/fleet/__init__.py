"""The fleet simulation (`make fleet`, docs/fleet.md): N simulated units on one Mosquitto run
with the centre's committed configuration, and the reference centre consumer into PostgreSQL.

- `unit.py`: one simulated unit, the unit's own uplink, store writer and hotlist sync (the only
  module here that imports the unit's code), fed by `feed.py` instead of a camera;
- `worker.py`: a process holding many units, driven over a pipe;
- `centre.py`: the broker, PostgreSQL and consumer processes, and the hotlist bundles;
- `scenarios.py` and `__main__.py`: what is measured, and the report.
"""
