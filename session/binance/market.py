"""Market and reference answers in Binance's shapes: exchangeInfo with our filters, order book depth."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from book.trade_stats import Candle, RollingStats
from book.types import Side, TradeExecuted
from config.money import format_minor
from config.settings import SymbolSettings
from session.binance.rate_limits import RateLimit

ORDER_TYPES = ["LIMIT", "LIMIT_MAKER", "MARKET"]
STP_MODES = ["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"]


def trading_status(halted: bool) -> str:
    """A symbol's ``status`` in Binance's words (what ``symbolStatus`` filters on)."""
    return "HALT" if halted else "TRADING"


def symbol_info(symbol: SymbolSettings, *, halted: bool, open_orders_max: int) -> dict[str, Any]:
    quote, base = symbol.quote_scale, symbol.base_scale
    return {
        "symbol": symbol.name,
        "status": trading_status(halted),
        "baseAsset": symbol.base,
        "baseAssetPrecision": base,
        "quoteAsset": symbol.quote,
        "quotePrecision": quote,
        "quoteAssetPrecision": quote,
        "baseCommissionPrecision": base,
        "quoteCommissionPrecision": quote,
        "orderTypes": ORDER_TYPES,
        "icebergAllowed": False,
        "ocoAllowed": False,
        "otoAllowed": False,
        "opoAllowed": False,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": False,
        "cancelReplaceAllowed": True,
        "amendAllowed": True,
        "pegInstructionsAllowed": False,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": format_minor(symbol.min_price_minor, quote),
                "maxPrice": format_minor(symbol.max_price_minor, quote),
                "tickSize": format_minor(symbol.tick_size_minor, quote),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": format_minor(symbol.min_quantity_minor, base),
                "maxQty": format_minor(symbol.max_quantity_minor, base),
                "stepSize": format_minor(symbol.step_size_minor, base),
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": format_minor(symbol.min_notional_minor, quote),
                "applyMinToMarket": True,
                "maxNotional": "9000000000.00000000",
                "applyMaxToMarket": False,
                "avgPriceMins": 0,
            },
            {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": open_orders_max},
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "NONE",
        "allowedSelfTradePreventionModes": STP_MODES,
    }


def exchange_info(
    symbols: Iterable[dict[str, Any]], rate_limits: Sequence[RateLimit], server_time_ms: int
) -> dict[str, Any]:
    return {
        "timezone": "UTC",
        "serverTime": server_time_ms,
        "rateLimits": [
            {
                "rateLimitType": limit.kind,
                "interval": limit.interval,
                "intervalNum": limit.interval_count,
                "limit": limit.limit,
            }
            for limit in rate_limits
        ],
        "exchangeFilters": [],
        "symbols": list(symbols),
        "sors": [],
    }


def depth(
    symbol: SymbolSettings,
    last_update_id: int,
    bids: Sequence[tuple[int, int]],
    asks: Sequence[tuple[int, int]],
) -> dict[str, Any]:
    quote, base = symbol.quote_scale, symbol.base_scale
    return {
        "lastUpdateId": last_update_id,
        "bids": [[format_minor(price, quote), format_minor(quantity, base)] for price, quantity in bids],
        "asks": [[format_minor(price, quote), format_minor(quantity, base)] for price, quantity in asks],
    }


def recent_trades(symbol: SymbolSettings, trades: Sequence[Any]) -> list[dict[str, Any]]:
    """``trades.recent``: oldest first, as Binance lists them."""
    quote, base = symbol.quote_scale, symbol.base_scale
    return [
        {
            "id": trade.trade_id,
            "price": format_minor(trade.price_minor, quote),
            "qty": format_minor(trade.quantity_minor, base),
            "quoteQty": format_minor(trade.quote_quantity_minor, quote),
            "time": trade.ts_ns // 1_000_000,
            "isBuyerMaker": trade.aggressor_side.value == "SELL",
            "isBestMatch": True,
        }
        for trade in trades
    ]


@dataclass(frozen=True, slots=True)
class TradeRun:
    """Trades of one taker order at one price at one time: one Binance aggregate trade."""

    first: TradeExecuted
    last: TradeExecuted
    quantity_minor: int


def trade_runs(trades: Iterable[TradeExecuted]) -> list[TradeRun]:
    """``trades``, in trade id order, as runs: consecutive trades of one taker order at one price and time."""
    runs: list[TradeRun] = []
    for trade in trades:
        if runs:
            run = runs[-1]
            last = run.last
            if (last.taker_order_id, last.price_minor, last.ts_ns) == (
                trade.taker_order_id,
                trade.price_minor,
                trade.ts_ns,
            ):
                runs[-1] = TradeRun(run.first, trade, run.quantity_minor + trade.quantity_minor)
                continue
        runs.append(TradeRun(trade, trade, trade.quantity_minor))
    return runs


def aggregate_trades(symbol: SymbolSettings, runs: Iterable[TradeRun]) -> list[dict[str, Any]]:
    """``trades.aggregate``: each run as Binance's aggregate trade, its id the id of its first trade."""
    quote, base = symbol.quote_scale, symbol.base_scale
    return [
        {
            "a": run.first.trade_id,
            "p": format_minor(run.first.price_minor, quote),
            "q": format_minor(run.quantity_minor, base),
            "f": run.first.trade_id,
            "l": run.last.trade_id,
            "T": run.first.ts_ns // 1_000_000,
            "m": run.first.aggressor_side is Side.SELL,
            "M": True,
        }
        for run in runs
    ]


def ticker_price(symbol: SymbolSettings, last_price_minor: int) -> dict[str, Any]:
    return {"symbol": symbol.name, "price": format_minor(last_price_minor, symbol.quote_scale)}


def ticker_book(
    symbol: SymbolSettings, bid: tuple[int, int] | None, ask: tuple[int, int] | None
) -> dict[str, Any]:
    """``ticker.book``: the best bid and ask and their quantities; an empty side is all zeros."""
    quote, base = symbol.quote_scale, symbol.base_scale
    bid_price, bid_quantity = bid or (0, 0)
    ask_price, ask_quantity = ask or (0, 0)
    return {
        "symbol": symbol.name,
        "bidPrice": format_minor(bid_price, quote),
        "bidQty": format_minor(bid_quantity, base),
        "askPrice": format_minor(ask_price, quote),
        "askQty": format_minor(ask_quantity, base),
    }


def ratio_text(numerator: int, denominator: int, scale: int) -> str:
    """``numerator / denominator`` rounded half up to ``scale`` places, from integers only."""
    if denominator == 0:
        return format_minor(0, scale)
    scaled = (abs(numerator) * 10**scale * 2 + abs(denominator)) // (2 * abs(denominator))
    return format_minor(-scaled if (numerator < 0) != (denominator < 0) else scaled, scale)


def average_price_text(symbol: SymbolSettings, quote_volume_minor: int, volume_minor: int) -> str:
    """The volume-weighted average price of trades that moved these volumes, at the price's scale."""
    price, quantity = symbol.quote_scale, symbol.base_scale
    return ratio_text(quote_volume_minor * 10**quantity, volume_minor * 10**price, price)


def ticker_24hr(
    symbol: SymbolSettings,
    stats: RollingStats,
    bid: tuple[int, int] | None,
    ask: tuple[int, int] | None,
    *,
    mini: bool,
) -> dict[str, Any]:
    """``ticker.24hr`` for the rolling window in ``stats``; ``mini`` (``type`` MINI) leaves out the change,
    the averages, the previous close, the last quantity and the book."""
    price, quantity = symbol.quote_scale, symbol.base_scale
    window = {
        "openPrice": format_minor(stats.open_minor, price),
        "highPrice": format_minor(stats.high_minor, price),
        "lowPrice": format_minor(stats.low_minor, price),
        "lastPrice": format_minor(stats.last_minor, price),
        "volume": format_minor(stats.volume_minor, quantity),
        "quoteVolume": format_minor(stats.quote_volume_minor, price),
        "openTime": stats.open_ms,
        "closeTime": stats.close_ms,
        "firstId": stats.first_trade_id,
        "lastId": stats.last_trade_id,
        "count": stats.count,
    }
    if mini:
        return {"symbol": symbol.name, **window}
    change = stats.last_minor - stats.open_minor
    bid_price, bid_quantity = bid or (0, 0)
    ask_price, ask_quantity = ask or (0, 0)
    return {
        "symbol": symbol.name,
        "priceChange": format_minor(change, price),
        "priceChangePercent": ratio_text(change * 100, stats.open_minor, 3),
        "weightedAvgPrice": average_price_text(symbol, stats.quote_volume_minor, stats.volume_minor),
        "prevClosePrice": format_minor(stats.previous_close_minor, price),
        "lastPrice": window["lastPrice"],
        "lastQty": format_minor(stats.last_quantity_minor, quantity),
        "bidPrice": format_minor(bid_price, price),
        "bidQty": format_minor(bid_quantity, quantity),
        "askPrice": format_minor(ask_price, price),
        "askQty": format_minor(ask_quantity, quantity),
        **{name: value for name, value in window.items() if name != "lastPrice"},
    }


_WINDOW_TICKER_FIELDS = (
    "symbol", "priceChange", "priceChangePercent", "weightedAvgPrice", "openPrice", "highPrice", "lowPrice",
    "lastPrice", "volume", "quoteVolume", "openTime", "closeTime", "firstId", "lastId", "count",
)  # fmt: skip


def window_ticker(symbol: SymbolSettings, window: Candle, close_ms: int, *, mini: bool) -> dict[str, Any]:
    """``ticker`` and ``ticker.tradingDay``: ``ticker.24hr``'s fields for the trades of ``window`` (from
    its start to ``close_ms``), without the previous close, the last quantity and the book."""
    stats = RollingStats(
        window.start_ms,
        close_ms,
        window.open_minor,
        window.high_minor,
        window.low_minor,
        window.close_minor,
        0,
        0,
        window.volume_minor,
        window.quote_volume_minor,
        window.count,
        window.first_trade_id,
        window.last_trade_id,
    )
    fields = ticker_24hr(symbol, stats, None, None, mini=mini)
    return fields if mini else {name: fields[name] for name in _WINDOW_TICKER_FIELDS}


_WINDOW_SIZE = re.compile(r"([1-9][0-9]?)([mhd])")
_WINDOW_UNITS_MS = {"m": (60_000, 59), "h": (3_600_000, 23), "d": (86_400_000, 7)}


def window_size_ms(text: str) -> int | None:
    """``ticker``'s ``windowSize``: ``1m``..``59m``, ``1h``..``23h`` or ``1d``..``7d``; None otherwise."""
    match = _WINDOW_SIZE.fullmatch(text)
    if match is None:
        return None
    unit_ms, most = _WINDOW_UNITS_MS[match[2]]
    count = int(match[1])
    return count * unit_ms if count <= most else None


def average_price(
    symbol: SymbolSettings, stats: RollingStats, window_minutes: int, last_trade_ms: int
) -> dict[str, Any]:
    """``avgPrice``: the volume-weighted price of the last ``window_minutes`` (the last trade's price if
    none traded in them) and the time of the last trade."""
    text = (
        average_price_text(symbol, stats.quote_volume_minor, stats.volume_minor)
        if stats.volume_minor
        else format_minor(stats.last_minor, symbol.quote_scale)
    )
    return {"mins": window_minutes, "price": text, "closeTime": last_trade_ms}
