"""Tests: tests/obs."""
