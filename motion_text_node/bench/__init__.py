"""Benchmarks printed as tables, each with ratios against a baseline measured in the same run."""
