"""Tests: tests/daemon."""
