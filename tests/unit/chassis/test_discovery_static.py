"""Discovery without Consul resolves from static configuration."""

from __future__ import annotations

import pytest

from nexus.config import Settings
from nexus.discovery import ServiceDiscovery, parse_consul_addr
from nexus.errors import ConfigError


async def test_without_consul_resolve_uses_static_service_url() -> None:
    settings = Settings(service_urls={"risk": "http://10.0.0.5:9000"})
    discovery = ServiceDiscovery(settings)
    assert not discovery.uses_consul
    assert await discovery.resolve("risk") == "http://10.0.0.5:9000"
    assert await discovery.resolve("orders") == "http://127.0.0.1:8102"
    assert await discovery.register("risk", 8103) is None


@pytest.mark.parametrize(
    ("addr", "expected"),
    [
        ("127.0.0.1:8500", ("127.0.0.1", 8500, "http")),
        ("https://consul.local:8501", ("consul.local", 8501, "https")),
        ("consul.local", ("consul.local", 8500, "http")),
    ],
)
def test_consul_addr_forms_are_parsed(addr: str, expected: tuple[str, int, str]) -> None:
    assert parse_consul_addr(addr) == expected


def test_malformed_consul_addr_is_config_error() -> None:
    with pytest.raises(ConfigError):
        parse_consul_addr("host:notaport")
