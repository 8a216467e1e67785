"""Benchmarks of syncd against the simulator: API calls, wall time, peak RSS, diff CPU.

Not part of the pass/fail test suite: speed and memory targets are proven by figures these
benchmarks print (ratios measured in one run), never by timed assertions in tests. Run
``python -m bench.snapshot`` (``--quick`` for a smoke run); figures go to docs/benchmarks.md.
"""
