"""Fixtures for platform services running against the real stack."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

import pytest

from nexus.config import Settings, load_settings
from nexus.infra import Stack
from nexus.web import Authenticator

SettingsFactory = Callable[..., Awaitable[Settings]]


@pytest.fixture
def service_settings(
    stack: Stack, fresh_database: Callable[[str], Awaitable[str]]
) -> SettingsFactory:
    """Settings on the real stack; each named service gets a fresh database of its own."""

    async def make(*services: str) -> Settings:
        base = load_settings({}).with_infra(
            kafka_bootstrap=stack.kafka_bootstrap, pg_dsn=stack.pg_dsn, redis_url=stack.redis_url
        )
        dsns = {name: await fresh_database(name) for name in services}
        return replace(base, service_pg_dsns=dsns)

    return make


@pytest.fixture
def tokens() -> Callable[[str, str], dict[str, str]]:
    """Authorization headers for a subject with roles (``"risk"``, ``"trader|risk"``)."""
    auth = Authenticator(load_settings({}))

    def headers(subject: str, roles: str) -> dict[str, str]:
        return {"Authorization": "Bearer " + auth.issue_token(subject, roles.split("|"))}

    return headers
