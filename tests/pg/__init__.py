"""Tests: tests/pg."""
