"""Benchmarks use the same embedded stack as the tests."""

from tests.conftest import kafka_bootstrap, pg_server_dsn, redis_url, stack

__all__ = ["kafka_bootstrap", "pg_server_dsn", "redis_url", "stack"]
