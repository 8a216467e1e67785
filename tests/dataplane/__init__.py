"""Tests: tests/dataplane."""
