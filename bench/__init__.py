"""Benchmarks of the queue engine against pgbench's simple-update ceiling (run: ``uv run python -m bench.run``)."""
