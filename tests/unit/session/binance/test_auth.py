"""Timing, key, permission, signature and replay rules of SIGNED requests."""

from __future__ import annotations

import pytest

from session.binance.auth import ApiKey, Permission, SignedRequestChecker, request_time_ms
from session.binance.errors import ApiFailure
from session.binance.signing import KeyType, Verifier, hmac_signature, signature_payload

SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
NOW_MS = 1_700_000_000_000.0
TRADER = ApiKey("tradekey", 1, Verifier(KeyType.HMAC, secret=SECRET), frozenset(Permission))
READER = ApiKey("readkey", 2, Verifier(KeyType.HMAC, secret=SECRET), frozenset({Permission.USER_DATA}))
KEYS = {key.api_key: key for key in (TRADER, READER)}


def signed(api_key: str = "tradekey", **params: object) -> dict[str, object]:
    params = {"symbol": "BTCUSDT", "timestamp": int(NOW_MS), "apiKey": api_key, **params}
    params["signature"] = hmac_signature(SECRET, signature_payload(params))
    return params


def code_of(
    checker: SignedRequestChecker, params: dict, permission=Permission.TRADE, now_ms=NOW_MS, session_key=None
):
    with pytest.raises(ApiFailure) as caught:
        checker.check(params, now_ms, permission, session_key=session_key)
    return caught.value.error.code, caught.value.error.msg


def test_a_good_signature_names_its_key_once() -> None:
    checker = SignedRequestChecker(KEYS.get)
    params = signed()
    assert checker.check(params, NOW_MS, Permission.TRADE, session_key=None) is TRADER
    assert code_of(checker, params) == (-1022, "Signature for this request was already used.")


def test_timing_window() -> None:
    checker = SignedRequestChecker(KEYS.get)
    assert code_of(checker, signed(timestamp=int(NOW_MS) + 1000))[0] == -1021
    assert code_of(checker, signed(timestamp=int(NOW_MS) - 5001))[0] == -1021
    assert checker.check(signed(timestamp=int(NOW_MS) - 5000), NOW_MS, Permission.TRADE, session_key=None)
    assert checker.check(
        signed(timestamp=int(NOW_MS) - 9000, recvWindow=10000), NOW_MS, Permission.TRADE, session_key=None
    )
    assert code_of(checker, signed(recvWindow=60001))[0] == -1130
    assert code_of(checker, signed(timestamp="soon"))[0] == -1102
    assert code_of(checker, signed(timestamp="1²"))[0] == -1102


def test_microsecond_timestamps_and_fractional_windows() -> None:
    assert request_time_ms({"timestamp": int(NOW_MS) * 1000 + 500, "recvWindow": 6000.346}) == (
        NOW_MS + 0.5,
        6000.346,
    )


def test_keys_signatures_and_permissions() -> None:
    checker = SignedRequestChecker(KEYS.get)
    assert code_of(checker, signed(api_key="nosuchkey"))[0] == -2015
    assert code_of(checker, signed(api_key="bad key!"))[0] == -2014
    forged = signed()
    forged["symbol"] = "ETHUSDT"
    assert code_of(checker, forged)[0] == -1022
    assert code_of(checker, signed(api_key="readkey"))[0] == -2015
    reading = signed(api_key="readkey", timestamp=int(NOW_MS) - 1)
    assert checker.check(reading, NOW_MS, Permission.USER_DATA, session_key=None) is READER


def test_a_logged_on_connection_needs_no_signature_but_keeps_the_timing_rules() -> None:
    checker = SignedRequestChecker(KEYS.get)
    unsigned = {"symbol": "BTCUSDT", "timestamp": int(NOW_MS)}
    assert code_of(checker, unsigned)[0] == -1002
    assert checker.check(unsigned, NOW_MS, Permission.TRADE, session_key=TRADER) is TRADER
    assert code_of(checker, {"timestamp": int(NOW_MS) - 6000}, session_key=TRADER)[0] == -1021


def test_sixteen_digits_make_a_microsecond_timestamp_and_no_window_is_five_seconds() -> None:
    assert request_time_ms({"timestamp": 10**15 - 1}) == (float(10**15 - 1), 5000.0)
    assert request_time_ms({"timestamp": str(10**15)}) == (10**12, 5000.0)
    assert request_time_ms({"timestamp": 10**15, "recvWindow": "5000"}) == (10**12, 5000.0)
