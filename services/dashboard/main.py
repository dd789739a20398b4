"""Run the web dashboard: ``python -m services.dashboard.main``.

Serves the built page (``services/dashboard/web/dist``, made by ``make dashboard``) and proxies
``/api/<service>/...`` and ``/ws/<service>/...`` to the services, so the browser needs one origin
and no CORS. Development sign-in (tokens for any role) is on only with the development secret.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from nexus.config import Settings, load_settings
from nexus.web import Authenticator, ServiceApp, configure_logging, create_app, serve
from services.dashboard.api import routes
from services.dashboard.core import UPSTREAMS

NAME = "dashboard"
DIST = Path(__file__).parent / "web" / "dist"
UPSTREAM_TIMEOUT = httpx.Timeout(10.0, connect=2.0, read=None)


def dev_sign_in_enabled(settings: Settings) -> bool:
    """Development tokens are offered only while the published development secret is in use."""
    return settings.jwt_secret == Settings().jwt_secret


def build(settings: Settings, dist: Path = DIST) -> tuple[ServiceApp, httpx.AsyncClient]:
    """The dashboard app and the HTTP client it forwards with (closed at shutdown)."""
    client = httpx.AsyncClient(timeout=UPSTREAM_TIMEOUT, limits=httpx.Limits(max_connections=64))
    authenticator = Authenticator(settings)
    app = create_app(
        NAME,
        routes(
            dist=dist,
            client=client,
            url_of=settings.service_url,
            authenticator=authenticator,
            dev_sign_in=dev_sign_in_enabled(settings),
            services=sorted(UPSTREAMS),
        ),
        settings,
        authenticator=authenticator,
        on_shutdown=[client.aclose],
    )
    return app, client


def main() -> None:
    """Entry point."""
    settings = load_settings()
    configure_logging(settings.log_level)
    serve(build(settings)[0], settings.host, settings.port(NAME))


if __name__ == "__main__":
    main()
