"""The scoring routes served from the ASGI layer are taken from the router's own declarations: nothing is
written twice, so a route added to or renamed in `routes/predict.py` is served and documented alike."""

from __future__ import annotations

from fastapi.routing import APIRoute

from services.predictor.http.hot_routes import hot_routes
from services.predictor.routes import predict


def test_the_hot_routes_are_exactly_the_declared_post_routes_of_the_scoring_router() -> None:
    declared = {
        route.path: route.endpoint
        for route in predict.router.routes
        if isinstance(route, APIRoute) and "POST" in (route.methods or ())
    }
    assert (
        hot_routes(predict.router) == declared == {"/predict": predict.predict, "/predict/batch": predict.predict_batch}
    )
