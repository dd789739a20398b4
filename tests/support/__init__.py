"""Helpers shared by tests (event factories, runner drivers)."""
