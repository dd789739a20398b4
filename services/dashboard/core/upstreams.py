"""Where the dashboard's ``/api/<service>/<path>`` requests go, and which headers cross.

The browser talks to one origin (the dashboard); the dashboard forwards each API call to the
service that owns it, unchanged, bearer token included. The services enforce roles and
ownership: the dashboard holds no page logic the APIs should hold and grants nothing itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from nexus.errors import ValidationError

#: Services a browser may reach through the dashboard (never the venues' FIX ports).
UPSTREAMS: frozenset[str] = frozenset(
    {"matching", "orders", "risk", "marketdata", "analytics", "surveillance", "routing"}
)

#: Request headers forwarded upstream (everything else, cookies included, stays here).
_REQUEST_HEADERS = frozenset({"authorization", "content-type", "accept", "x-request-id"})
#: Response headers passed back to the browser.
_RESPONSE_HEADERS = frozenset(
    {"content-type", "location", "x-request-id", "cache-control", "x-next-cursor", "link"}
)
_PATH = re.compile(r"^[A-Za-z0-9._~\-/{}:@%]*$")
_MAX_PATH = 512


class UnknownUpstreamError(ValidationError):
    """The proxied path names no service the dashboard forwards to, or is malformed."""


@dataclass(frozen=True, slots=True)
class ProxyTarget:
    """One forwarded call: the service and the path (with its query) on it."""

    service: str
    path: str


def resolve(service: str, path: str, query: str = "") -> ProxyTarget:
    """The upstream call of ``/api/<service>/<path>?<query>``.

    Raises :class:`UnknownUpstreamError` for an unknown service, a path with ``..`` segments,
    control characters or over :data:`_MAX_PATH` characters.
    """
    if service not in UPSTREAMS:
        allowed = ", ".join(sorted(UPSTREAMS))
        raise UnknownUpstreamError(f"unknown service {service[:64]!r}; one of: {allowed}")
    if len(path) > _MAX_PATH or not _PATH.fullmatch(path):
        raise UnknownUpstreamError("path has characters or a length the dashboard does not forward")
    segments = [s for s in path.split("/") if s]
    if any(s in {".", ".."} for s in segments):
        raise UnknownUpstreamError("path may not contain '.' or '..' segments")
    target = "/" + "/".join(segments)
    return ProxyTarget(service, f"{target}?{query}" if query else target)


def forwarded_request_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The browser's headers that go upstream (lower-cased names)."""
    return {k.lower(): v for k, v in headers.items() if k.lower() in _REQUEST_HEADERS}


def forwarded_response_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The upstream's headers that go back to the browser (lower-cased names)."""
    return {k.lower(): v for k, v in headers if k.lower() in _RESPONSE_HEADERS}
