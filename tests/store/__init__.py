"""Tests: tests/store."""
