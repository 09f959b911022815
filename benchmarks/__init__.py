"""Benchmarks for talks: memory and speed of the pipeline, written to results.md/.json.

Run from the repository root:  python -m benchmarks.run  (or `make bench`).
Every measured program runs as a subprocess whose whole process tree is sampled, so the
numbers are what a user's machine would see, not what one Python object holds.
"""
