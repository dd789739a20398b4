"""The dashboard's pure parts: which upstream a proxied path goes to, what headers pass."""

from services.dashboard.core.upstreams import (
    UPSTREAMS,
    ProxyTarget,
    UnknownUpstreamError,
    forwarded_request_headers,
    forwarded_response_headers,
    resolve,
)

__all__ = [
    "UPSTREAMS",
    "ProxyTarget",
    "UnknownUpstreamError",
    "forwarded_request_headers",
    "forwarded_response_headers",
    "resolve",
]
