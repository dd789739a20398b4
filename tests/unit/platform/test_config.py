"""Settings come from the environment, with clear errors for malformed values."""

from __future__ import annotations

import pytest

from nexus.config import (
    DEV_JWT_SECRET,
    SERVICE_PORTS,
    ConfigError,
    load_settings,
    with_database,
)


def test_empty_environment_means_embedded_infrastructure_and_default_ports() -> None:
    settings = load_settings({})
    assert settings.kafka_bootstrap is None
    assert settings.pg_dsn is None
    assert settings.redis_url is None
    assert settings.consul_addr is None
    assert {name: settings.port(name) for name in SERVICE_PORTS} == SERVICE_PORTS


def test_service_port_override_and_static_url() -> None:
    settings = load_settings({"NEXUS_RISK_PORT": "9000", "NEXUS_SERVICE_URLS": "orders=http://o:1"})
    assert settings.port("risk") == 9000
    assert settings.service_url("risk") == "http://127.0.0.1:9000"
    assert settings.service_url("orders") == "http://o:1"


@pytest.mark.parametrize("value", ["abc", "70000", "-1"])
def test_bad_port_is_a_config_error_naming_the_variable(value: str) -> None:
    with pytest.raises(ConfigError, match="NEXUS_MATCHING_PORT"):
        load_settings({"NEXUS_MATCHING_PORT": value})


def test_api_keys_parse_subject_and_roles() -> None:
    settings = load_settings({"NEXUS_API_KEYS": "k1:alice:trader|risk, k2:svc:service"})
    assert [(k.key, k.subject, sorted(k.roles)) for k in settings.api_keys] == [
        ("k1", "alice", ["risk", "trader"]),
        ("k2", "svc", ["service"]),
    ]


@pytest.mark.parametrize("value", ["k1:alice", "k1::trader", ":a:b"])
def test_malformed_api_key_is_a_config_error(value: str) -> None:
    with pytest.raises(ConfigError, match="NEXUS_API_KEYS"):
        load_settings({"NEXUS_API_KEYS": value})


def test_malformed_service_url_mapping_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="NEXUS_SERVICE_URLS"):
        load_settings({"NEXUS_SERVICE_URLS": "orders"})


def test_each_service_gets_its_own_database_on_the_server() -> None:
    settings = load_settings({"NEXUS_PG_DSN": "postgresql://u@h:5432/postgres?sslmode=disable"})
    assert settings.pg_dsn_for("risk") == "postgresql://u@h:5432/nexus_risk?sslmode=disable"
    own = load_settings({"NEXUS_RISK_PG_DSN": "postgresql://x/y"})
    assert own.pg_dsn_for("risk") == "postgresql://x/y"


def test_database_dsn_without_server_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        load_settings({}).pg_dsn_for("risk")
    with pytest.raises(ConfigError):
        with_database("mysql://x/y", "z")


def test_unknown_service_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        load_settings({}).port("nope")


def test_with_infra_fills_only_missing_urls() -> None:
    settings = load_settings({"NEXUS_REDIS_URL": "redis://r"}).with_infra(
        kafka_bootstrap="k:1", pg_dsn="postgresql://p/q", redis_url=None
    )
    assert (settings.kafka_bootstrap, settings.pg_dsn, settings.redis_url) == (
        "k:1",
        "postgresql://p/q",
        "redis://r",
    )


# -- the development JWT secret (issue 18.2) ---------------------------------------------------
def test_default_secret_is_refused_when_the_service_listens_beyond_loopback() -> None:
    with pytest.raises(ConfigError, match="NEXUS_JWT_SECRET"):
        load_settings({"NEXUS_HOST": "0.0.0.0"}, check_secret=True)


def test_default_secret_is_refused_with_infrastructure_on_other_hosts() -> None:
    for env in (
        {"NEXUS_KAFKA_BOOTSTRAP": "kafka:9092"},
        {"NEXUS_PG_DSN": "postgresql://nexus:nexus@postgres:5432/nexus"},
        {"NEXUS_REDIS_URL": "redis://redis:6379/0"},
        {"CONSUL_HTTP_ADDR": "http://consul:8500"},
    ):
        with pytest.raises(ConfigError):
            load_settings(env, check_secret=True)


def test_the_compose_files_old_default_is_refused_too() -> None:
    env = {"NEXUS_HOST": "0.0.0.0", "NEXUS_JWT_SECRET": "change-me-in-production-32-bytes!!"}
    with pytest.raises(ConfigError):
        load_settings(env, check_secret=True)


def test_own_secret_starts_anywhere_and_default_starts_on_loopback() -> None:
    own = load_settings(
        {"NEXUS_HOST": "0.0.0.0", "NEXUS_JWT_SECRET": "s3cr3t-of-our-own-0123456789abcdef"},
        check_secret=True,
    )
    assert own.jwt_secret.startswith("s3cr3t")
    local = load_settings(
        {
            "NEXUS_KAFKA_BOOTSTRAP": "127.0.0.1:9092",
            "NEXUS_PG_DSN": "postgresql://postgres:@/postgres?host=/tmp/pg",
            "NEXUS_REDIS_URL": "redis://localhost:6379/0",
        },
        check_secret=True,
    )
    assert local.jwt_secret == DEV_JWT_SECRET


def test_process_environment_is_checked_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEXUS_HOST", "0.0.0.0")
    monkeypatch.delenv("NEXUS_JWT_SECRET", raising=False)
    with pytest.raises(ConfigError):
        load_settings()
