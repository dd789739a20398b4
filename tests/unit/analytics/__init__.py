"""Unit tests of services/analytics/core."""
