"""Bearer API keys (PREDICTOR_API_KEYS), compared in constant time; keys are never logged, only their id."""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import Depends, Request

from services.predictor.errors import ApiError


def key_id(key: str) -> str:
    """A short, non-reversible name for a key, for audit records and logs."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


class ApiKeyGuard:
    """Open when no keys are configured; otherwise `Authorization: Bearer <key>` must match one."""

    def __init__(self, keys: list[str]) -> None:
        self._keys = [(key.encode(), key_id(key)) for key in keys]

    def check(self, authorization: str | None) -> str | None:
        """Return the caller's key id (None when auth is off); raise 401 otherwise."""
        if not self._keys:
            return None
        scheme, _, presented = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not presented:
            raise ApiError(401, "unauthorized", "missing bearer API key", headers={"WWW-Authenticate": "Bearer"})
        candidate = presented.strip().encode()
        matched: str | None = None
        for key, identity in self._keys:  # no early exit: timing does not reveal which key matched
            if hmac.compare_digest(candidate, key):
                matched = identity
        if matched is None:
            raise ApiError(401, "unauthorized", "invalid API key", headers={"WWW-Authenticate": "Bearer"})
        return matched


def authenticate(request: Request) -> str | None:
    """The caller's key id, or 401; used directly on hot routes and as a dependency elsewhere."""
    guard: ApiKeyGuard = request.app.state.guard
    return guard.check(request.headers.get("authorization"))


async def require_api_key(request: Request) -> str | None:
    return authenticate(request)


ApiKeyDep = Annotated[str | None, Depends(require_api_key)]
