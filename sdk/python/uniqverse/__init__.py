"""uniqverse: what a VEZE service needs from the UniQVerse hub (docs/integrating.md, "SDKs").

Pure Python 3 with PyJWT and httpx (Debian: python3-jwt, python3-httpx).
"""

from ._http import HubError, discover
from .credentials import (
    ACCESS_TOKEN_TYPE,
    TOKEN_EXCHANGE_GRANT,
    ServiceCredentials,
    basic_authorization,
    client_credentials_token,
    exchange_token,
)
from .events import StreamRevoked, follow_events, hub_resource, post_event
from .tokens import InvalidServiceToken, bearer_token, verify_service_token
from .webhooks import WebhookVerificationError, verify_webhook

__all__ = [
    "ACCESS_TOKEN_TYPE",
    "TOKEN_EXCHANGE_GRANT",
    "HubError",
    "InvalidServiceToken",
    "ServiceCredentials",
    "StreamRevoked",
    "WebhookVerificationError",
    "basic_authorization",
    "bearer_token",
    "client_credentials_token",
    "discover",
    "exchange_token",
    "follow_events",
    "hub_resource",
    "post_event",
    "verify_service_token",
    "verify_webhook",
]
