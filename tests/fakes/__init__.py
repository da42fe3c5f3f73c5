"""In-memory stand-ins for the ports, for unit tests and benchmarks (never shipped in the layer)."""
