"""Tests: tests/core."""
