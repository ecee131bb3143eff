"""Signed-request checks: timestamp and recvWindow, API key and permission, signature, replay guard.

The rules are Binance's: a request is processed when ``timestamp < now + 1000`` and ``now - timestamp <=
recvWindow`` (default 5000 ms, at most 60000, up to three decimals). Timestamps of 16 digits are in
microseconds. A signature is accepted once: the same signature again inside its window is a replay.
"""

from __future__ import annotations

import enum
import heapq
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from config.money import ascii_digits
from session.binance.errors import (
    BAD_API_KEY_FORMAT,
    INVALID_SIGNATURE,
    NOT_LOGGED_ON,
    REJECTED_API_KEY,
    SESSION_KEY_REVOKED,
    TIMESTAMP_AHEAD,
    TIMESTAMP_OUTSIDE_WINDOW,
    ApiError,
    ApiFailure,
    bad_parameter,
    invalid_parameter,
)
from session.binance.requests import MICROSECOND_TIMESTAMP_MIN
from session.binance.signing import KeyType, Verifier, signature_payload

RECV_WINDOW_DEFAULT_MS = 5000
RECV_WINDOW_MAX_MS = 60000
TIMESTAMP_AHEAD_MAX_MS = 1000
_RECV_WINDOW_DEFAULT = float(RECV_WINDOW_DEFAULT_MS)
API_KEY_LENGTH_MAX = 128
REPLAYED_SIGNATURE = ApiError(400, -1022, "Signature for this request was already used.")


class Permission(enum.Enum):
    """What a key may do: USER_DATA reads the account, TRADE places and cancels orders."""

    USER_DATA = "USER_DATA"
    TRADE = "TRADE"
    USER_STREAM = "USER_STREAM"


@dataclass(frozen=True, slots=True)
class ApiKey:
    api_key: str
    account_id: int
    verifier: Verifier
    permissions: frozenset[Permission]


KeyLookup = Callable[[str], ApiKey | None]


def request_time_ms(params: dict[str, Any]) -> tuple[float, float]:
    """(timestamp, recvWindow) in milliseconds from the request's parameters."""
    raw = params.get("timestamp")
    if isinstance(raw, str) and ascii_digits(raw):
        raw = int(raw)
    if not isinstance(raw, int) or isinstance(raw, bool) or raw <= 0:
        raise ApiFailure(bad_parameter("timestamp"))
    timestamp_ms = raw / 1000 if raw >= MICROSECOND_TIMESTAMP_MIN else float(raw)
    if "recvWindow" not in params:
        return timestamp_ms, _RECV_WINDOW_DEFAULT
    window = params["recvWindow"]
    try:
        window_ms = float(window) if not isinstance(window, bool) else -1.0
    except (TypeError, ValueError):
        window_ms = -1.0
    text = str(window)
    if not 0 < window_ms <= RECV_WINDOW_MAX_MS or ("." in text and len(text.split(".")[1]) > 3):
        raise ApiFailure(invalid_parameter("recvWindow"))
    return timestamp_ms, window_ms


def check_timing(params: dict[str, Any], now_ms: float) -> float:
    """Refuse a request outside its window; return the time until which its signature stays valid."""
    timestamp_ms, window_ms = request_time_ms(params)
    if timestamp_ms >= now_ms + TIMESTAMP_AHEAD_MAX_MS:
        raise ApiFailure(TIMESTAMP_AHEAD)
    if now_ms - timestamp_ms > window_ms:
        raise ApiFailure(TIMESTAMP_OUTSIDE_WINDOW)
    return timestamp_ms + window_ms


class ReplayGuard:
    """Remembers accepted signatures until their window closes; bounded by ``entries_max``."""

    def __init__(self, entries_max: int) -> None:
        self._entries_max = entries_max
        self._expiries: list[tuple[float, str]] = []
        self._seen: set[str] = set()

    def admit(self, signature: str, valid_until_ms: float, now_ms: float) -> bool:
        """Record ``signature``; False if it was already used and is still inside its window."""
        while self._expiries and (self._expiries[0][0] < now_ms or len(self._seen) >= self._entries_max):
            _, old = heapq.heappop(self._expiries)
            self._seen.discard(old)
        if signature in self._seen:
            return False
        self._seen.add(signature)
        heapq.heappush(self._expiries, (valid_until_ms, signature))
        return True


class SignedRequestChecker:
    """Authenticates SIGNED requests of every connection against the key directory."""

    def __init__(self, lookup: KeyLookup, *, replay_entries_max: int = 1_000_000) -> None:
        self._lookup = lookup
        self._replays = ReplayGuard(replay_entries_max)

    def key(self, api_key: Any) -> ApiKey:
        """The registered key named ``api_key`` (-2014 malformed, -2015 unknown or revoked)."""
        if not isinstance(api_key, str) or not api_key or len(api_key) > API_KEY_LENGTH_MAX:
            raise ApiFailure(BAD_API_KEY_FORMAT)
        if not api_key.isascii() or not api_key.isalnum():
            raise ApiFailure(BAD_API_KEY_FORMAT)
        record = self._lookup(api_key)
        if record is None:
            raise ApiFailure(REJECTED_API_KEY)
        return record

    def check(
        self, params: dict[str, Any], now_ms: float, permission: Permission, *, session_key: ApiKey | None
    ) -> ApiKey:
        """Return the key a SIGNED request acts for, or raise ``ApiFailure`` with Binance's error.

        Without ``apiKey`` and ``signature`` the request uses the connection's logged-on key
        (``session.logon``); timing rules apply either way.
        """
        valid_until_ms = check_timing(params, now_ms)
        if "apiKey" not in params and "signature" not in params:
            if session_key is None:
                raise ApiFailure(NOT_LOGGED_ON)
            record = self._lookup(session_key.api_key)
            if record is None:
                raise ApiFailure(SESSION_KEY_REVOKED)
        else:
            record = self.key(params.get("apiKey"))
            signature = params.get("signature")
            if not isinstance(signature, str) or not signature:
                raise ApiFailure(bad_parameter("signature"))
            if not record.verifier.verify(signature_payload(params), signature):
                raise ApiFailure(INVALID_SIGNATURE)
            canonical = signature.lower() if record.verifier.key_type is KeyType.HMAC else signature
            if not self._replays.admit(canonical, valid_until_ms, now_ms):
                raise ApiFailure(REPLAYED_SIGNATURE)
        if permission not in record.permissions:
            raise ApiFailure(REJECTED_API_KEY)
        return record
