"""Offline checks of the access tokens the hub issues for a service (docs/integrating.md, section 3)."""

from __future__ import annotations

import threading
from typing import Any, Dict, Iterable, Optional

import jwt

from ._http import discover


class InvalidServiceToken(Exception):
    """The token is not one the service may accept: signature, issuer, audience, expiry, typ or scope."""


_key_sets: Dict[str, jwt.PyJWKClient] = {}
_key_sets_lock = threading.Lock()


def _key_set(jwks_uri: str) -> jwt.PyJWKClient:
    # One client per key set for the life of the process: it keeps the keys for ten minutes and
    # refetches when a token names a kid it does not have (keys rotate; never pin one).
    with _key_sets_lock:
        client = _key_sets.get(jwks_uri)
        if client is None:
            client = jwt.PyJWKClient(jwks_uri, cache_jwk_set=True, lifespan=600)
            _key_sets[jwks_uri] = client
        return client


def verify_service_token(token: str, issuer: str, audience: str, required_scopes: Iterable[str] = ()) -> Dict[str, Any]:
    """
    Verifies an access token the hub issued for your service, offline: ES256 signature against the
    hub's published keys, `typ: at+jwt`, issuer, audience (your resource, e.g.
    "urn:veze:service:vezepysports"), expiry. Returns its claims (`sub` is the person, `scope`,
    `entitlements`). Raises InvalidServiceToken when it does not hold.
    """
    issuer = issuer.rstrip("/")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as error:
        raise InvalidServiceToken(f"The access token is not a JWT: {error}") from error
    if str(header.get("typ", "")).lower() not in ("at+jwt", "application/at+jwt"):
        raise InvalidServiceToken("The token is not an access token (typ is not at+jwt).")
    if header.get("alg") != "ES256":
        raise InvalidServiceToken("The access token is not signed with ES256.")
    jwks_uri = discover(issuer)["jwks_uri"]
    try:
        key = _key_set(jwks_uri).get_signing_key_from_jwt(token)
        claims: Dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=["ES256"],
            audience=audience,
            issuer=issuer,
            options={"require": ["exp", "iat", "sub"]},
        )
    except (jwt.PyJWTError, jwt.PyJWKClientError) as error:
        raise InvalidServiceToken(f"The access token is not valid here: {error}") from error
    granted = set(str(claims.get("scope", "")).split())
    missing = [scope for scope in required_scopes if scope not in granted]
    if missing:
        raise InvalidServiceToken(f"The access token lacks the scope {', '.join(missing)}.")
    return claims


def bearer_token(authorization: Optional[str]) -> Optional[str]:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None
