"""``timeUnit=MICROSECOND`` on the WebSocket API: the times of answers and user data events in us.

Answers are built in milliseconds; a connection that asked for microseconds gets each time field
multiplied out (a time of none, -1, stays as it is). Which fields are times follows Binance's names: in
answers the same keys mean a time wherever they appear; in events the short keys depend on the event
(``u`` is the account's update time in outboundAccountPosition, the trade group in executionReport).
"""

from __future__ import annotations

from typing import Any

RESULT_TIME_FIELDS = frozenset(
    {
        "serverTime",
        "transactTime",
        "workingTime",
        "time",
        "updateTime",
        "openTime",
        "closeTime",
        "authorizedSince",
        "connectedSince",
        "retryAfter",
        "T",  # an aggregate trade's time
    }
)
# A kline row's open time and close time.
KLINE_TIME_POSITIONS = (0, 6)
KLINE_METHODS = frozenset({"klines", "uiKlines"})
EVENT_TIME_FIELDS = {
    "executionReport": frozenset({"E", "T", "O", "W"}),
    "outboundAccountPosition": frozenset({"E", "u"}),
    "eventStreamTerminated": frozenset({"E"}),
    "serverShutdown": frozenset({"E"}),
}


def _us(value: Any) -> Any:
    return value * 1000 if type(value) is int and value > 0 else value


def _convert(value: Any) -> Any:
    if type(value) is dict:
        return {
            key: _us(item) if key in RESULT_TIME_FIELDS else _convert(item) for key, item in value.items()
        }
    if type(value) is list:
        return [_convert(item) for item in value]
    return value


def result_in_microseconds(method: str, result: Any) -> Any:
    """``result`` (of ``method``) with its times in microseconds."""
    if method in KLINE_METHODS:
        return [
            [_us(item) if index in KLINE_TIME_POSITIONS else item for index, item in enumerate(row)]
            for row in result
        ]
    return _convert(result)


def event_in_microseconds(event: dict[str, Any]) -> dict[str, Any]:
    """A user data event (or serverShutdown) with its times in microseconds."""
    fields = EVENT_TIME_FIELDS.get(event.get("e", ""), frozenset())
    return {key: _us(value) if key in fields else value for key, value in event.items()}
