"""The router and the one entry point for commands: ids, client order ids, book queues, releases.

Edges (FIX, WebSocket, admin) call ``execute``; it assigns order ids, refuses duplicate client order
ids and full queues at once, and returns the command's result after the commit that holds it.
Account reports go to the account's subscribers and market data to the broadcaster, also after commit.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol

import structlog

from book.reports import OrderReport
from book.types import Command, OrderStatus, RejectReason, SubmitOrder, TradeExecuted
from gateway.book_task import BookTask, Request, Result, TurnOutput
from gateway.market_data import MarketDataBroadcaster
from gateway.metrics import Metrics
from gateway.orders import OrderState

log = structlog.get_logger("gateway.exchange")


class AccountSubscriber(Protocol):
    """Receives every report of one account's orders as its turn ends, with the commit that holds it.

    It may render and record at once (a FIX session stores its outgoing frames in that same commit)
    but must release nothing to its client before ``commit`` completes. Must not block.
    """

    def offer_report(self, report: OrderReport, commit: asyncio.Future[None]) -> bool: ...

    def disconnect(self, reason: str) -> None: ...


class Exchange:
    """Routes commands to book tasks and releases their results once durable."""

    def __init__(
        self,
        *,
        books: dict[str, BookTask],
        broadcaster: MarketDataBroadcaster,
        metrics: Metrics,
        next_order_id: int,
        on_fatal: Callable[[BaseException], None],
    ) -> None:
        self.books = books
        self.broadcaster = broadcaster
        self.metrics = metrics
        self._next_order_id = next_order_id
        self._on_fatal = on_fatal
        self._order_symbol: dict[int, str] = {}
        self._client_order_ids: dict[tuple[int, str], int] = {}
        # Client order ids an order was known by before its latest two (cancel/replace chains).
        self._earlier_names: dict[int, list[str]] = {}
        self._account_subscribers: dict[int, set[AccountSubscriber]] = {}
        for symbol, task in books.items():
            for state in task.orders.values():
                self._index(state, symbol)

    def _index(self, state: OrderState, symbol: str) -> None:
        """Index a recovered order; of two retained orders with one client order id, the newer wins."""
        self._order_symbol[state.order_id] = symbol
        if state.client_order_id:
            key = (state.account_id, state.client_order_id)
            if self._client_order_ids.get(key, -1) < state.order_id:
                self._client_order_ids[key] = state.order_id

    # Queries ----------------------------------------------------------------------------------------

    def find_order(
        self, account_id: int, *, order_id: int | None = None, client_order_id: str | None = None
    ) -> OrderState | None:
        """The account's order by id or client order id, or None (another account's order is not found)."""
        if order_id is None and client_order_id:
            order_id = self._client_order_ids.get((account_id, client_order_id))
        symbol = self._order_symbol.get(order_id) if order_id is not None else None
        state = self.books[symbol].orders.get(order_id) if symbol else None
        return state if state is not None and state.account_id == account_id else None

    def filter_failure(self, symbol: str, command: SubmitOrder) -> RejectReason | None:
        """Why ``command`` fails the symbol's filters, or None; refusals that depend on the book's
        state (halt, post-only, balance, open orders) are left to the book's turn."""
        return self.books[symbol].book.filter_problem(command)

    def open_orders(self, account_id: int, symbol: str | None = None) -> list[OrderState]:
        """The account's open orders, oldest first per symbol, from each book's own index of the account's
        resting orders (a scan of every retained order cost milliseconds per query)."""
        tasks = [self.books[symbol]] if symbol else list(self.books.values())
        return [task.orders[view.order_id] for task in tasks for view in task.book.open_orders(account_id)]

    # Commands ---------------------------------------------------------------------------------------

    def peek_next_order_id(self) -> int:
        """The id the next order will get (persisted each turn so ids never repeat after a restart)."""
        return self._next_order_id

    def new_order_id(self) -> int:
        order_id = self._next_order_id
        self._next_order_id += 1
        return order_id

    async def execute(
        self, symbol: str, command: Command, *, client_order_id: str = "", origin: str = ""
    ) -> Result:
        """Queue ``command`` for ``symbol``'s book and return its result once committed."""
        return await self.submit(symbol, command, client_order_id=client_order_id, origin=origin)

    def submit(
        self,
        symbol: str,
        command: Command,
        *,
        client_order_id: str = "",
        origin: str = "",
        unique_among_open_orders: bool = False,
        cancel_only_if: OrderStatus | None = None,
    ) -> asyncio.Future[Result]:
        """Queue ``command`` now (no await, so callers keep their order) and return its result's future.

        A client order id names one order among the account's retained orders (FIX: ClOrdID is unique
        for the day), or with ``unique_among_open_orders`` among its open ones, so that the id of a
        closed order may name a new one (Binance).
        """
        loop = asyncio.get_running_loop()
        reply: asyncio.Future[Result] = loop.create_future()
        task = self.books.get(symbol)
        if task is None:
            reply.set_result(Result(error=RejectReason.UNKNOWN_SYMBOL))
            return reply
        is_new_order = isinstance(command, SubmitOrder)
        key = (getattr(command, "account_id", 0), client_order_id)
        names_an_order = client_order_id and hasattr(command, "order_id")
        if names_an_order and key in self._client_order_ids:
            named = self._client_order_ids[key]
            if not (unique_among_open_orders and self._is_closed(named)):
                reply.set_result(Result(error=RejectReason.DUPLICATE_ORDER_ID))
                return reply
        try:
            task.queue.put_nowait(
                Request(
                    command=command,
                    client_order_id=client_order_id,
                    origin=origin,
                    reply=reply,
                    cancel_only_if=cancel_only_if,
                )
            )
        except asyncio.QueueFull:
            self.metrics.rejects.labels(RejectReason.QUEUE_FULL.value).inc()
            reply.set_result(Result(error=RejectReason.QUEUE_FULL))
            return reply
        if is_new_order:
            self.metrics.orders.labels(symbol).inc()
            self._order_symbol[command.order_id] = symbol
            if client_order_id:
                self._client_order_ids[key] = command.order_id
        elif names_an_order:
            # A cancel or replace's ClOrdID names the order once it succeeds (FIX chains OrigClOrdID).
            reply.add_done_callback(lambda done: self._name_order(done, key, command.order_id))
        return reply

    def _is_closed(self, order_id: int) -> bool:
        """Whether the order has closed (False while it is still queued for its first turn)."""
        symbol = self._order_symbol.get(order_id)
        state = self.books[symbol].orders.get(order_id) if symbol is not None else None
        return state is not None and not state.is_open

    def _name_order(self, done: asyncio.Future[Result], key: tuple[int, str], order_id: int) -> None:
        if done.cancelled() or done.result().error is not None or order_id not in self._order_symbol:
            return
        self._client_order_ids[key] = order_id
        state = self.books[self._order_symbol[order_id]].orders.get(order_id)
        if state is not None and state.original_client_order_id:
            self._earlier_names.setdefault(order_id, []).append(state.original_client_order_id)

    def forget(self, state: OrderState) -> None:
        """Drop the ids naming an order its book no longer keeps (it closed before the retained ones)."""
        self._order_symbol.pop(state.order_id, None)
        names = (state.client_order_id, state.original_client_order_id)
        for client_order_id in (*names, *self._earlier_names.pop(state.order_id, ())):
            key = (state.account_id, client_order_id)
            if self._client_order_ids.get(key) == state.order_id:
                del self._client_order_ids[key]

    # Accounts ---------------------------------------------------------------------------------------

    def subscribe_account(self, account_id: int, subscriber: AccountSubscriber) -> None:
        self._account_subscribers.setdefault(account_id, set()).add(subscriber)

    def unsubscribe_account(self, account_id: int, subscriber: AccountSubscriber) -> None:
        subscribers = self._account_subscribers.get(account_id)
        if subscribers is not None:
            subscribers.discard(subscriber)

    # Release after commit ---------------------------------------------------------------------------

    def prepare(self, output: TurnOutput, commit: asyncio.Future[None]) -> None:
        """Hand a turn's reports to their accounts' subscribers before its commit (``AccountSubscriber``)."""
        for report in output.reports:
            self._deliver(report, commit)

    def release(self, symbol: str, output: TurnOutput, commit: asyncio.Future[None]) -> None:
        """Deliver one turn's output now that its commit finished; a failed commit stops the process."""
        if commit.cancelled() or commit.exception() is not None:
            error = commit.exception() if not commit.cancelled() else asyncio.CancelledError()
            log.critical(
                "commit failed; stopping so that no client is told what is not durable",
                symbol=symbol,
                error=repr(error),
            )
            self._on_fatal(error)
            return
        now_ns = time.perf_counter_ns()
        for enqueued_ns in output.enqueued_ns:
            self.metrics.ack_latency_s.observe((now_ns - enqueued_ns) / 1e9)
        for future, result in output.replies:
            if not future.done():
                future.set_result(result)
        if output.market_events:
            fills = sum(1 for event in output.market_events if type(event) is TradeExecuted)
            if fills:
                self.metrics.fills.labels(symbol).inc(fills)
            self.broadcaster.publish(symbol, output.market_events, time.time_ns())
        for report in output.reports:
            if report.reject_reason is not None:
                self.metrics.rejects.labels(report.reject_reason.value).inc()

    def _deliver(self, report: OrderReport, commit: asyncio.Future[None]) -> None:
        subscribers = self._account_subscribers.get(report.account_id)
        if not subscribers:
            return
        for subscriber in [s for s in subscribers if not s.offer_report(report, commit)]:
            subscribers.discard(subscriber)
            subscriber.disconnect("slow consumer: account report queue full")
