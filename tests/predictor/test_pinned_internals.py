"""Trip wires for the four places the predictor leans on a library's internals (each measured to be worth
it: CLAUDE.md, "The custom layers"). Each test fingerprints the upstream code the layer relies on, as
pinned in constraints.txt. An upgrade that changes it fails here, naming the layer, before anything
breaks in production: re-run that layer's own tests and its bench, then record the new fingerprint."""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable
from typing import Any

import fastapi
import pytest
from prometheus_client import metrics, values
from uvicorn.protocols.http import httptools_impl

RELIED_ON: dict[str, tuple[Callable[..., Any], str, str]] = {
    # http/protocol.py: holds the head until the first body chunk (uvicorn writes head and body apart)
    "HttpToolsProtocol.connection_made": (
        httptools_impl.HttpToolsProtocol.connection_made,
        "6efb565ff3d36b91",
        "tests/predictor/http/test_protocol.py, bench/compare_workers.py",
    ),
    "HttpToolsProtocol.on_response_complete": (
        httptools_impl.HttpToolsProtocol.on_response_complete,
        "64e254f28e389e76",
        "tests/predictor/http/test_protocol.py",
    ),
    "HttpToolsProtocol.handle_websocket_upgrade": (
        httptools_impl.HttpToolsProtocol.handle_websocket_upgrade,
        "179c4f769386ab89",
        "tests/predictor/http/test_protocol.py",
    ),
    "RequestResponseCycle.send": (
        httptools_impl.RequestResponseCycle.send,
        "abdd8601b326a8da",
        "tests/predictor/http/test_protocol.py",
    ),
    # app.py PredictorAPI: the request context and the scoring routes outside FastAPI's own layers
    "FastAPI.build_middleware_stack": (
        fastapi.FastAPI.build_middleware_stack,
        "4d76b65957b20f90",
        "tests/predictor/test_faults.py, bench/compare_commits.py",
    ),
    # telemetry/metric_buffer.py: swaps values.ValueClass, read at each metric's creation
    "values.get_value_class": (values.get_value_class, "7de1718faa6ecfe2", "tests/predictor/telemetry/test_metrics.py"),
    "Counter._metric_init": (metrics.Counter._metric_init, "17b9d10bf21b912c", "tests/predictor/telemetry"),
    # telemetry/metrics.py: a batch's probabilities binned locally into the histogram's _buckets and _sum
    "Histogram._metric_init": (metrics.Histogram._metric_init, "61aeac1b768d4786", "tests/predictor/telemetry"),
    "Histogram.observe": (metrics.Histogram.observe, "38beca3be1d1595b", "tests/predictor/telemetry"),
}


def fingerprint(function: Callable[..., Any]) -> str:
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()[:16]


@pytest.mark.parametrize("name", sorted(RELIED_ON))
def test_the_library_code_a_custom_layer_relies_on_is_what_it_was_measured_against(name: str) -> None:
    function, expected, recheck = RELIED_ON[name]
    found = fingerprint(function)
    assert found == expected, (
        f"{name} changed upstream ({expected} -> {found}): the layer relying on it may now be wrong. "
        f"Re-run {recheck}; if they pass, record {found} here."
    )
