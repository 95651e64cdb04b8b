"""Aids for developers, never part of a running unit: the demo's hotlist and keys, a throwaway
local broker, and the benchmarks behind `anpr-edge bench` and `make bench-report`."""
