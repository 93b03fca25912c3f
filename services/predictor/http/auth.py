"""Bearer API keys (PREDICTOR_API_KEYS), compared in constant time; keys are never logged, only their id."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import Annotated

from fastapi import Depends, Request

from services.predictor.http.errors import ApiError


def key_id(key: str) -> str:
    """A short, non-reversible name for a key, for audit records and logs."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


class ApiKeyGuard:
    """Scoring keys (PREDICTOR_API_KEYS) and admin keys (PREDICTOR_ADMIN_KEYS).

    No keys at all: open. Admin routes (reload, audit lookups, outcomes) take an admin key; a scoring key
    there is 403. Without admin keys, the scoring keys do both, as before roles existed."""

    def __init__(self, keys: list[str], admin_keys: list[str] | None = None) -> None:
        self._keys = [(key.encode(), key_id(key)) for key in keys]
        self._admin_keys = [(key.encode(), key_id(key)) for key in admin_keys or []]

    def check(self, authorization: str | None) -> str | None:
        """Return the caller's key id (None when auth is off); raise 401 otherwise. Admin keys score too."""
        if not self._keys and not self._admin_keys:
            return None
        return self._match(authorization, self._keys + self._admin_keys)

    def check_admin(self, authorization: str | None) -> str | None:
        """Like `check`, for admin routes: a valid scoring key gets 403 when admin keys are set."""
        if not self._admin_keys:
            return self.check(authorization)
        identity = self._match(authorization, self._keys + self._admin_keys)
        if identity not in {admin_id for _, admin_id in self._admin_keys}:
            raise ApiError(403, "forbidden", "this route needs an admin key (PREDICTOR_ADMIN_KEYS)")
        return identity

    def check_page(self, authorization: str | None) -> str | None:
        """For pages a person opens in a browser: a bearer key, or HTTP Basic with the key as password
        (any user name); a 401 makes the browser ask for it."""
        if not self._keys and not self._admin_keys:
            return None
        scheme, _, value = (authorization or "").partition(" ")
        if scheme.lower() == "basic":
            try:
                password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")[2]
            except (binascii.Error, UnicodeDecodeError):
                password = ""
            authorization = f"Bearer {password}" if password else None
        try:
            return self._match(authorization, self._keys + self._admin_keys)
        except ApiError as error:
            error.headers = {"WWW-Authenticate": 'Basic realm="churnguard weekly list", charset="UTF-8"'}
            raise

    @staticmethod
    def _match(authorization: str | None, keys: list[tuple[bytes, str]]) -> str:
        scheme, _, presented = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not presented:
            raise ApiError(401, "unauthorized", "missing bearer API key", headers={"WWW-Authenticate": "Bearer"})
        candidate = presented.strip().encode()
        matched: str | None = None
        for key, identity in keys:  # no early exit: timing does not reveal which key matched
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


async def require_admin_key(request: Request) -> str | None:
    guard: ApiKeyGuard = request.app.state.guard
    return guard.check_admin(request.headers.get("authorization"))


ApiKeyDep = Annotated[str | None, Depends(require_api_key)]
AdminKeyDep = Annotated[str | None, Depends(require_admin_key)]
