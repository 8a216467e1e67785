"""Tests: tests/sim."""
