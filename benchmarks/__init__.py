"""Benchmarks for async uploads: run ``python -m benchmarks --help`` from the repository root."""
