"""The WebSocket API's market methods that answer from the store (Binance: "Data Source: Database"):
``klines``/``uiKlines``, ``trades.historical``, ``trades.aggregate``, ``ticker`` and ``ticker.tradingDay``.

They read committed trades only, off the order path; SQLite aggregates on a connection of its own.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from book.trade_stats import Candle
from config.settings import SymbolSettings
from gateway.recovery import trade_event
from ledger.journal import TradeEntry
from ledger.store import TIME_NS_MAX, Store
from session.binance.errors import (
    BAD_PARAMETER_COMBINATION,
    INVALID_INTERVAL,
    INVALID_TICKER_TYPE,
    ApiFailure,
    bad_parameter,
    invalid_parameter,
)
from session.binance.kline_clock import KLINE_INTERVALS, KlineClock
from session.binance.klines import (
    KLINES_LIMIT_DEFAULT,
    KLINES_LIMIT_MAX,
    kline_opens,
    time_zone_offset_ms,
)
from session.binance.klines import klines as kline_arrays
from session.binance.market import TradeRun, recent_trades, trade_runs, window_size_ms, window_ticker
from session.binance.market import aggregate_trades as aggregate_trade_fields
from session.binance.requests import Params

TICKER_TYPES = ("FULL", "MINI")
HISTORY_LIMIT_DEFAULT = 500
HISTORY_LIMIT_MAX = 1000
AGGREGATE_PAGE_TRADES = 1000
AGGREGATE_TRADES_READ_MAX = 64_000  # trades one trades.aggregate request reads at most
_SYMBOL_SELECTION = frozenset({"symbol", "symbols"})
_WINDOW_BUCKET_MS = 8 * 86_400_000  # longer than the longest window (7 days and a minute)


def mini_ticker(params: Params) -> bool:
    """Whether ``type`` asks for the MINI ticker (FULL unless sent)."""
    kind = params.raw("type")
    if kind is not None and kind not in TICKER_TYPES:
        raise ApiFailure(INVALID_TICKER_TYPE)
    return kind == "MINI"


async def _whole_runs(
    page: Callable[..., Awaitable[list[TradeEntry]]], limit: int, *, newest: bool, from_id: int
) -> list[TradeRun]:
    """The first (or with ``newest`` the last) ``limit`` whole runs of trades from pages of
    ``page(limit=size)`` trades, those starting before the trade id ``from_id`` left out. A full page may
    end inside a run, which is then left out and the page read again, twice as long, up to
    ``AGGREGATE_TRADES_READ_MAX``."""
    size = AGGREGATE_PAGE_TRADES
    while True:
        trades = await page(limit=size)
        runs = trade_runs([trade_event(entry) for entry in trades])
        full = len(trades) == size
        if full and runs:
            runs = runs[1:] if newest else runs[:-1]
        runs = [run for run in runs if run.first.trade_id >= from_id]
        if not full or len(runs) >= limit or size >= AGGREGATE_TRADES_READ_MAX:
            return runs[-limit:] if newest else runs[:limit]
        size *= 2


class MarketHistory:
    """The store-backed market methods, given how the API reads a request's symbol and symbol list."""

    def __init__(
        self,
        store: Store,
        *,
        symbol_of: Callable[[Params], SymbolSettings],
        ticker_symbols_of: Callable[[Params], tuple[list[SymbolSettings], bool]],
    ) -> None:
        self.store = store
        self._symbol_of = symbol_of
        self._ticker_symbols_of = ticker_symbols_of

    async def stored_trades(self, params: Params) -> list:
        """Trades from the store: from the trade id ``fromId`` on, or else the most recent."""
        symbol = self._symbol_of(params)
        from_id = params.integer("fromId")
        limit = min(params.integer("limit", minimum=1) or HISTORY_LIMIT_DEFAULT, HISTORY_LIMIT_MAX)
        params.finish()
        if from_id is None:
            stored = await self.store.latest_trades(symbol.name, limit)
        else:
            stored = await self.store.trades_from_id(symbol.name, from_id, limit)
        return recent_trades(symbol, [trade_event(entry) for entry in stored])

    async def aggregate_trades(self, params: Params) -> list:
        """Aggregate trades from the store: from the aggregate id ``fromId`` on, from ``startTime`` (to
        ``endTime``), or else the most recent (up to ``endTime``)."""
        symbol = self._symbol_of(params)
        from_id = params.integer("fromId")
        start_ms, end_ms = params.time_ms("startTime"), params.time_ms("endTime")
        limit = min(params.integer("limit", minimum=1) or HISTORY_LIMIT_DEFAULT, HISTORY_LIMIT_MAX)
        params.finish()
        if from_id is not None and (start_ms is not None or end_ms is not None):
            raise ApiFailure(BAD_PARAMETER_COMBINATION)
        store, name = self.store, symbol.name
        until_ns = TIME_NS_MAX if end_ms is None else (end_ms + 1) * 1_000_000
        page: Callable[..., Awaitable[list[TradeEntry]]]
        if from_id is not None:
            # From the trade before: if the run of ``fromId`` began there, it is no aggregate from ``fromId``.
            page = partial(store.trades_from_id, name, max(from_id - 1, 0))
        elif start_ms is not None:
            since_ns = start_ms * 1_000_000
            page = partial(store.trades, since_ns, until_ns, name)
        else:
            page = partial(store.latest_trades, name, before_ns=until_ns)
        newest = from_id is None and start_ms is None
        return aggregate_trade_fields(
            symbol, await _whole_runs(page, limit, newest=newest, from_id=from_id or 0)
        )

    async def trading_day_tickers(self, params: Params) -> Any:
        """The current day in ``timeZone`` (UTC unless sent)."""
        mini = mini_ticker(params)
        offset_ms = time_zone_offset_ms(params.text("timeZone"))
        if offset_ms is None:
            raise ApiFailure(invalid_parameter("timeZone"))
        clock = KlineClock("1d", offset_ms)
        opened_ms = clock.open_at(time.time_ns() // 1_000_000)
        closed_ms = clock.after(opened_ms) - 1
        return await self._window_tickers(params, opened_ms, closed_ms, mini=mini)

    async def window_tickers(self, params: Params) -> Any:
        """``windowSize`` (1 day unless sent) up to now, from the start of its first minute, as on Binance."""
        mini = mini_ticker(params)
        window_ms = window_size_ms(params.text("windowSize") or "1d")
        if window_ms is None:
            raise ApiFailure(invalid_parameter("windowSize"))
        now_ms = time.time_ns() // 1_000_000
        return await self._window_tickers(params, (now_ms - window_ms) // 60_000 * 60_000, now_ms, mini=mini)

    async def _window_tickers(self, params: Params, opened_ms: int, closed_ms: int, *, mini: bool) -> Any:
        """The statistics of the committed trades from ``opened_ms`` to ``closed_ms`` of each symbol
        ``symbol`` or ``symbols`` (one must be sent) select."""
        if not params.sent_any(_SYMBOL_SELECTION):
            raise ApiFailure(bad_parameter("symbol"))
        symbols, single = self._ticker_symbols_of(params)
        since_ns, until_ns = opened_ms * 1_000_000, (closed_ms + 1) * 1_000_000
        tickers = []
        for symbol in symbols:
            # One bucket longer than any window, starting at its open: one candle, or none.
            candles = await self.store.trade_candles(
                symbol.name, _WINDOW_BUCKET_MS, -opened_ms, since_ns, until_ns
            )
            window = candles[0] if candles else Candle.empty(opened_ms, 0)
            tickers.append(window_ticker(symbol, window, closed_ms, mini=mini))
        return tickers[0] if single else tickers

    async def klines(self, params: Params) -> list:
        """Klines from the committed trades (``uiKlines`` is the same here: nothing is adjusted for
        charts). A ``startTime`` before the symbol's first trade counts from that trade's kline."""
        symbol = self._symbol_of(params)
        interval = params.text("interval", required=True)
        if interval not in KLINE_INTERVALS:
            raise ApiFailure(INVALID_INTERVAL)
        offset_ms = time_zone_offset_ms(params.text("timeZone"))
        if offset_ms is None:
            raise ApiFailure(invalid_parameter("timeZone"))
        start_ms, end_ms = params.time_ms("startTime"), params.time_ms("endTime")
        limit = min(params.integer("limit", minimum=1) or KLINES_LIMIT_DEFAULT, KLINES_LIMIT_MAX)
        params.finish()
        clock, now_ms = KlineClock(interval, offset_ms), time.time_ns() // 1_000_000
        if start_ms is not None:
            start_ms = await self._kline_start_ms(symbol.name, clock, start_ms, now_ms)
            if start_ms is None:
                return []
        opens = kline_opens(clock, start_ms=start_ms, end_ms=end_ms, limit=limit, now_ms=now_ms)
        if not opens:
            return []
        since_ns, until_ns = opens[0] * 1_000_000, clock.after(opens[-1]) * 1_000_000
        store = self.store
        candles = await store.trade_candles(symbol.name, clock.bucket_ms, clock.shift_ms, since_ns, until_ns)
        previous = await store.last_trade_before(symbol.name, since_ns)
        return kline_arrays(symbol, clock, opens, candles, None if previous is None else previous.price_minor)

    async def _kline_start_ms(self, symbol: str, clock: KlineClock, start_ms: int, now_ms: int) -> int | None:
        """``startTime``, or the open of the first trade's kline if the symbol had none before it; None if
        it has had no trade at all by now."""
        if await self.store.last_trade_before(symbol, start_ms * 1_000_000) is not None:
            return start_ms
        first = await self.store.trades(start_ms * 1_000_000, (now_ms + 1) * 1_000_000, symbol, limit=1)
        return max(start_ms, clock.open_at(first[0].ts_ns // 1_000_000)) if first else None
