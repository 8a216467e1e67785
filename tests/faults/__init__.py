"""Tests: tests/faults."""
