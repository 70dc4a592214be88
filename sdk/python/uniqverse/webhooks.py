"""Standard Webhooks (standardwebhooks.com) verification of the hub's deliveries."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from typing import Any, Dict, Mapping, Optional, Union


class WebhookVerificationError(Exception):
    """The delivery is not from the hub with this secret, or is too old or too new to accept."""


def _header(headers: Mapping[str, Any], name: str) -> Optional[str]:
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    if isinstance(value, (list, tuple)):
        value = " ".join(value)
    return value


def verify_webhook(
    headers: Mapping[str, Any],
    body: Union[bytes, str],
    secret: str,
    tolerance_seconds: int = 300,
    now: Optional[float] = None,
) -> Dict[str, Any]:
    """
    Verifies a delivery and returns the event it carries (the envelope of docs/events.md).
    `body` is the raw body as received, before any JSON parsing. The signature is an HMAC-SHA256
    of `{webhook-id}.{webhook-timestamp}.{body}` keyed with the base64 after "whsec_";
    webhook-signature may list several ("v1,<base64>" separated by spaces, while a secret rotates)
    and one good v1 is enough. Raises WebhookVerificationError otherwise.
    """
    webhook_id = _header(headers, "webhook-id")
    timestamp = _header(headers, "webhook-timestamp")
    signatures = _header(headers, "webhook-signature")
    if not webhook_id or not timestamp or not signatures:
        raise WebhookVerificationError("The delivery lacks a webhook-id, webhook-timestamp or webhook-signature header.")
    if not timestamp.isdigit():
        raise WebhookVerificationError("webhook-timestamp is not a number of seconds.")
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > tolerance_seconds:
        raise WebhookVerificationError("webhook-timestamp is too far from now: a replayed or delayed delivery.")

    raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    try:
        key = base64.b64decode(secret[len("whsec_"):] if secret.startswith("whsec_") else secret)
    except binascii.Error as error:
        raise WebhookVerificationError("The secret is not base64.") from error
    expected = hmac.new(key, f"{webhook_id}.{timestamp}.".encode("utf-8") + raw, hashlib.sha256).digest()
    for entry in signatures.split(" "):
        version, _, signature = entry.partition(",")
        if version != "v1":
            continue
        try:
            given = base64.b64decode(signature, validate=True)
        except binascii.Error:
            continue
        if hmac.compare_digest(given, expected):
            break
    else:
        raise WebhookVerificationError("No webhook-signature matches: wrong secret, or the body was changed.")

    try:
        event = json.loads(raw)
    except ValueError as error:
        raise WebhookVerificationError("The body is not JSON.") from error
    if not isinstance(event, dict) or event.get("id") != webhook_id:
        raise WebhookVerificationError("The body is another event than webhook-id names.")
    return event
