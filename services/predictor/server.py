"""`churnguard serve`: uvicorn with the predictor app factory, N workers, no per-request access log.

With several workers each listens on a socket of its own (SO_REUSEPORT), so the kernel spreads new
connections over them. On one shared socket the first worker to wake accepted every waiting connection:
with 8 keep-alive clients, 3 runs in 6 put all of them on one worker and the other sat idle.
"""

from __future__ import annotations

import os
import socket
import tempfile
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

from services.predictor.http.protocol import HeadWithBodyProtocol
from services.predictor.settings import PredictorSettings

APP = "services.predictor.app:app_from_environment"


def run_server(host: str | None, port: int | None, workers: int | None) -> None:
    """Serve until SIGTERM/SIGINT; uvicorn drains in-flight requests and runs the lifespan shutdown."""
    settings = PredictorSettings()
    options: dict[str, Any] = {
        "factory": True,
        "host": host or settings.host,
        "port": port or settings.port,
        "workers": workers or settings.workers,
        "access_log": False,  # 20-35% of throughput at these rates; errors are still logged as JSON
        "log_config": None,
        "timeout_graceful_shutdown": 10,
        "http": HeadWithBodyProtocol,  # one write per answer, not two (http_protocol.py)
        # Nothing here reads the client's address or scheme: X-Forwarded-* parsing would be a layer of work
        # on every request for nothing (and behind a load balancer it trusted only 127.0.0.1 anyway).
        "proxy_headers": False,
        "server_header": False,  # "server: uvicorn" tells a scanner what to try, and costs bytes on every answer
    }
    if options["workers"] == 1:
        uvicorn.run(APP, **options)
        return
    config = uvicorn.Config(APP, **options)
    if settings.prometheus_multiproc_dir is None:
        # Several workers: prometheus-client must share values through files (set before workers fork).
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="churnguard-metrics-")
    try:
        bound_socket(config.host, config.port).close()  # in use already? refuse, as one worker would
        reserved = bound_socket(config.host, config.port, PerWorkerSocket, reuse_port=True)
    except OSError as error:
        raise SystemExit(f"cannot serve on {config.host}:{config.port}: {error.strerror or error}") from error
    with reserved:
        Multiprocess(config, sockets=[reserved]).run()


def bound_socket(
    host: str, port: int, kind: type[socket.socket] = socket.socket, reuse_port: bool = False
) -> socket.socket:
    """A TCP socket bound to host:port. With `reuse_port`, other sockets of this user may bind it too
    (SO_REUSEPORT); without, the bind fails if anything has the port, a SO_REUSEPORT listener included,
    which SO_REUSEPORT alone would let a second `churnguard serve` join and split the connections with."""
    family, sock_type, protocol, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = kind(family, sock_type, protocol)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a closed connection's TIME_WAIT is no owner
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


class PerWorkerSocket(socket.socket):
    """Bound in the supervisor and never listening: the port is reserved (a clash fails at once) but no
    connection waits on it. Sent to a worker it arrives as that worker's own socket on the same address,
    which the worker listens on once its app has started."""

    def __reduce__(self) -> tuple[object, tuple[str, int]]:
        host, port = self.getsockname()[:2]
        return _worker_socket, (host, port)


def _worker_socket(host: str, port: int) -> socket.socket:
    return bound_socket(host, port, reuse_port=True)
