"""Benchmarks: `python -m bench` prints ratios measured in the same run."""
