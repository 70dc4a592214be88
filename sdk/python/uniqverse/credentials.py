"""A service's web client at the hub, and the tokens it gets with it."""

from __future__ import annotations

import base64
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple
from urllib.parse import quote

import httpx

from ._http import HubError, discover, response_body


@dataclass
class ServiceCredentials:
    """A web client of your service (`uniqverse clients create --type web`): its id and secret."""

    issuer: str
    client_id: str
    client_secret: str
    #: Overrides the token endpoint discovery finds.
    token_endpoint: Optional[str] = None
    #: The HTTP client to use (default: one of the helpers' own).
    http: Optional[httpx.Client] = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.issuer = self.issuer.rstrip("/")

    def client(self) -> httpx.Client:
        if self.http is None:
            self.http = httpx.Client(timeout=10)
        return self.http


def basic_authorization(client_id: str, client_secret: str) -> str:
    """HTTP Basic for client_secret_basic: id and secret form-encoded first (RFC 6749, section 2.3.1)."""
    encode = lambda value: quote(value, safe="").replace("%20", "+")  # noqa: E731
    pair = f"{encode(client_id)}:{encode(client_secret)}".encode("utf-8")
    return "Basic " + base64.b64encode(pair).decode("ascii")


def token_request(credentials: ServiceCredentials, form: Dict[str, str], what: str) -> Dict[str, Any]:
    """POSTs a form to the hub's token endpoint as the client; the answer, or HubError."""
    client = credentials.client()
    endpoint = credentials.token_endpoint or discover(credentials.issuer, client)["token_endpoint"]
    response = client.post(
        endpoint,
        data=form,
        headers={"authorization": basic_authorization(credentials.client_id, credentials.client_secret), "accept": "application/json"},
    )
    if response.status_code != 200:
        raise HubError(response.status_code, response_body(response), what)
    return response.json()


_cache: Dict[Tuple[str, str, str, str], Tuple[str, float]] = {}
_cache_lock = threading.Lock()
#: A token is used until this long before it expires, so it does not run out on the way.
_EARLY_SECONDS = 30


def client_credentials_token(credentials: ServiceCredentials, resource: str, scope: str) -> str:
    """A client-credentials access token for `resource` and `scope`, cached until shortly before it expires."""
    key = (credentials.issuer, credentials.client_id, resource, scope)
    with _cache_lock:
        cached = _cache.get(key)
        if cached and cached[1] - _EARLY_SECONDS > time.time():
            return cached[0]
    answer = token_request(credentials, {"grant_type": "client_credentials", "resource": resource, "scope": scope}, "Client credentials")
    token = answer["access_token"]
    with _cache_lock:
        _cache[key] = (token, time.time() + float(answer.get("expires_in", 60)))
    return token


def forget_client_credentials_token(credentials: ServiceCredentials, resource: str, scope: str) -> None:
    with _cache_lock:
        _cache.pop((credentials.issuer, credentials.client_id, resource, scope), None)


TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"


def exchange_token(credentials: ServiceCredentials, subject_token: str, resource: str, scope: Optional[str] = None) -> Dict[str, Any]:
    """
    RFC 8693 token exchange at the hub's token endpoint, as your web client: trades a person's
    access token for one made for another service's resource, to call that service for them.
    Returns the token response (`access_token`, `issued_token_type`, `expires_in`, `scope`).
    """
    form = {
        "grant_type": TOKEN_EXCHANGE_GRANT,
        "subject_token": subject_token,
        "subject_token_type": ACCESS_TOKEN_TYPE,
        "resource": resource,
    }
    if scope:
        form["scope"] = scope
    return token_request(credentials, form, "Token exchange")
