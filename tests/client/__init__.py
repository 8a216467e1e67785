"""Tests: tests/client."""
