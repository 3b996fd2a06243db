"""Benchmarks of the repair workflow, the handlers and the agent (issue 7), run by command:
``python -m bench`` from the repository root (``scripts/bench.sh`` sets up first). Never timed
assertions: tests only check that each benchmark's machinery works on a tiny input."""
