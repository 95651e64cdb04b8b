"""Developer tools: benchmarks, simulations and the servers they start. Never imported by the
unit itself."""
