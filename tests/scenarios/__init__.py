"""Tests: tests/scenarios."""
