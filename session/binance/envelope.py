"""WebSocket API messages: responses (id, status, result or error, rateLimits) and pushed events.

Each is UTF-8 JSON bytes, ready to be framed once and written.
"""

from __future__ import annotations

from typing import Any

import orjson

from session.binance.errors import ApiError


def success(request_id: Any, result: Any, rate_limits: list[dict[str, Any]] | None) -> bytes:
    frame: dict[str, Any] = {"id": request_id, "status": 200, "result": result}
    if rate_limits is not None:
        frame["rateLimits"] = rate_limits
    return orjson.dumps(frame)


def failure(
    request_id: Any, error: ApiError, rate_limits: list[dict[str, Any]] | None, data: Any = None
) -> bytes:
    body: dict[str, Any] = {"code": error.code, "msg": error.msg}
    if data is not None:
        body["data"] = data
    frame: dict[str, Any] = {"id": request_id, "status": error.status, "error": body}
    if rate_limits is not None:
        frame["rateLimits"] = rate_limits
    return orjson.dumps(frame)


def event(subscription_id: int, payload: dict[str, Any]) -> bytes:
    return event_encoded(subscription_id, orjson.dumps(payload))


def payload(event_payload: dict[str, Any]) -> bytes:
    """An event's payload encoded alone, for ``event_encoded`` to wrap once per subscription."""
    return orjson.dumps(event_payload)


def event_encoded(subscription_id: int, encoded_payload: bytes) -> bytes:
    """``{subscriptionId, event}`` around a payload already encoded, so that the subscriptions of one
    account share one encoding."""
    return b'{"subscriptionId":%d,"event":%b}' % (subscription_id, encoded_payload)


def server_shutdown(event_ms: int) -> bytes:
    """A connection event, of no subscription: the server is about to close every connection."""
    return orjson.dumps({"event": {"e": "serverShutdown", "E": event_ms}})
