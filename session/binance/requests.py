"""The WebSocket API envelope and typed parameter reading.

A request is ``{"id", "method", "params"}``; parameters arrive as JSON strings or numbers and are read
once, by name, into typed values. Every parameter a method does not read is an error (-1103), so a
misspelt optional parameter is never silently ignored.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any, NamedTuple, TypeVar

import orjson

from config.money import (
    CONVERSIONS_CACHED_MAX,
    DecimalFormatError,
    DecimalPrecisionError,
    ascii_digits,
    parse_decimal_minor,
)
from session.binance.errors import (
    INVALID_JSON,
    ApiError,
    ApiFailure,
    bad_parameter,
    illegal_characters,
    invalid_parameter,
    too_precise,
    unknown_parameter,
)

EnumType = TypeVar("EnumType", bound=enum.Enum)
REQUEST_ID_LENGTH_MAX = 36
# Request ids and LONG parameters are signed 64-bit integers, as Binance takes them.
LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1
PARAMETERS_MAX = 64
RETURN_RATE_LIMITS = "returnRateLimits"
# Times are kept as 64-bit counts of nanoseconds, which reach the year 2262: a later time in milliseconds
# selects what this one does (and a nanosecond window from it still fits).
TIME_MS_MAX = LONG_MAX // 1_000_000 - 1
# Binance takes a time in milliseconds or microseconds: one of 16 digits or more is in microseconds.
MICROSECOND_TIMESTAMP_MIN = 10**15
_CLIENT_ORDER_ID = re.compile(r"^[a-zA-Z0-9-_]{1,36}$")


class ApiRequest(NamedTuple):
    """One decoded request: a NamedTuple, as immutable as a frozen dataclass and built in under half
    the time (a frozen dataclass sets each field through ``object.__setattr__``)."""

    request_id: str | int | None
    method: str
    params: dict[str, Any]


_ENVELOPE_KEYS = frozenset({"id", "method", "params"})


def parse_request(message: bytes | str) -> ApiRequest:
    """Decode one text frame into a request, or raise ``ApiFailure`` with Binance's error."""
    try:
        document = orjson.loads(message)
    except orjson.JSONDecodeError:
        raise ApiFailure(INVALID_JSON) from None
    if not isinstance(document, dict):
        raise ApiFailure(INVALID_JSON)
    request_id = document.get("id")
    # orjson gives exact types, so ``type(...) is int`` leaves out bool as ``isinstance`` could not.
    if type(request_id) is int:
        if not LONG_MIN <= request_id <= LONG_MAX:
            raise ApiFailure(bad_parameter("id"))
    elif type(request_id) is str:
        if len(request_id) > REQUEST_ID_LENGTH_MAX:
            raise ApiFailure(invalid_parameter("id"))
    elif request_id is not None:
        raise ApiFailure(bad_parameter("id"))
    method = document.get("method")
    if not isinstance(method, str) or not method:
        raise ApiFailure(bad_parameter("method"), request_id)
    params = document.get("params", {})
    if not isinstance(params, dict):
        raise ApiFailure(bad_parameter("params"), request_id)
    if len(params) > PARAMETERS_MAX:
        raise ApiFailure(ApiError(400, -1101, "Too many parameters sent for this endpoint."), request_id)
    if len(document) > 3 or not document.keys() <= _ENVELOPE_KEYS:
        unexpected = sorted(set(document) - _ENVELOPE_KEYS)
        raise ApiFailure(unknown_parameter(unexpected[0]), request_id)
    return ApiRequest(request_id, method.removeprefix("v3/"), params)


class Params:
    """Read a request's parameters by name and type; ``finish`` refuses any that were not read."""

    __slots__ = ("_read", "_values")

    def __init__(self, values: dict[str, Any]) -> None:
        self._values = values
        self._read: set[str] = set()

    def has(self, name: str) -> bool:
        return self._values.get(name) not in (None, "")

    def sent_any(self, names: frozenset[str]) -> bool:
        """Whether any of ``names`` was sent at all (even empty): when none was, reading them is a no-op."""
        return not self._values.keys().isdisjoint(names)

    def _raw(self, name: str, required: bool) -> Any:
        self._read.add(name)
        value = self._values.get(name)
        if value is None or value == "":
            if required:
                raise ApiFailure(bad_parameter(name))
            return None
        return value

    def raw(self, name: str) -> Any:
        """A parameter's value as sent (lists, for example), marked as read."""
        return self._raw(name, False)

    def text(self, name: str, *, required: bool = False, length_max: int = 64) -> str | None:
        value = self._raw(name, required)
        if value is None:
            return None
        if not isinstance(value, str) or len(value) > length_max:
            raise ApiFailure(invalid_parameter(name))
        return value

    def client_order_id(self, name: str) -> str | None:
        """A client order id, held to Binance's legal range (-1100 outside it)."""
        value = self._raw(name, False)
        if value is None:
            return None
        if not isinstance(value, str) or not _CLIENT_ORDER_ID.fullmatch(value):
            raise ApiFailure(illegal_characters(name, _CLIENT_ORDER_ID.pattern))
        return value

    def integer(
        self, name: str, *, required: bool = False, minimum: int = 0, maximum: int = LONG_MAX
    ) -> int | None:
        value = self._raw(name, required)
        if value is None:
            return None
        if isinstance(value, str) and ascii_digits(value):
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= maximum:
            raise ApiFailure(invalid_parameter(name))
        return value

    def time_ms(self, name: str) -> int | None:
        """A time in milliseconds since the epoch, sent in milliseconds or microseconds; any later than
        ``TIME_MS_MAX`` counts as that one."""
        value = self.integer(name)
        if value is None:
            return None
        return min(value // 1000 if value >= MICROSECOND_TIMESTAMP_MIN else value, TIME_MS_MAX)

    def decimal_minor(self, name: str, scale: int, *, required: bool = False) -> int | None:
        """A positive decimal in minor units of ``scale``; finer than the scale is -1111."""
        value = self._raw(name, required)
        if value is None:
            return None
        if type(value) is not str:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ApiFailure(invalid_parameter(name))
            # A float's shortest form may be in exponent notation (1e-05); its decimal value is what was sent.
            value = format(Decimal(repr(value)), "f")
        minor = _positive_minor(value, scale)
        if type(minor) is not int:
            raise ApiFailure(minor(name))
        return minor

    def choice(
        self, name: str, kind: type[EnumType], error: ApiError, *, required: bool = False
    ) -> EnumType | None:
        value = self._raw(name, required)
        if value is None:
            return None
        member = _members_by_value(kind).get(value) if isinstance(value, str) else None
        if member is None:
            raise ApiFailure(error)
        return member

    def boolean(self, name: str) -> bool | None:
        value = self._raw(name, False)
        if value is None:
            return None
        if value in (True, "true", "TRUE"):
            return True
        if value in (False, "false", "FALSE"):
            return False
        raise ApiFailure(invalid_parameter(name))

    def finish(self, *ignored: str) -> None:
        """Refuse a parameter nobody read (``returnRateLimits`` is always allowed), the first in the
        request's order; the unread names are one set difference, not a Python loop per name."""
        unread = self._values.keys() - self._read
        if unread:
            unread.difference_update(ignored)
            unread.discard(RETURN_RATE_LIMITS)
        if unread:
            raise ApiFailure(unknown_parameter(next(name for name in self._values if name in unread)))


@functools.cache
def _members_by_value(kind: type[EnumType]) -> dict[str, EnumType]:
    """An enum's members by their wire value: a dict lookup, where ``kind(value)`` costs a microsecond."""
    return {member.value: member for member in kind}


@functools.lru_cache(maxsize=CONVERSIONS_CACHED_MAX)
def _positive_minor(text: str, scale: int) -> int | Callable[[str], ApiError]:
    """``text`` in minor units of ``scale`` if positive, else the error to raise for the parameter
    (too precise or not valid). Cached, as the conversions are: orders repeat the same few prices and
    quantities, and the answer depends on the arguments alone."""
    try:
        minor = parse_decimal_minor(text, scale)
    except DecimalPrecisionError:
        return too_precise
    except DecimalFormatError:
        return invalid_parameter
    return minor if minor > 0 else invalid_parameter
