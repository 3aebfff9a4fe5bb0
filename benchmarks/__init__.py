"""Benchmark harness of the federation: `python -m benchmarks.run` (see benchmarks/README.md).

Every target is a ratio of two figures measured side by side in the same run, because the
machines this runs on are small and shared: an absolute time means little there, a ratio
of two things measured under the same noise means something.
"""
