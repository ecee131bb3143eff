"""A whole exchange in one event loop with no sockets and no database, for the gateway's unit tests.

``Balances`` is a small hand-written stand-in for the ledger's Funds port (holds and trade settlement
against per-account balances); commits complete on the next loop turn.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field

from book.order_book import OrderBook
from book.types import SelfTradePrevention, TradeExecuted
from config import load_settings
from config.money import parse_decimal_minor
from config.settings import Settings, SymbolSettings
from gateway.book_task import BookTask
from gateway.exchange import Exchange
from gateway.market_data import MarketDataBroadcaster
from gateway.metrics import Metrics


@dataclass
class Balances:
    """Funds port stand-in: available balances per (account, asset) and holds per order id."""

    available: dict[tuple[int, str], int] = field(default_factory=lambda: defaultdict(int))
    holds: dict[int, tuple[int, str, int]] = field(default_factory=dict)
    fee_bps: int = 10

    def hold(self, hold_id: int, account_id: int, asset: str, amount_minor: int) -> bool:
        if self.available[(account_id, asset)] < amount_minor:
            return False
        self.available[(account_id, asset)] -= amount_minor
        _, _, held = self.holds.get(hold_id, (account_id, asset, 0))
        self.holds[hold_id] = (account_id, asset, held + amount_minor)
        return True

    def hold_remaining(self, hold_id: int) -> int:
        return self.holds.get(hold_id, (0, "", 0))[2]

    def release(self, hold_id: int, amount_minor: int) -> None:
        account_id, asset, held = self.holds[hold_id]
        assert amount_minor <= held
        self.holds[hold_id] = (account_id, asset, held - amount_minor)
        self.available[(account_id, asset)] += amount_minor

    def _consume(self, hold_id: int, amount_minor: int) -> None:
        account_id, asset, held = self.holds[hold_id]
        assert amount_minor <= held, f"hold {hold_id} short: {held} < {amount_minor}"
        self.holds[hold_id] = (account_id, asset, held - amount_minor)

    def settle_trade(
        self, trade: TradeExecuted, *, symbol: SymbolSettings, buyer_hold_id: int, seller_hold_id: int
    ) -> tuple[int, int]:
        buyer_account = self.holds[buyer_hold_id][0]
        seller_account = self.holds[seller_hold_id][0]
        self._consume(buyer_hold_id, trade.quote_quantity_minor)
        self._consume(seller_hold_id, trade.quantity_minor)
        buyer_fee = -(-trade.quantity_minor * self.fee_bps // 10_000)
        seller_fee = -(-trade.quote_quantity_minor * self.fee_bps // 10_000)
        self.available[(buyer_account, symbol.base)] += trade.quantity_minor - buyer_fee
        self.available[(seller_account, symbol.quote)] += trade.quote_quantity_minor - seller_fee
        return buyer_fee, seller_fee


class Harness:
    """Book tasks, router and broadcaster for the demo symbols, running in the current loop."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or load_settings("config/demo.toml")
        self.funds = Balances()
        self.records: list[object] = []
        self.metrics = Metrics()
        self.broadcaster = MarketDataBroadcaster(self.settings.symbols)
        self.fatal: list[BaseException] = []
        books = {
            name: BookTask(
                symbol=symbol,
                book=OrderBook(symbol),
                funds=self.funds,
                record_order=self.records.append,
                record_amendment=lambda amendment: None,
                record_prevented_match=lambda symbol, match: None,
                queue_max=100,
                open_orders_per_account_max=self.settings.limits.open_orders_per_account_max,
                default_stp=lambda account_id: SelfTradePrevention.NONE,
                closed_orders_retained_max=self.settings.limits.closed_orders_retained_max,
                forget_order=lambda state: self.exchange.forget(state),
            )
            for name, symbol in self.settings.symbols.items()
        }
        self.exchange = Exchange(
            books=books,
            broadcaster=self.broadcaster,
            metrics=self.metrics,
            next_order_id=1,
            on_fatal=self.fatal.append,
        )
        self._tasks: list[asyncio.Task[None]] = []

    def _commit_point(self) -> asyncio.Future[None]:
        future = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_soon(future.set_result, None)
        return future

    async def __aenter__(self) -> Harness:
        for name, task in self.exchange.books.items():
            self._tasks.append(
                asyncio.create_task(
                    task.run(
                        batch_max=64,
                        commit_point=self._commit_point,
                        prepare=self.exchange.prepare,
                        release=lambda output, commit, name=name: self.exchange.release(name, output, commit),
                    )
                )
            )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def deposit(self, account_id: int, asset: str, amount: str) -> None:
        minor = parse_decimal_minor(amount, self.settings.assets[asset].scale)
        self.funds.available[(account_id, asset)] += minor
