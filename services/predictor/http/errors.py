"""Every error the predictor answers is JSON: code, message, request id, and the offending fields."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from services.predictor.audit.backend import AuditStoreError

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error with its HTTP status, a stable code, a sentence for people, and optional details."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        detail: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.detail = detail or []
        self.headers = headers or {}


def request_id_of(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", ""))


def error_response(
    request: Request,
    status: int,
    code: str,
    message: str,
    detail: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The one JSON error shape: {"error", "message", "request_id", "detail"}."""
    body = {"error": code, "message": message, "request_id": request_id_of(request), "detail": detail or []}
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


def api_error_response(request: Request, error: ApiError) -> Response:
    return error_response(request, error.status, error.code, error.message, error.detail, error.headers)


def unexpected_error_response(request: Request) -> Response:
    """A bug's 500, still in the one shape; called inside the `except` so the traceback is logged."""
    log.exception("unhandled error", extra={"request_id": request_id_of(request)})
    return error_response(request, 500, "internal_error", "unexpected error; see the server log for this request id")


def invalid_input(message: str, detail: list[dict[str, Any]]) -> ApiError:
    """The one 422: what is wrong in words, and each offending field with the rule it broke (`loc`, `field`,
    `rule`, `msg`, and `index`/`input` where known)."""
    return ApiError(422, "validation_error", message, detail)


def audit_unavailable(error: AuditStoreError) -> ApiError:
    """The one answer to an audit log that cannot do what a request needs now (down, full, backlogged)."""
    return ApiError(503, "audit_unavailable", f"the audit log cannot answer now: {error}")


def install_error_handlers(app: FastAPI) -> None:
    """Map every exception to one JSON shape, once, here."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, error: ApiError) -> Response:
        return api_error_response(request, error)

    @app.exception_handler(AuditStoreError)
    async def _audit_error(request: Request, error: AuditStoreError) -> Response:
        return api_error_response(request, audit_unavailable(error))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, error: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        return error_response(request, error.status_code, code, str(error.detail), headers=error.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, error: RequestValidationError) -> Response:
        detail = [
            {
                "loc": list(e["loc"]),
                "field": str(e["loc"][-1]) if e["loc"] else "request",
                "rule": e["type"],
                "msg": e["msg"],
            }
            for e in error.errors()
        ]
        return api_error_response(request, invalid_input("the request is invalid", detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> Response:
        return unexpected_error_response(request)
