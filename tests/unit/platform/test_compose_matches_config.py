"""docker-compose.yml and nexus.config agree: same variables, same ports, every service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from nexus.config import ENV_VARS, SERVICE_PORTS, load_settings

ROOT = Path(__file__).resolve().parents[3]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
INFRA = {"kafka", "pg-platform", "pg-surveillance", "pg-analytics", "pg-routing", "redis", "consul"}


def test_compose_runs_every_service_and_the_infrastructure() -> None:
    assert set(COMPOSE["services"]) == INFRA | set(SERVICE_PORTS)


def test_compose_kafka_is_kraft_mode() -> None:
    env = COMPOSE["services"]["kafka"]["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"


@pytest.mark.parametrize("service", sorted(SERVICE_PORTS))
def test_compose_service_env_uses_only_known_variables_and_its_port(service: str) -> None:
    spec = COMPOSE["services"][service]
    env = {k: str(v) for k, v in spec["environment"].items()}
    assert set(env) <= set(ENV_VARS)
    settings = load_settings(env)
    assert settings.port(service) == SERVICE_PORTS[service]
    assert spec["ports"] == [f"{SERVICE_PORTS[service]}:{SERVICE_PORTS[service]}"]
    assert spec["command"] == f"python -m services.{service}.main"
    assert settings.kafka_bootstrap == "kafka:9092"
    assert settings.redis_url is not None and settings.redis_url.startswith("redis://redis")
    assert settings.consul_addr == "consul:8500"


@pytest.mark.parametrize("service", ["surveillance", "analytics", "routing"])
def test_each_greenfield_service_has_its_own_database_server(service: str) -> None:
    env = {k: str(v) for k, v in COMPOSE["services"][service]["environment"].items()}
    dsn = load_settings(env).pg_dsn_for(service)
    assert f"@pg-{service}:5432/nexus_{service}" in dsn
    assert f"pg-{service}" in COMPOSE["services"][service]["depends_on"]


def test_platform_services_share_the_platform_server_with_one_database_each() -> None:
    env = {k: str(v) for k, v in COMPOSE["services"]["matching"]["environment"].items()}
    settings = load_settings(env)
    assert settings.pg_dsn_for("orders").endswith("@pg-platform:5432/nexus_orders")
    assert settings.pg_dsn_for("risk").endswith("@pg-platform:5432/nexus_risk")
