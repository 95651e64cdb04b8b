"""Aids for developers, never part of a running unit: the demo's hotlist and keys, a throwaway
local broker, the benchmarks behind `anpr-edge bench` and `make bench-report`, and the fleet
simulation (`make fleet`) with the private servers it starts (PostgreSQL, a centre broker)."""
