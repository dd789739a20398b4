"""Bearer authentication: JWTs and API keys, roles."""

from __future__ import annotations

import jwt
import pytest

from nexus.config import ApiKey, Settings
from nexus.web import ADMIN, COMPLIANCE, TRADER, Authenticator, Principal, require_roles
from nexus.web.problems import Forbidden, Unauthorized

SETTINGS = Settings(
    jwt_secret="unit-secret-0123456789abcdef0123456789",
    api_keys=(ApiKey("k-123", "auditor", frozenset({COMPLIANCE})),),
)
NOW = 1_700_000_000.0


def test_valid_jwt_yields_subject_and_roles() -> None:
    auth = Authenticator(SETTINGS)
    token = auth.issue_token("u1", [TRADER])
    principal = auth.authenticate(f"Bearer {token}")
    assert principal == Principal("u1", frozenset({TRADER}), "jwt")


def test_expired_jwt_is_unauthorized_with_invalid_token_challenge() -> None:
    auth = Authenticator(SETTINGS)
    token = auth.issue_token("u1", [TRADER], ttl_seconds=60, now=NOW)
    with pytest.raises(Unauthorized) as info:
        auth.authenticate(f"Bearer {token}")
    assert "expired" in (info.value.description or "")
    assert 'error="invalid_token"' in (info.value.headers or {})["WWW-Authenticate"]


def test_jwt_signed_with_other_secret_is_unauthorized() -> None:
    forged = Authenticator(Settings(jwt_secret="another-secret-0123456789abcdef0123"))
    token = forged.issue_token("u1", [ADMIN])
    with pytest.raises(Unauthorized):
        Authenticator(SETTINGS).authenticate(f"Bearer {token}")


def test_jwt_without_exp_is_unauthorized() -> None:
    token = jwt.encode({"sub": "u1", "roles": []}, SETTINGS.jwt_secret, algorithm="HS256")
    with pytest.raises(Unauthorized):
        Authenticator(SETTINGS).authenticate(f"Bearer {token}")


def test_jwt_with_malformed_roles_is_unauthorized() -> None:
    claims = {"sub": "u1", "roles": "admin", "exp": 4_000_000_000}
    token = jwt.encode(claims, SETTINGS.jwt_secret, algorithm="HS256")
    with pytest.raises(Unauthorized):
        Authenticator(SETTINGS).authenticate(f"Bearer {token}")


def test_none_algorithm_jwt_is_unauthorized() -> None:
    token = jwt.encode({"sub": "u1", "roles": [ADMIN], "exp": 4_000_000_000}, None, "none")
    with pytest.raises(Unauthorized):
        Authenticator(SETTINGS).authenticate(f"Bearer {token}")


def test_api_key_yields_its_subject_and_roles() -> None:
    principal = Authenticator(SETTINGS).authenticate("Bearer k-123")
    assert principal == Principal("auditor", frozenset({COMPLIANCE}), "api_key")


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer ", "Token k-123"])
def test_missing_or_non_bearer_header_is_unauthorized(header: str | None) -> None:
    with pytest.raises(Unauthorized) as info:
        Authenticator(SETTINGS).authenticate(header)
    assert (info.value.headers or {})["WWW-Authenticate"].startswith("Bearer")


def test_missing_role_is_forbidden_and_admin_has_every_role() -> None:
    with pytest.raises(Forbidden):
        require_roles(Principal("u1", frozenset({TRADER})), {COMPLIANCE})
    require_roles(Principal("root", frozenset({ADMIN})), {COMPLIANCE})


def test_cache_never_serves_a_token_past_its_expiry(monkeypatch: pytest.MonkeyPatch) -> None:
    import nexus.web.auth as auth_module

    clock = {"now": auth_module.time.time()}
    monkeypatch.setattr(auth_module.time, "time", lambda: clock["now"])
    authenticator = auth_module.Authenticator(Settings(), leeway_seconds=0.0)
    verifications: list[str] = []
    verify = authenticator._verify_jwt

    def counting(token: str) -> tuple[Principal, float]:
        verifications.append(token)
        return verify(token)

    monkeypatch.setattr(authenticator, "_verify_jwt", counting)
    header = "Bearer " + authenticator.issue_token("alice", ["trader"], ttl_seconds=60)
    assert authenticator.authenticate(header).subject == "alice"
    assert authenticator.authenticate(header).subject == "alice"
    assert len(verifications) == 1  # the second request was served from the cache
    clock["now"] += 61
    authenticator.authenticate(header)  # PyJWT's own clock still says valid; the cache does not
    assert len(verifications) == 2  # past exp, the cache let go and the signature was re-checked


def test_token_cache_is_bounded() -> None:
    from nexus.web.auth import Authenticator

    authenticator = Authenticator(Settings(), cache_size=2)
    for user in ("a", "b", "c"):
        authenticator.authenticate("Bearer " + authenticator.issue_token(user, ["trader"]))
    assert len(authenticator._verified) == 2
