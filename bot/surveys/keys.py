"""How a survey respondent is stored: their user id, or for anonymous rounds a keyed hash."""

from __future__ import annotations

import hashlib
import hmac


def respondent_key(user_id: str, round_id: int, *, anonymous: bool, secret: str) -> str:
    """How a respondent is stored: their user id, or for anonymous rounds the keyed hash."""
    if not anonymous:
        return user_id
    message = f"{round_id}:{user_id}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
