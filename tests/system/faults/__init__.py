"""Faults the roadside brings, on the real unit (`anpr-edge run` as a subprocess on the synthetic
road, the bundled models, its SQLite store and a real Mosquitto): the broker going away again
and again, the unit killed (SIGKILL) at random moments, a full store, a camera that stops or
errors, and a stage that hangs.

The default run (CI) keeps short versions; `make test-faults` runs the long ones
(ANPR_EDGE_LONG_TESTS=1; ANPR_EDGE_FAULT_ROUNDS sets the rounds of the outage and kill tests,
ANPR_EDGE_FAULT_SEED the seed of their random moments). Each test prints its figures (-s)."""
