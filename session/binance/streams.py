"""Binance market stream names and payloads, and the SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS protocol.

Stream names are lowercase: ``<symbol>@depth``, ``<symbol>@depth@100ms``, ``<symbol>@depth<5|10|20>``
(optionally ``@100ms``), ``<symbol>@trade``, ``<symbol>@aggTrade``, ``<symbol>@bookTicker``,
``<symbol>@ticker`` and ``<symbol>@miniTicker`` (24 h rolling window), ``!miniTicker@arr`` (the mini
tickers of every symbol that changed) and ``<symbol>@kline_<interval>`` for Binance's intervals from 1s to
1M (also with ``@+08:00``, the klines of UTC+8). Payloads are UTF-8 JSON bytes, encoded once per update.

Times are taken in microseconds; each builder gives them in milliseconds, or in microseconds for a
connection opened with ``timeUnit=MICROSECOND``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

from book.trade_stats import Candle, RollingStats
from config.money import format_minor
from config.settings import SymbolSettings
from session.binance.kline_clock import KLINE_INTERVALS, KlineClock
from session.binance.market import average_price_text, ratio_text

_STREAM = re.compile(
    r"(?P<symbol>[a-z0-9]{1,20})@(?P<kind>depth(?P<levels>5|10|20)?(?P<fast>@100ms)?"
    r"|trade|aggTrade|bookTicker|ticker|miniTicker"
    rf"|kline_(?P<interval>{'|'.join(KLINE_INTERVALS)})(?:@\+08:00)?)"
)
_HOUR_MS = 3_600_000
KLINE_TIMEZONES = {"": 0, "@+08:00": 8 * _HOUR_MS}  # a kline stream's name suffix: its clock's offset
ALL_MINI_TICKERS = "!miniTicker@arr"
TIME_UNITS = {"MILLISECOND": False, "millisecond": False, "MICROSECOND": True, "microsecond": True}
CONTROL_METHODS = ("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS", "SET_PROPERTY", "GET_PROPERTY")


@dataclass(frozen=True, slots=True)
class StreamName:
    """A parsed stream name: what it carries for which symbol, and how often."""

    name: str
    symbol: str
    kind: str  # "diff", "partial", "trade", "aggTrade", "bookTicker", "ticker", "miniTicker", "kline", "all"
    levels: int = 0
    interval_ms: int = 0  # a depth stream's push interval


def parse_stream_name(name: str) -> StreamName | None:
    """The stream ``name`` names, or None if it is malformed. A symbol that is not listed is no error:
    Binance takes such a subscription and sends nothing on it, so one unknown name does not cost a
    client its other streams."""
    if name == ALL_MINI_TICKERS:
        return StreamName(name, "", "all", 0, 1000)
    match = _STREAM.fullmatch(name)
    if match is None:
        return None
    symbol = match["symbol"].upper()
    kind = match["kind"]
    if kind in ("trade", "aggTrade", "bookTicker", "ticker", "miniTicker"):
        return StreamName(name, symbol, kind)
    if match["interval"]:
        return StreamName(name, symbol, "kline")
    interval = 100 if match["fast"] else 1000
    if match["levels"]:
        return StreamName(name, symbol, "partial", int(match["levels"]), interval)
    return StreamName(name, symbol, "diff", 0, interval)


@dataclass(frozen=True, slots=True)
class ControlRequest:
    request_id: Any
    method: str
    params: list[Any]


class ControlError(Exception):
    def __init__(self, request_id: Any, code: int, msg: str) -> None:
        super().__init__(msg)
        self.request_id = request_id
        self.code = code
        self.msg = msg


INVALID_STREAM = "Invalid request: invalid stream"
INVALID_PROPERTY_NAME = "Invalid request: property name must be a string"
_INVALID_ID = "Invalid request: request ID must be an unsigned integer"
_ID_MAX = 2**63 - 1


def _valid_id(request_id: Any) -> bool:
    """Binance takes a 64-bit signed integer, a string of at most 36 characters (the official
    connector sends UUIDs, hyphens and all) or null."""
    if isinstance(request_id, bool):
        return False
    if isinstance(request_id, int):
        return -_ID_MAX - 1 <= request_id <= _ID_MAX
    return request_id is None or (isinstance(request_id, str) and len(request_id) <= 36)


def parse_control(message: str | bytes) -> ControlRequest:
    """A SUBSCRIBE-style control message, or ``ControlError`` with Binance's stream error codes."""
    try:
        document = orjson.loads(message)
    except orjson.JSONDecodeError as error:
        raise ControlError(
            None, 3, f"Invalid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    if not isinstance(document, dict):
        raise ControlError(None, 2, "Invalid request: expected a JSON object")
    if "id" not in document or not _valid_id(document["id"]):
        raise ControlError(None, 2, _INVALID_ID)
    request_id = document["id"]
    if "method" not in document:
        raise ControlError(request_id, 2, "Invalid request: missing field `method`")
    method = document["method"]
    if method not in CONTROL_METHODS:
        raise ControlError(
            request_id,
            2,
            f"Invalid request: unknown variant {method}, expected one of "
            + ", ".join(f"`{m}`" for m in CONTROL_METHODS),
        )
    params = document.get("params", [])
    if not isinstance(params, list) or set(document) - {"id", "method", "params"}:
        raise ControlError(request_id, 2, "Invalid request: too many parameters")
    return ControlRequest(request_id, method, params)


def control_answer(request_id: Any, result: Any) -> bytes:
    return orjson.dumps({"result": result, "id": request_id})


def control_error(error: ControlError) -> bytes:
    """Binance nests the documented ``{"code", "msg"}`` under ``error``, which is what the official
    connector looks for (``data.get("error")``); a bare one reads as a success there."""
    return orjson.dumps({"error": {"code": error.code, "msg": error.msg}, "id": error.request_id})


def encode(payload: dict[str, Any] | list[dict[str, Any]]) -> bytes:
    return orjson.dumps(payload)


def combined(stream: str, encoded_payload: bytes) -> bytes:
    """The ``/stream`` wrapper around an already encoded payload (not encoded again)."""
    return orjson.dumps({"stream": stream, "data": orjson.Fragment(encoded_payload)})


def _time(us: int, micro: bool) -> int:
    return us if micro else us // 1000


SERVER_SHUTDOWN_STREAM = "!serverShutdown"


def server_shutdown(event_us: int, micro: bool) -> dict[str, Any]:
    """Sent to every connection when the server is about to shut down."""
    return {"e": "serverShutdown", "E": _time(event_us, micro)}


def _levels(symbol: SymbolSettings, levels: list[tuple[int, int]]) -> list[list[str]]:
    return [[format_minor(p, symbol.quote_scale), format_minor(q, symbol.base_scale)] for p, q in levels]


def diff_depth(
    symbol: SymbolSettings,
    event_us: int,
    first_id: int,
    last_id: int,
    bids: list[tuple[int, int]],
    asks: list[tuple[int, int]],
    micro: bool,
) -> dict[str, Any]:
    return {
        "e": "depthUpdate",
        "E": _time(event_us, micro),
        "s": symbol.name,
        "U": first_id,
        "u": last_id,
        "b": _levels(symbol, bids),
        "a": _levels(symbol, asks),
    }


def partial_depth(
    symbol: SymbolSettings, last_id: int, bids: list[tuple[int, int]], asks: list[tuple[int, int]]
) -> dict[str, Any]:
    return {"lastUpdateId": last_id, "bids": _levels(symbol, bids), "asks": _levels(symbol, asks)}


def trade(
    symbol: SymbolSettings,
    event_us: int,
    trade_id: int,
    price: int,
    quantity: int,
    trade_us: int,
    buyer_is_maker: bool,
    micro: bool,
) -> dict[str, Any]:
    return {
        "e": "trade",
        "E": _time(event_us, micro),
        "s": symbol.name,
        "t": trade_id,
        "p": format_minor(price, symbol.quote_scale),
        "q": format_minor(quantity, symbol.base_scale),
        "T": _time(trade_us, micro),
        "m": buyer_is_maker,
        "M": True,
    }


def agg_trade(
    symbol: SymbolSettings,
    event_us: int,
    first_trade_id: int,
    last_trade_id: int,
    price: int,
    quantity: int,
    trade_us: int,
    buyer_is_maker: bool,
    micro: bool,
) -> dict[str, Any]:
    """Binance's ``aggTrade``: the trades of one taker order at one price. Its id is the id of its
    first trade, so ids increase, never repeat and survive a restart with nothing stored for them."""
    return {
        "e": "aggTrade",
        "E": _time(event_us, micro),
        "s": symbol.name,
        "a": first_trade_id,
        "p": format_minor(price, symbol.quote_scale),
        "q": format_minor(quantity, symbol.base_scale),
        "f": first_trade_id,
        "l": last_trade_id,
        "T": _time(trade_us, micro),
        "m": buyer_is_maker,
        "M": True,
    }


def book_ticker(
    symbol: SymbolSettings, update_id: int, bid: tuple[int, int] | None, ask: tuple[int, int] | None
) -> dict[str, Any]:
    bid = bid or (0, 0)
    ask = ask or (0, 0)
    return {
        "u": update_id,
        "s": symbol.name,
        "b": format_minor(bid[0], symbol.quote_scale),
        "B": format_minor(bid[1], symbol.base_scale),
        "a": format_minor(ask[0], symbol.quote_scale),
        "A": format_minor(ask[1], symbol.base_scale),
    }


def ticker_24h(
    symbol: SymbolSettings,
    event_us: int,
    stats: RollingStats,
    bid: tuple[int, int] | None,
    ask: tuple[int, int] | None,
    micro: bool,
) -> dict[str, Any]:
    """Binance's ``24hrTicker`` event for the rolling window in ``stats``, which ends at the event."""
    price, quantity = symbol.quote_scale, symbol.base_scale
    bid = bid or (0, 0)
    ask = ask or (0, 0)
    change = stats.last_minor - stats.open_minor
    return {
        "e": "24hrTicker",
        "E": _time(event_us, micro),
        "s": symbol.name,
        "p": format_minor(change, price),
        "P": ratio_text(change * 100, stats.open_minor, 3),
        "w": average_price_text(symbol, stats.quote_volume_minor, stats.volume_minor),
        "x": format_minor(stats.previous_close_minor, price),
        "c": format_minor(stats.last_minor, price),
        "Q": format_minor(stats.last_quantity_minor, quantity),
        "b": format_minor(bid[0], price),
        "B": format_minor(bid[1], quantity),
        "a": format_minor(ask[0], price),
        "A": format_minor(ask[1], quantity),
        "o": format_minor(stats.open_minor, price),
        "h": format_minor(stats.high_minor, price),
        "l": format_minor(stats.low_minor, price),
        "v": format_minor(stats.volume_minor, quantity),
        "q": format_minor(stats.quote_volume_minor, price),
        "O": _time(event_us - (stats.close_ms - stats.open_ms) * 1000, micro),
        "C": _time(event_us, micro),
        "F": stats.first_trade_id,
        "L": stats.last_trade_id,
        "n": stats.count,
    }


def mini_ticker(symbol: SymbolSettings, event_us: int, stats: RollingStats, micro: bool) -> dict[str, Any]:
    """Binance's ``24hrMiniTicker`` event for the rolling window in ``stats``."""
    price, quantity = symbol.quote_scale, symbol.base_scale
    return {
        "e": "24hrMiniTicker",
        "E": _time(event_us, micro),
        "s": symbol.name,
        "c": format_minor(stats.last_minor, price),
        "o": format_minor(stats.open_minor, price),
        "h": format_minor(stats.high_minor, price),
        "l": format_minor(stats.low_minor, price),
        "v": format_minor(stats.volume_minor, quantity),
        "q": format_minor(stats.quote_volume_minor, price),
    }


def kline(
    symbol: SymbolSettings, event_us: int, clock: KlineClock, candle: Candle, closed: bool, micro: bool
) -> dict[str, Any]:
    """Binance's ``kline`` event for one candle of ``clock``'s interval (``1s`` to ``1M``); it closes
    one unit of time before the next one starts."""
    price, quantity = symbol.quote_scale, symbol.base_scale
    start, end = candle.start_ms, clock.after(candle.start_ms)
    return {
        "e": "kline",
        "E": _time(event_us, micro),
        "s": symbol.name,
        "k": {
            "t": start * 1000 if micro else start,
            "T": (end * 1000 if micro else end) - 1,
            "s": symbol.name,
            "i": clock.interval,
            "f": candle.first_trade_id,
            "L": candle.last_trade_id,
            "o": format_minor(candle.open_minor, price),
            "c": format_minor(candle.close_minor, price),
            "h": format_minor(candle.high_minor, price),
            "l": format_minor(candle.low_minor, price),
            "v": format_minor(candle.volume_minor, quantity),
            "n": candle.count,
            "x": closed,
            "q": format_minor(candle.quote_volume_minor, price),
            "V": format_minor(candle.taker_buy_volume_minor, quantity),
            "Q": format_minor(candle.taker_buy_quote_volume_minor, price),
            "B": "0",
        },
    }
