"""MONITOR_ADMIN_TOKEN and MONITOR_PUSH_TOKEN checks: a bearer token, or the HTTP Basic password (any user
name), compared in constant time. No token configured means no one passes: the routes it guards are closed.
"""

from __future__ import annotations

import base64
import binascii
import hmac

from pydantic import SecretStr


def presented_token(authorization: str | None) -> str | None:
    """The secret in an Authorization header: `Bearer <token>` or `Basic base64(user:token)`."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return None


def is_admin(authorization: str | None, token: SecretStr | None) -> bool:
    presented = presented_token(authorization)
    if token is None or presented is None:
        return False
    return hmac.compare_digest(presented.encode(), token.get_secret_value().encode())


def is_bearer(authorization: str | None, query_token: str, token: SecretStr) -> bool:
    """A push check's caller: the token as a bearer header or as `?token=` (what a cron line can send)."""
    presented = presented_token(authorization) or query_token
    return bool(presented) and hmac.compare_digest(presented.encode(), token.get_secret_value().encode())
