"""Bearer authentication (HS256 JWTs or static API keys), role checks and data ownership.

Token claims: ``sub`` (the user id), ``roles`` (list of strings), ``exp`` (required).
Roles: ``trader``, ``compliance``, ``risk``, ``admin`` and ``service`` (service-to-service).
``admin`` satisfies every role requirement. A missing or invalid token is a 401 with a
``WWW-Authenticate: Bearer`` challenge; a valid token lacking the role is a 403.
A trader may read only their own user's data (:func:`authorize_user`); the other roles may
read any user's data.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections import OrderedDict
from collections.abc import Iterable

import falcon.asgi
import jwt
import msgspec

from nexus.config import Settings
from nexus.web.problems import Forbidden, Unauthorized

TRADER = "trader"
COMPLIANCE = "compliance"
RISK = "risk"
ADMIN = "admin"
SERVICE = "service"

#: Roles allowed to read any user's data.
ALL_USERS_READERS: frozenset[str] = frozenset({COMPLIANCE, RISK, ADMIN, SERVICE})

JWT_ALGORITHM = "HS256"


class Principal(msgspec.Struct, frozen=True):
    """Who is calling: ``subject`` (user or service id), ``roles``, and how they proved it."""

    subject: str
    roles: frozenset[str]
    scheme: str = "jwt"

    def has_any(self, roles: Iterable[str]) -> bool:
        """True if the principal holds one of ``roles`` (``admin`` holds all)."""
        return ADMIN in self.roles or not self.roles.isdisjoint(roles)


class Authenticator:
    """Verifies bearer credentials against ``Settings.jwt_secret`` and ``Settings.api_keys``.

    ``leeway_seconds`` tolerates clock skew between the issuing and the verifying host when
    checking ``exp``/``iat``.
    """

    def __init__(
        self, settings: Settings, *, leeway_seconds: float = 5.0, cache_size: int = 4096
    ) -> None:
        self._secret = settings.jwt_secret
        self._leeway = leeway_seconds
        # Verified tokens -> (principal, exp): a client sends the same token on every request,
        # and the HMAC check plus claim parsing was a third of a small request's CPU.
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self._cache_size = cache_size
        self._api_keys = {
            hashlib.sha256(key.key.encode()).digest(): Principal(
                subject=key.subject, roles=key.roles, scheme="api_key"
            )
            for key in settings.api_keys
        }

    def authenticate(self, authorization: str | None) -> Principal:
        """The principal of an ``Authorization`` header value; raises :class:`Unauthorized`."""
        if not authorization:
            raise Unauthorized("a bearer token is required")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("use the Bearer authorization scheme", error="invalid_request")
        by_key = self._api_key(token)
        if by_key is not None:
            return by_key
        return self._jwt(token)

    def issue_token(
        self,
        subject: str,
        roles: Iterable[str],
        *,
        ttl_seconds: float = 3600.0,
        now: float | None = None,
    ) -> str:
        """A signed HS256 JWT for ``subject`` (dev tools, tests, service-to-service calls)."""
        issued = time.time() if now is None else now
        claims = {
            "sub": subject,
            "roles": sorted(roles),
            "iat": int(issued),
            "exp": int(issued + ttl_seconds),
        }
        return jwt.encode(claims, self._secret, algorithm=JWT_ALGORITHM)

    def _api_key(self, token: str) -> Principal | None:
        digest = hashlib.sha256(token.encode()).digest()
        for known, principal in self._api_keys.items():
            if hmac.compare_digest(known, digest):
                return principal
        return None

    def _jwt(self, token: str) -> Principal:
        cached = self._verified.get(token)
        if cached is not None:
            principal, expires = cached
            if time.time() < expires + self._leeway:
                self._verified.move_to_end(token)
                return principal
            del self._verified[token]
        principal, expires = self._verify_jwt(token)
        self._verified[token] = (principal, expires)
        if len(self._verified) > self._cache_size:
            self._verified.popitem(last=False)
        return principal

    def _verify_jwt(self, token: str) -> tuple[Principal, float]:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[JWT_ALGORITHM],
                options={"require": ["exp", "sub"]},
                leeway=self._leeway,
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the token has expired", error="invalid_token") from None
        except jwt.InvalidTokenError:
            raise Unauthorized("the token is invalid", error="invalid_token") from None
        subject = claims.get("sub")
        roles = claims.get("roles", [])
        if not isinstance(subject, str) or not subject:
            raise Unauthorized("the token has no subject", error="invalid_token")
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise Unauthorized("the token's roles claim is malformed", error="invalid_token")
        return Principal(subject=subject, roles=frozenset(roles), scheme="jwt"), float(
            claims["exp"]
        )


def principal_of(req: falcon.asgi.Request) -> Principal:
    """The authenticated principal of ``req`` (401 if the route was public)."""
    principal = getattr(req.context, "principal", None)
    if not isinstance(principal, Principal):
        raise Unauthorized("a bearer token is required")
    return principal


def require_roles(principal: Principal, roles: Iterable[str]) -> None:
    """Raise 403 unless ``principal`` holds one of ``roles``."""
    wanted = frozenset(roles)
    if wanted and not principal.has_any(wanted):
        raise Forbidden(f"requires one of the roles: {', '.join(sorted(wanted))}")


def authorize_user(req: falcon.asgi.Request, user_id: str) -> Principal:
    """Allow reading ``user_id``'s data: its own user, or a role that reads all users; else 403."""
    principal = principal_of(req)
    if principal.subject == user_id or principal.has_any(ALL_USERS_READERS):
        return principal
    raise Forbidden("a trader may only read their own user's data")


def scoped_user_filter(req: falcon.asgi.Request, requested: str | None) -> str | None:
    """Effective ``user_id`` filter of a listing: traders are pinned to their own user."""
    principal = principal_of(req)
    if principal.has_any(ALL_USERS_READERS):
        return requested
    if requested is not None and requested != principal.subject:
        raise Forbidden("a trader may only read their own user's data")
    return principal.subject
