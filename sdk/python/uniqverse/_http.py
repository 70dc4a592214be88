"""The hub's metadata (discovery), errors, and the HTTP client the helpers share."""

from __future__ import annotations

import threading
from typing import Any, Dict, Optional

import httpx


class HubError(Exception):
    """The hub refused a request: the HTTP status and its problem JSON or OAuth error."""

    def __init__(self, status: int, body: Any, what: str) -> None:
        record = body if isinstance(body, dict) else {}
        self.status = status
        self.code: Optional[str] = record.get("title") or record.get("error")
        self.body = body
        detail = record.get("detail") or record.get("error_description")
        message = f"{what}: the hub answered {status}"
        if self.code:
            message += f" {self.code}"
        if detail:
            message += f": {detail}"
        super().__init__(message)


def response_body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


_metadata: Dict[str, Dict[str, Any]] = {}
_metadata_lock = threading.Lock()


def discover(issuer: str, http: Optional[httpx.Client] = None) -> Dict[str, Any]:
    """`<issuer>/.well-known/openid-configuration`, fetched once per issuer (again after a failure)."""
    issuer = issuer.rstrip("/")
    with _metadata_lock:
        if issuer in _metadata:
            return _metadata[issuer]
    client = http or httpx.Client(timeout=10)
    try:
        response = client.get(f"{issuer}/.well-known/openid-configuration", headers={"accept": "application/json"})
    finally:
        if http is None:
            client.close()
    if response.status_code != 200:
        raise HubError(response.status_code, response_body(response), "Discovery")
    metadata = response.json()
    if metadata.get("issuer") != issuer:
        raise HubError(response.status_code, metadata, f"Discovery: the hub calls itself {metadata.get('issuer')}, not {issuer}")
    with _metadata_lock:
        _metadata[issuer] = metadata
    return metadata
