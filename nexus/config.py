"""Settings read from the environment, in one place; every variable is listed in the README.

Nothing else in the code base reads ``os.environ``. Services receive a :class:`Settings`.
Unset infrastructure URLs mean "start it embedded" (see :mod:`nexus.infra`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit, urlunsplit

from nexus.errors import ConfigError

#: The published development secret: anyone can mint tokens with it (``admin`` included), so it
#: is accepted only in the embedded development mode (:func:`is_local_development`).
DEV_JWT_SECRET = "nexus-dev-secret-change-me-32-bytes!"
#: Secrets known from this repository's history and docs, refused like the development one.
PUBLISHED_SECRETS = frozenset({DEV_JWT_SECRET, "change-me-in-production-32-bytes!!"})
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

#: Every service of the system and its default HTTP port on loopback.
SERVICE_PORTS: dict[str, int] = {
    "matching": 8101,
    "orders": 8102,
    "risk": 8103,
    "marketdata": 8104,
    "analytics": 8105,
    "surveillance": 8106,
    "routing": 8107,
    "dashboard": 8108,
}

#: Environment variables read by :func:`load_settings` (the README documents each).
ENV_VARS: tuple[str, ...] = (
    "NEXUS_KAFKA_BOOTSTRAP",
    "NEXUS_PG_DSN",
    "NEXUS_REDIS_URL",
    "CONSUL_HTTP_ADDR",
    "NEXUS_JWT_SECRET",
    "NEXUS_API_KEYS",
    "NEXUS_HOST",
    "NEXUS_ADVERTISE_HOST",
    "NEXUS_SERVICE_URLS",
    "NEXUS_LOG_LEVEL",
    "NEXUS_DATA_DIR",
    *(f"NEXUS_{name.upper()}_PORT" for name in SERVICE_PORTS),
    *(f"NEXUS_{name.upper()}_PG_DSN" for name in SERVICE_PORTS),
)


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A static API key: the bearer secret, its subject and its roles."""

    key: str
    subject: str
    roles: frozenset[str]


@dataclass(frozen=True, slots=True)
class Settings:
    """Resolved configuration of one process."""

    kafka_bootstrap: str | None = None
    pg_dsn: str | None = None
    redis_url: str | None = None
    consul_addr: str | None = None
    jwt_secret: str = DEV_JWT_SECRET
    api_keys: tuple[ApiKey, ...] = ()
    host: str = "127.0.0.1"
    advertise_host: str = "127.0.0.1"
    ports: Mapping[str, int] = field(default_factory=lambda: dict(SERVICE_PORTS))
    service_urls: Mapping[str, str] = field(default_factory=dict)
    service_pg_dsns: Mapping[str, str] = field(default_factory=dict)
    log_level: str = "INFO"
    data_dir: str = ".nexus"

    def port(self, service: str) -> int:
        """HTTP port of ``service``."""
        try:
            return self.ports[service]
        except KeyError:
            raise ConfigError(f"unknown service {service!r}") from None

    def service_url(self, service: str) -> str:
        """Static base URL of ``service`` (used when Consul is off)."""
        if service in self.service_urls:
            return self.service_urls[service]
        return f"http://{self.advertise_host}:{self.port(service)}"

    def pg_dsn_for(self, service: str) -> str:
        """DSN of ``service``'s own database: its override, else ``nexus_<service>`` on the server."""
        if service in self.service_pg_dsns:
            return self.service_pg_dsns[service]
        if self.pg_dsn is None:
            raise ConfigError("NEXUS_PG_DSN is not set and no embedded PostgreSQL was started")
        return with_database(self.pg_dsn, f"nexus_{service}")

    def with_infra(
        self, *, kafka_bootstrap: str | None, pg_dsn: str | None, redis_url: str | None
    ) -> Settings:
        """A copy with the infrastructure URLs filled in (by the embedded launcher)."""
        return replace(
            self,
            kafka_bootstrap=kafka_bootstrap or self.kafka_bootstrap,
            pg_dsn=pg_dsn or self.pg_dsn,
            redis_url=redis_url or self.redis_url,
        )


def _is_loopback(host: str | None) -> bool:
    return host is None or host in LOOPBACK_HOSTS or host.startswith("127.")


def _host_of(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url if "://" in url else f"tcp://{url.split(',')[0]}")
    return parts.hostname or None  # a Unix-socket DSN (no host) is local


def is_local_development(settings: Settings) -> bool:
    """The embedded development mode: the service listens and reaches everything on loopback.

    That is what ``make run``/``nexus up`` and the tests do; a stack reachable from other hosts
    (``NEXUS_HOST=0.0.0.0``, brokers or databases elsewhere, Consul) is not.
    """
    return (
        _is_loopback(settings.host)
        and settings.consul_addr is None
        and all(
            _is_loopback(_host_of(url))
            for url in (
                settings.kafka_bootstrap,
                settings.pg_dsn,
                settings.redis_url,
                *settings.service_pg_dsns.values(),
            )
        )
    )


def check_jwt_secret(settings: Settings) -> None:
    """Refuse a published JWT secret outside :func:`is_local_development` (:class:`ConfigError`)."""
    if settings.jwt_secret in PUBLISHED_SECRETS and not is_local_development(settings):
        raise ConfigError(
            "NEXUS_JWT_SECRET is unset or a published default: anyone could mint admin tokens. "
            "Set it to a secret of your own (e.g. `openssl rand -hex 32`); the default is "
            "accepted only when the service and its infrastructure are on loopback"
        )
    if not settings.jwt_secret:
        raise ConfigError("NEXUS_JWT_SECRET must not be empty")


def with_database(dsn: str, database: str) -> str:
    """``dsn`` pointing at ``database`` instead of its own."""
    parts = urlsplit(dsn)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ConfigError(f"not a PostgreSQL URL: {dsn!r}")
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


def _parse_api_keys(text: str) -> tuple[ApiKey, ...]:
    keys: list[ApiKey] = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        pieces = item.split(":")
        if len(pieces) != 3 or not all(pieces):
            raise ConfigError(f"NEXUS_API_KEYS entry must be key:subject:role|role, got {item!r}")
        key, subject, roles = pieces
        keys.append(ApiKey(key, subject, frozenset(roles.split("|"))))
    return tuple(keys)


def _parse_mapping(name: str, text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        service, sep, value = item.partition("=")
        if not sep or not service or not value:
            raise ConfigError(f"{name} entry must be service=value, got {item!r}")
        out[service] = value
    return out


def _port(name: str, text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise ConfigError(f"{name} must be an integer port, got {text!r}") from None
    if not 0 <= port <= 65535:
        raise ConfigError(f"{name} must be within 0..65535, got {port}")
    return port


def load_settings(
    env: Mapping[str, str] | None = None, *, check_secret: bool | None = None
) -> Settings:
    """Build :class:`Settings` from ``env`` (default: the process environment).

    Read from the process environment (what every service's ``main`` does), a published JWT
    secret outside the embedded development mode raises :class:`ConfigError`
    (:func:`check_jwt_secret`), so no service starts with it on a reachable stack;
    ``check_secret`` overrides that choice (an explicit ``env`` is not checked by default).
    """
    if check_secret is None:
        check_secret = env is None
    env = os.environ if env is None else env
    ports = dict(SERVICE_PORTS)
    pg_dsns: dict[str, str] = {}
    for service in SERVICE_PORTS:
        port_var = f"NEXUS_{service.upper()}_PORT"
        if env.get(port_var):
            ports[service] = _port(port_var, env[port_var])
        dsn_var = f"NEXUS_{service.upper()}_PG_DSN"
        if env.get(dsn_var):
            pg_dsns[service] = env[dsn_var]
    defaults = Settings()
    settings = Settings(
        kafka_bootstrap=env.get("NEXUS_KAFKA_BOOTSTRAP") or None,
        pg_dsn=env.get("NEXUS_PG_DSN") or None,
        redis_url=env.get("NEXUS_REDIS_URL") or None,
        consul_addr=env.get("CONSUL_HTTP_ADDR") or None,
        jwt_secret=env.get("NEXUS_JWT_SECRET") or defaults.jwt_secret,
        api_keys=_parse_api_keys(env.get("NEXUS_API_KEYS", "")),
        host=env.get("NEXUS_HOST") or defaults.host,
        advertise_host=env.get("NEXUS_ADVERTISE_HOST") or defaults.advertise_host,
        ports=ports,
        service_urls=_parse_mapping("NEXUS_SERVICE_URLS", env.get("NEXUS_SERVICE_URLS", "")),
        service_pg_dsns=pg_dsns,
        log_level=(env.get("NEXUS_LOG_LEVEL") or defaults.log_level).upper(),
        data_dir=env.get("NEXUS_DATA_DIR") or defaults.data_dir,
    )
    if check_secret:
        check_jwt_secret(settings)
    return settings
