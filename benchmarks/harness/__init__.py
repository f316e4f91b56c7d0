"""The benchmark harness behind ``benchmarks/run.py``: sources, targets, lanes, contenders, timing and reports."""
