"""Is a webhook delivery from Jira or Linear genuine, and recent? (pure functions)

Both trackers sign the raw request body with HMAC-SHA256 and the secret set when the webhook
was registered; the check runs on the bytes as received, before any JSON parsing (a body
parsed and dumped again would not hash the same).

- Jira Cloud (webhooks with a secret, since 2024): header `X-Hub-Signature: sha256=<hex>`;
  the delivery's id is in `X-Atlassian-Webhook-Identifier`, its time in the payload's
  `timestamp` (milliseconds since the epoch).
- Linear (https://linear.app/developers/webhooks, "Securing webhooks"; its SDK's
  LinearWebhookClient.verify): header `Linear-Signature: <hex>`, no prefix; the delivery's id
  is in `Linear-Delivery`, its time in the payload's `webhookTimestamp` (milliseconds). Linear
  suggests refusing deliveries more than a minute old; `fresh` takes the tolerance.

The digests are compared in constant time (hmac.compare_digest): timing tells a forger
nothing. An empty secret accepts nothing: a webhook without one is not trusted.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

JIRA_SIGNATURE_HEADER = "X-Hub-Signature"
JIRA_DELIVERY_HEADER = "X-Atlassian-Webhook-Identifier"
LINEAR_SIGNATURE_HEADER = "Linear-Signature"
LINEAR_DELIVERY_HEADER = "Linear-Delivery"
LINEAR_EVENT_HEADER = "Linear-Event"
_JIRA_PREFIX = "sha256="


def _digest(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def sign_jira(secret: str, body: bytes) -> str:
    """The `X-Hub-Signature` value Jira sends with `body`."""
    return _JIRA_PREFIX + _digest(secret, body)


def sign_linear(secret: str, body: bytes) -> str:
    """The `Linear-Signature` value Linear sends with `body`."""
    return _digest(secret, body)


def jira_signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """`header` (X-Hub-Signature) is "sha256=" and the HMAC-SHA256 of `body` under `secret`."""
    if not secret or not header:
        return False
    method, _, given = header.strip().partition("=")
    if method.lower() != "sha256" or not given:
        return False
    return hmac.compare_digest(given.lower().encode(), _digest(secret, body).encode())


def linear_signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """`header` (Linear-Signature) is the hex HMAC-SHA256 of `body` under `secret`."""
    if not secret or not header:
        return False
    return hmac.compare_digest(header.strip().lower().encode(), _digest(secret, body).encode())


def fresh(
    timestamp_ms: int | None, now: datetime, tolerance: timedelta = timedelta(minutes=5)
) -> bool:
    """The delivery was sent within `tolerance` of `now` (either side: clocks drift): a
    replayed old delivery, even correctly signed, is refused. No timestamp: not fresh."""
    if timestamp_ms is None or isinstance(timestamp_ms, bool) or not isinstance(timestamp_ms, int):
        return False
    try:
        sent = datetime.fromtimestamp(timestamp_ms / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return False
    return abs(now - sent) <= tolerance
