"""Benchmarks: scripts that print their figures (never CI tests; timings are noisy)."""
