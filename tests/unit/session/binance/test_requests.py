"""Envelope decoding and typed parameters: every bad input is Binance's error, never a crash."""

from __future__ import annotations

import pytest

from book.types import Side
from session.binance.errors import INVALID_SIDE, ApiFailure
from session.binance.requests import TIME_MS_MAX, Params, parse_request


def failure(message: bytes) -> tuple[object, int]:
    with pytest.raises(ApiFailure) as caught:
        parse_request(message)
    return caught.value.request_id, caught.value.error.code


def test_a_request_is_read_with_its_id_and_method_without_version_prefix() -> None:
    request = parse_request(b'{"id": 7, "method": "v3/order.place", "params": {"symbol": "BTCUSDT"}}')
    assert (request.request_id, request.method, request.params) == (7, "order.place", {"symbol": "BTCUSDT"})
    assert parse_request(b'{"id": null, "method": "ping"}').params == {}
    assert parse_request(b'{"id": -9223372036854775808, "method": "ping"}').request_id == -(2**63)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (b"{not json", (None, -1135)),
        (b"[1, 2]", (None, -1135)),
        (b'{"id": true, "method": "ping"}', (None, -1102)),
        (b'{"id": "' + b"x" * 37 + b'", "method": "ping"}', (None, -1130)),
        (b'{"id": 1}', (1, -1102)),
        (b'{"id": 1, "method": "ping", "params": [1]}', (1, -1102)),
        (b'{"id": 1, "method": "ping", "extra": 1}', (1, -1103)),
        (b'{"id": 9223372036854775808, "method": "ping"}', (None, -1102)),
        (b'{"id": -9223372036854775809, "method": "ping"}', (None, -1102)),
    ],
)
def test_malformed_envelopes(message: bytes, expected: tuple[object, int]) -> None:
    assert failure(message) == expected


def test_parameters_accept_strings_and_numbers() -> None:
    params = Params({"quantity": "0.01", "price": 52000, "limit": "5", "flag": "true"})
    assert params.decimal_minor("quantity", 8) == 1_000_000
    assert params.decimal_minor("price", 2) == 5_200_000
    assert params.integer("limit") == 5
    assert params.boolean("flag") is True
    params.finish()


@pytest.mark.parametrize(
    ("json_number", "minor"),
    [(b"1e-05", 1_000), (b"0.00001", 1_000), (b"2E2", 20_000_000_000), (b"3", 300_000_000)],
)
def test_json_numbers_are_read_at_their_decimal_value(json_number: bytes, minor: int) -> None:
    """A JSON number comes as a float; 0.00001 is 1e-05 in Python's shortest form, still 0.00001."""
    request = parse_request(
        b'{"id": 1, "method": "order.place", "params": {"quantity": ' + json_number + b"}}"
    )
    assert Params(request.params).decimal_minor("quantity", 8) == minor


@pytest.mark.parametrize(
    ("values", "code"),
    [
        ({"quantity": "0.000000001"}, -1111),
        ({"quantity": "9" * 40}, -1130),
        ({"quantity": "9" * 40 + ".5"}, -1130),
        ({"quantity": "abc"}, -1130),
        ({"quantity": "-1"}, -1130),
        ({"quantity": "0"}, -1130),
        ({"quantity": True}, -1130),
        ({"quantity": ""}, -1102),
    ],
)
def test_bad_decimals(values: dict, code: int) -> None:
    with pytest.raises(ApiFailure) as caught:
        Params(values).decimal_minor("quantity", 8, required=True)
    assert caught.value.error.code == code


@pytest.mark.parametrize("text", ["1²", "١٢"])
def test_integers_are_ascii_digits_only(text: str) -> None:
    """``str.isdigit`` takes "²", which ``int`` refuses, and "١٢", which ``int`` reads as 12."""
    with pytest.raises(ApiFailure) as caught:
        Params({"limit": text}).integer("limit")
    assert caught.value.error.code == -1130


def test_enums_and_unread_parameters() -> None:
    params = Params({"side": "SIDEWAYS", "typo": 1})
    with pytest.raises(ApiFailure) as caught:
        params.choice("side", Side, INVALID_SIDE)
    assert caught.value.error.code == -1117
    with pytest.raises(ApiFailure) as unread:
        params.finish()
    assert unread.value.error.code == -1103


@pytest.mark.parametrize("value", ["a b", "x" * 37, "é", "id.1", "a\x00"])
def test_client_order_ids_keep_to_binances_legal_range(value: str) -> None:
    with pytest.raises(ApiFailure) as caught:
        Params({"newClientOrderId": value}).client_order_id("newClientOrderId")
    assert (caught.value.error.code, caught.value.error.msg) == (
        -1100,
        "Illegal characters found in parameter 'newClientOrderId'; legal range is '^[a-zA-Z0-9-_]{1,36}$'.",
    )


def test_a_legal_client_order_id_is_read_as_sent() -> None:
    assert Params({"origClientOrderId": "My-order_7"}).client_order_id("origClientOrderId") == "My-order_7"
    assert Params({}).client_order_id("origClientOrderId") is None


def test_the_first_unread_parameter_in_request_order_is_refused() -> None:
    params = Params({"b": "1", "timestamp": "5", "a": "2", "returnRateLimits": False, "c": "3"})
    params.text("c")
    with pytest.raises(ApiFailure) as caught:
        params.finish("timestamp")
    assert caught.value.error.msg == "An unknown parameter was sent: 'b'."
    params.text("b")
    params.text("a")
    params.finish("timestamp")


def test_a_cached_decimal_still_names_its_own_parameter() -> None:
    for _ in range(2):
        for name in ("price", "quantity"):
            with pytest.raises(ApiFailure) as caught:
                Params({name: "1.001"}).decimal_minor(name, 2)
            assert caught.value.error.msg == f"Parameter '{name}' has too much precision."
            with pytest.raises(ApiFailure) as caught:
                Params({name: "0.00"}).decimal_minor(name, 2)
            assert caught.value.error.msg == f"Data sent for parameter '{name}' is not valid."
        assert Params({"price": "1.5"}).decimal_minor("price", 2) == 150
        assert Params({"price": "1.5"}).decimal_minor("price", 3) == 1500


def test_a_time_past_what_64_bit_nanoseconds_reach_counts_as_the_last_they_do() -> None:
    params = Params({"startTime": 2**63 - 1, "endTime": "1700000000000"})
    assert (params.time_ms("startTime"), params.time_ms("endTime")) == (TIME_MS_MAX, 1_700_000_000_000)
    assert (TIME_MS_MAX + 1) * 1_000_000 <= 2**63 - 1  # a window's end in nanoseconds still fits


def test_a_time_of_16_digits_or_more_is_in_microseconds() -> None:
    """Binance: startTime and endTime "can be passed in milliseconds or microseconds", as timestamp; a
    time in microseconds was read as milliseconds, centuries ahead, and every history query was empty."""
    params = Params({"startTime": 1_700_000_000_123_456, "endTime": "1700000000999999"})
    assert (params.time_ms("startTime"), params.time_ms("endTime")) == (1_700_000_000_123, 1_700_000_000_999)
    assert Params({"startTime": 999_999_999_999_999}).time_ms("startTime") == TIME_MS_MAX  # 15 digits: ms
