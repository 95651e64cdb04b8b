"""A reference centre consumer (docs/fleet.md): reads and hits from the force's broker into
PostgreSQL, each stored once. For integrators to read and copy; not a back office, and never
imported by the unit."""
