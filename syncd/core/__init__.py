"""The decision core: pure functions and frozen values, no I/O, no logging, no clock reads.

Observed catalogs and policies go in; edges, drift, plans and reports come out, each with the
reasons a caller logs or prints. Enforced by import-linter (``pyproject.toml``).
"""
