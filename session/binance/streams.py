"""Binance market stream names and payloads, and the SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS protocol.

Stream names are lowercase: ``<symbol>@depth``, ``<symbol>@depth@100ms``, ``<symbol>@depth<5|10|20>``
(optionally ``@100ms``), ``<symbol>@trade``, ``<symbol>@bookTicker``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

from config.money import format_minor
from config.settings import SymbolSettings

_STREAM = re.compile(
    r"(?P<symbol>[a-z0-9]+)@(?P<kind>depth(?P<levels>5|10|20)?(?P<fast>@100ms)?|trade|bookTicker)"
)
CONTROL_METHODS = ("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS", "SET_PROPERTY", "GET_PROPERTY")


@dataclass(frozen=True, slots=True)
class StreamName:
    """A parsed stream name: what it carries for which symbol, and how often."""

    name: str
    symbol: str
    kind: str  # "diff", "partial", "trade", "bookTicker"
    levels: int = 0
    interval_ms: int = 0


def parse_stream_name(name: str, symbols: dict[str, SymbolSettings]) -> StreamName | None:
    match = _STREAM.fullmatch(name)
    if match is None or match["symbol"].upper() not in symbols:
        return None
    symbol = match["symbol"].upper()
    kind = match["kind"]
    if kind == "trade" or kind == "bookTicker":
        return StreamName(name, symbol, kind)
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


def parse_control(message: str | bytes) -> ControlRequest:
    """A SUBSCRIBE-style control message, or ``ControlError`` with Binance's stream error codes."""
    try:
        document = orjson.loads(message)
    except orjson.JSONDecodeError as error:
        raise ControlError(None, 3, f"Invalid JSON: {error}") from None
    if not isinstance(document, dict):
        raise ControlError(None, 3, "Invalid JSON: expected an object")
    request_id = document.get("id")
    if not (
        request_id is None
        or (isinstance(request_id, int) and not isinstance(request_id, bool))
        or (isinstance(request_id, str) and len(request_id) <= 36)
    ):
        raise ControlError(None, 2, "Invalid request: request ID must be an unsigned integer")
    method = document.get("method")
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


def control_answer(request_id: Any, result: Any) -> str:
    return orjson.dumps({"result": result, "id": request_id}).decode()


def control_error(error: ControlError) -> str:
    return orjson.dumps({"code": error.code, "msg": error.msg, "id": error.request_id}).decode()


def frame(stream: str, payload: dict[str, Any], combined: bool) -> str:
    return orjson.dumps({"stream": stream, "data": payload} if combined else payload).decode()


def _levels(symbol: SymbolSettings, levels: list[tuple[int, int]]) -> list[list[str]]:
    return [[format_minor(p, symbol.quote_scale), format_minor(q, symbol.base_scale)] for p, q in levels]


def diff_depth(
    symbol: SymbolSettings,
    event_ms: int,
    first_id: int,
    last_id: int,
    bids: list[tuple[int, int]],
    asks: list[tuple[int, int]],
) -> dict[str, Any]:
    return {
        "e": "depthUpdate",
        "E": event_ms,
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
    event_ms: int,
    trade_id: int,
    price: int,
    quantity: int,
    trade_ms: int,
    buyer_is_maker: bool,
) -> dict[str, Any]:
    return {
        "e": "trade",
        "E": event_ms,
        "s": symbol.name,
        "t": trade_id,
        "p": format_minor(price, symbol.quote_scale),
        "q": format_minor(quantity, symbol.base_scale),
        "T": trade_ms,
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
