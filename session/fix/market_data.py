"""FIX 4.4 market data <-> the core: MarketDataRequest parsing and W/X/Y/y message bodies.

In Binance's dialect depth updates carry its update-id fields (25043 FirstBookUpdateID, 25044
LastBookUpdateID), so a client can check that increments follow its snapshot with no gap, and trades
carry TradeID (1003), AggressorSide (2446) and TransactTime (60); FIX 4.4 sessions get FIX 4.4 fields only
(a trade's MDEntryDate 272 and MDEntryTime 273).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from book.types import Side, TradeExecuted
from config.money import ascii_digits, format_minor
from config.settings import SymbolSettings
from session.fix.dialect import FixDialect
from session.fix.dictionary import CLIENT_ID, CLIENT_ID_PATTERN
from session.fix.order_entry import utc_timestamp

SECURITY_REQUEST_VALID = "0"  # SecurityRequestResult (560)
SECURITY_REQUEST_NO_INSTRUMENTS = "2"


class EntryType(enum.Enum):
    BID = "0"
    OFFER = "1"
    TRADE = "2"


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketDataSubscription:
    """A parsed MarketDataRequest (35=V)."""

    request_id: str
    subscribe: bool
    unsubscribe: bool
    depth_levels: int  # 0 is the full book: the venue sends its best ``depth_levels_max`` levels per side
    entry_types: frozenset[EntryType]
    symbols: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MarketDataRequestProblem:
    """Reject with MarketDataRequestReject (35=Y): MDReqRejReason (281), None where no value fits, and a
    text."""

    request_id: str
    reason_code: str | None
    text: str


def parse_market_data_request(
    fields: Sequence[tuple[int, str]], *, depth_levels_max: int, known_symbols: Iterable[str]
) -> MarketDataSubscription | MarketDataRequestProblem:
    """Read a V message's body fields, in order, groups included.

    An unsubscribe is by MDReqID alone (Binance's example sends no groups); a subscription's updates are
    incremental refreshes of the aggregated book, so MDUpdateType 0 and AggregatedBook N are refused.
    """
    values = {tag: value for tag, value in fields}
    request_id = values.get(262, "")
    if not CLIENT_ID.fullmatch(request_id):
        return MarketDataRequestProblem(request_id, None, f"MDReqID (262) must match {CLIENT_ID_PATTERN}")
    request_type = values.get(263)
    if request_type not in ("0", "1", "2"):
        return MarketDataRequestProblem(request_id, "4", "SubscriptionRequestType (263) must be 0, 1 or 2")
    if request_type == "2":
        return MarketDataSubscription(
            request_id=request_id,
            subscribe=False,
            unsubscribe=True,
            depth_levels=0,
            entry_types=frozenset(),
            symbols=(),
        )
    depth_raw = values.get(264, "0")
    if not ascii_digits(depth_raw) or int(depth_raw) > depth_levels_max:
        return MarketDataRequestProblem(request_id, "5", f"MarketDepth (264) must be 0 to {depth_levels_max}")
    if request_type == "1" and values.get(265, "1") != "1":
        text = "MDUpdateType (265) must be 1: updates come as incremental refreshes (X)"
        return MarketDataRequestProblem(request_id, "6", text)
    if values.get(266, "Y") != "Y":
        return MarketDataRequestProblem(
            request_id, "7", "AggregatedBook (266) must be Y: one entry per price"
        )
    entry_types = []
    for tag, value in fields:
        if tag == 269:
            try:
                entry_types.append(EntryType(value))
            except ValueError:
                return MarketDataRequestProblem(
                    request_id, "8", f"MDEntryType (269) {value} is not supported"
                )
    symbols = tuple(value for tag, value in fields if tag == 55)
    known = set(known_symbols)
    for symbol in symbols:
        if symbol not in known:
            return MarketDataRequestProblem(request_id, "0", f"Unknown symbol {symbol}")
    if not symbols or not entry_types:
        return MarketDataRequestProblem(
            request_id, "0", "NoRelatedSym (146) and NoMDEntryTypes (267) are required"
        )
    return MarketDataSubscription(
        request_id=request_id,
        subscribe=request_type == "1",
        unsubscribe=request_type == "2",
        depth_levels=int(depth_raw),
        entry_types=frozenset(entry_types),
        symbols=symbols,
    )


def _trade_entry(trade: TradeExecuted, symbol: SymbolSettings, dialect: FixDialect) -> list[tuple[int, str]]:
    entry = [
        (269, EntryType.TRADE.value),
        (270, format_minor(trade.price_minor, symbol.quote_scale)),
        (271, format_minor(trade.quantity_minor, symbol.base_scale)),
    ]
    if dialect is FixDialect.BINANCE:
        return [
            *entry,
            (1003, str(trade.trade_id)),
            (2446, "1" if trade.aggressor_side is Side.BUY else "2"),
            (60, utc_timestamp(trade.ts_ns)),
        ]
    date, _, time_of_day = utc_timestamp(trade.ts_ns).partition("-")
    return [*entry, (272, date), (273, time_of_day)]


def snapshot_fields(
    request_id: str,
    symbol: SymbolSettings,
    *,
    last_update_id: int,
    bids: Sequence[tuple[int, int]],
    asks: Sequence[tuple[int, int]],
    trades: Sequence[TradeExecuted],
    entry_types: frozenset[EntryType],
    dialect: FixDialect = FixDialect.FIX44,
) -> list[tuple[int, str]]:
    """Body of a MarketDataSnapshotFullRefresh (35=W)."""
    entries: list[list[tuple[int, str]]] = []
    for entry_type, levels in ((EntryType.BID, bids), (EntryType.OFFER, asks)):
        if entry_type in entry_types:
            entries += [
                [
                    (269, entry_type.value),
                    (270, format_minor(price, symbol.quote_scale)),
                    (271, format_minor(quantity, symbol.base_scale)),
                ]
                for price, quantity in levels
            ]
    if EntryType.TRADE in entry_types:
        entries += [_trade_entry(trade, symbol, dialect) for trade in trades]
    fields = [(262, request_id), (55, symbol.name)]
    if dialect is FixDialect.BINANCE:
        fields.append((25044, str(last_update_id)))
    fields.append((268, str(len(entries))))
    for entry in entries:
        fields += entry
    return fields


def incremental_fields(
    request_id: str,
    symbol: SymbolSettings,
    *,
    first_update_id: int,
    last_update_id: int,
    bids: Sequence[tuple[int, int, bool]],
    asks: Sequence[tuple[int, int, bool]],
    trades: Sequence[TradeExecuted],
    entry_types: frozenset[EntryType],
    dialect: FixDialect = FixDialect.FIX44,
) -> list[tuple[int, str]]:
    """Body of a MarketDataIncrementalRefresh (35=X); empty when nothing subscribed changed."""
    entries: list[list[tuple[int, str]]] = []
    for entry_type, levels in ((EntryType.BID, bids), (EntryType.OFFER, asks)):
        if entry_type not in entry_types:
            continue
        for price, quantity, is_new in levels:
            action = "2" if quantity == 0 else ("0" if is_new else "1")
            entry = [
                (279, action),
                (269, entry_type.value),
                (55, symbol.name),
                (270, format_minor(price, symbol.quote_scale)),
            ]
            if quantity:
                entry.append((271, format_minor(quantity, symbol.base_scale)))
            entries.append(entry)
    if EntryType.TRADE in entry_types:
        for trade in trades:
            entry = _trade_entry(trade, symbol, dialect)
            entries.append([(279, "0"), entry[0], (55, symbol.name), *entry[1:]])
    if not entries:
        return []
    fields = [(262, request_id)]
    if dialect is FixDialect.BINANCE:
        fields += [(25043, str(first_update_id)), (25044, str(last_update_id))]
    fields.append((268, str(len(entries))))
    for entry in entries:
        fields += entry
    return fields


def reject_fields(problem: MarketDataRequestProblem) -> list[tuple[int, str]]:
    """Body of a MarketDataRequestReject (35=Y)."""
    reason = [(281, problem.reason_code)] if problem.reason_code is not None else []
    return [(262, problem.request_id), *reason, (58, problem.text)]


def security_list_fields(
    request_id: str, response_id: str, symbols: Sequence[SymbolSettings]
) -> list[tuple[int, str]]:
    """Body of a SecurityList (35=y) with each symbol's tick and step (MinPriceIncrement, MinTradeVol)."""
    result = SECURITY_REQUEST_VALID if symbols else SECURITY_REQUEST_NO_INSTRUMENTS
    fields = [(320, request_id), (322, response_id), (560, result), (146, str(len(symbols)))]
    for symbol in symbols:
        fields += [
            (55, symbol.name),
            (15, symbol.quote),
            (969, format_minor(symbol.tick_size_minor, symbol.quote_scale)),
            (562, format_minor(symbol.min_quantity_minor, symbol.base_scale)),
            (1140, format_minor(symbol.max_quantity_minor, symbol.base_scale)),
            (561, format_minor(symbol.step_size_minor, symbol.base_scale)),
        ]
    return fields
