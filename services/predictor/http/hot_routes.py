"""Serve the scoring routes straight from the ASGI layer: the same endpoint functions FastAPI documents, taken
from the same router declarations (`hot_routes`), minus its routing and dependency resolution (~40 us a
request, a quarter of a prediction's cost). Outside FastAPI's error layer too (app.py), so an unexpected error
is answered here, in the same shape."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from services.predictor.audit.backend import AuditStoreError
from services.predictor.http.errors import ApiError, api_error_response, audit_unavailable, unexpected_error_response

Endpoint = Callable[[Request], Awaitable[Response]]


def hot_routes(router: APIRouter) -> dict[str, Endpoint]:
    """Every POST route the router declares (path and endpoint as FastAPI documents them): nothing written twice."""
    return {
        route.path: route.endpoint
        for route in router.routes
        if isinstance(route, APIRoute) and "POST" in (route.methods or ()) and "{" not in route.path
    }


class HotRoutes:
    """POST to one of `routes` calls its endpoint directly; everything else goes to the app."""

    def __init__(self, app: ASGIApp, routes: Mapping[str, Endpoint]) -> None:
        self.app, self.routes = app, routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = self.routes.get(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" else None
        if endpoint is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = await endpoint(request)
        except ApiError as error:
            response = api_error_response(request, error)
        except AuditStoreError as error:
            response = api_error_response(request, audit_unavailable(error))
        except ClientDisconnect:
            return  # gone, or its body passed the limit: the request context answers that
        except Exception:  # noqa: BLE001 - these routes sit outside FastAPI's error layer: answer as it would
            response = unexpected_error_response(request)
        await response(scope, receive, send)
