"""Benchmark scripts (they print figures, they assert nothing) and shared synthetic data."""
