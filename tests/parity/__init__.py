"""Tests: tests/parity."""
