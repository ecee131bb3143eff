"""`/metrics` (Prometheus text) and `/healthz` over HTTP, served by the websockets package.

websockets answers plain HTTP GETs through ``process_request``, so health and metrics need no second
HTTP stack; any WebSocket upgrade on this port is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from gateway.metrics import Metrics


def _response(status: HTTPStatus, body: bytes, content_type: str) -> Response:
    headers = Headers(
        [("Content-Type", content_type), ("Content-Length", str(len(body))), ("Connection", "close")]
    )
    return Response(status.value, status.phrase, headers, body)


async def start_http_endpoint(
    host: str, port: int, metrics: Metrics, health: Callable[[], dict[str, bool]]
) -> Server:
    """Serve ``/metrics`` and ``/healthz``; ``health`` names each check and whether it passes."""

    def process_request(_connection: ServerConnection, request: Request) -> Response:
        if request.path == "/metrics":
            return _response(HTTPStatus.OK, metrics.render(), "text/plain; version=0.0.4; charset=utf-8")
        if request.path == "/healthz":
            checks = health()
            healthy = all(checks.values())
            lines = "".join(f"{name} {'ok' if passed else 'failing'}\n" for name, passed in checks.items())
            status = HTTPStatus.OK if healthy else HTTPStatus.SERVICE_UNAVAILABLE
            return _response(status, lines.encode(), "text/plain; charset=utf-8")
        return _response(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8")

    async def refuse(_connection: ServerConnection) -> None:
        """Never reached: every request is answered in process_request."""

    return await serve(refuse, host, port, process_request=process_request, max_size=1024)
