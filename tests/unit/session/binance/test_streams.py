"""The market streams' control protocol and payloads, as Binance documents them, with no sockets."""

from __future__ import annotations

import orjson
import pytest

from session.binance import streams as wire


def error_of(message: bytes) -> dict:
    with pytest.raises(wire.ControlError) as caught:
        wire.parse_control(message)
    return orjson.loads(wire.control_error(caught.value))


def test_an_error_is_nested_under_error_with_the_request_id() -> None:
    """The shape the official connector reads (``data.get("error")``) and Binance sends."""
    answer = error_of(b'{"method": "SUBSCRIBE", "params": [], "id": 7, "extra": 1}')
    assert answer == {"error": {"code": 2, "msg": "Invalid request: too many parameters"}, "id": 7}


@pytest.mark.parametrize(
    ("message", "code", "msg"),
    [
        (
            b'{"method": "SUBSCRIBE", "params": []}',
            2,
            "Invalid request: request ID must be an unsigned integer",
        ),
        (
            b'{"method": "SUBSCRIBE", "id": true}',
            2,
            "Invalid request: request ID must be an unsigned integer",
        ),
        (
            b'{"method": "SUBSCRIBE", "id": 9223372036854775808}',
            2,
            "Invalid request: request ID must be an unsigned integer",
        ),
        (
            b'{"method": "SUBSCRIBE", "id": "' + b"x" * 37 + b'"}',
            2,
            "Invalid request: request ID must be an unsigned integer",
        ),
        (b'{"params": [], "id": 1}', 2, "Invalid request: missing field `method`"),
        (b"[1]", 2, "Invalid request: expected a JSON object"),
    ],
)
def test_documented_request_errors(message: bytes, code: int, msg: str) -> None:
    assert error_of(message)["error"] == {"code": code, "msg": msg}


def test_invalid_json_is_code_3_with_its_position() -> None:
    error = error_of(b'{"method": }')["error"]
    assert error["code"] == 3 and error["msg"].startswith("Invalid JSON: ")
    assert error["msg"].endswith("at line 1 column 12")


@pytest.mark.parametrize(
    "request_id", [None, 0, -1, 2**63 - 1, -(2**63), "ab12", "0b9c0f0e-6c8b-4c1e-9d9a-3f3c1f1e2a7b"]
)
def test_documented_request_ids_are_taken(request_id: object) -> None:
    """64-bit signed integers, strings of up to 36 characters (the official connector sends UUIDs),
    null."""
    message = orjson.dumps({"method": "LIST_SUBSCRIPTIONS", "id": request_id})
    assert wire.parse_control(message).request_id == request_id
