"""The task that owns one symbol: its book, its orders' state, and their holds in the ledger.

Commands arrive through one bounded queue and are processed synchronously, so a balance check and
its reservation never have an ``await`` between them. Everything a turn produces is recorded for the
group commit; replies, account reports and market data are released only once that commit is durable.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from book.reports import ExecutionKind, OrderAmendment, OrderReport
from book.types import (
    CancelAllOrders,
    CancelOrder,
    CancelRejected,
    Command,
    ExpireReason,
    MatchPrevented,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderRejected,
    OrderReplaced,
    OrderStatus,
    OrderType,
    PriceLevelChanged,
    RejectReason,
    ReplaceOrder,
    SelfTradePrevention,
    SetSymbolStatus,
    Side,
    SubmitOrder,
    SymbolStatusChanged,
    TradeExecuted,
)
from config.settings import STORED_INTEGER_MAX, SymbolSettings
from gateway.orders import OrderState


class Funds(Protocol):
    """The ledger operations a book task needs; all synchronous, all recorded for the next commit."""

    def hold(self, hold_id: int, account_id: int, asset: str, amount_minor: int) -> bool: ...

    def hold_remaining(self, hold_id: int) -> int: ...

    def release(self, hold_id: int, amount_minor: int) -> None: ...

    def settle_trade(
        self, trade: TradeExecuted, *, symbol: SymbolSettings, buyer_hold_id: int, seller_hold_id: int
    ) -> tuple[int, int]: ...


@dataclass(slots=True, kw_only=True)
class Request:
    """One command on its way to a book, with what the reply needs."""

    command: Command
    client_order_id: str = ""
    origin: str = ""
    reply: asyncio.Future[Result] | None = None
    # A cancel that goes ahead only while its order is in this status (checked in the order's turn).
    cancel_only_if: OrderStatus | None = None
    enqueued_ns: int = field(default_factory=time.perf_counter_ns)


@dataclass(frozen=True, slots=True, kw_only=True)
class Result:
    """What one command did, released after its commit: the reports of its order(s) or a refusal, and
    the matches self-trade prevention stopped (Binance lists them in the taker's placement answer)."""

    reports: tuple[OrderReport, ...] = ()
    error: RejectReason | None = None
    prevented_matches: tuple[MatchPrevented, ...] = ()
    amendment: OrderAmendment | None = None  # a replace that reduced the quantity in place


@dataclass(slots=True)
class TurnOutput:
    """Everything one turn produced, held back until the commit that makes it durable."""

    replies: list[tuple[asyncio.Future[Result], Result]] = field(default_factory=list)
    reports: list[OrderReport] = field(default_factory=list)
    market_events: list[Any] = field(default_factory=list)
    enqueued_ns: list[int] = field(default_factory=list)


def _storable(command: SubmitOrder) -> bool:
    """Whether every amount ``command`` names fits the store's 64-bit columns (the book's filters refuse
    any that does not, since the symbol's bounds do; so only a refused order can name one)."""
    return all(
        amount is None or -STORED_INTEGER_MAX <= amount <= STORED_INTEGER_MAX
        for amount in (command.price_minor, command.quantity_minor, command.quote_quantity_minor)
    )


class BookTask:
    """Owns one symbol's book; ``run`` is its only writer loop."""

    def __init__(
        self,
        *,
        symbol: SymbolSettings,
        book: Any,
        funds: Funds,
        record_order: Callable[[OrderState], None],
        record_amendment: Callable[[OrderAmendment], None],
        record_prevented_match: Callable[[str, MatchPrevented], None],
        queue_max: int,
        open_orders_per_account_max: int,
        default_stp: Callable[[int], SelfTradePrevention],
        closed_orders_retained_max: int,
        forget_order: Callable[[OrderState], None],
    ) -> None:
        self.symbol = symbol
        self.book = book
        self.funds = funds
        self.queue: asyncio.Queue[Request] = asyncio.Queue(maxsize=queue_max)
        self.orders: dict[int, OrderState] = {}
        self.open_orders_per_account: dict[int, int] = {}
        self._record_order = record_order
        self._record_amendment = record_amendment
        self._record_prevented_match = record_prevented_match
        self._open_orders_per_account_max = open_orders_per_account_max
        self._default_stp = default_stp
        self._closed: deque[int] = deque()  # ids of the retained closed orders, oldest first
        self._closed_orders_retained_max = closed_orders_retained_max
        self._forget_order = forget_order

    def retain_closed(self, states: list[OrderState]) -> None:
        """Keep closed orders recovered at start (oldest first), as if they had closed in this run."""
        for state in states:
            self.orders[state.order_id] = state
            self._closed.append(state.order_id)

    # Processing (synchronous, one command at a time) ---------------------------------------------

    def process(self, request: Request, output: TurnOutput) -> None:
        command = request.command
        reports: list[OrderReport] = []
        prevented: list[MatchPrevented] = []
        amendments: list[OrderAmendment] = []
        if isinstance(command, SubmitOrder):
            error = self._submit(request, command, reports, prevented, output)
        elif isinstance(command, CancelOrder | ReplaceOrder | CancelAllOrders):
            error = self._amend(request, command, reports, prevented, output, amendments)
        elif isinstance(command, SetSymbolStatus):
            error = None
            output.market_events.extend(self.book.apply(command))
        else:
            raise AssertionError(f"unexpected command {command!r}")
        output.reports.extend(reports)
        output.enqueued_ns.append(request.enqueued_ns)
        while len(self._closed) > self._closed_orders_retained_max:
            self._forget_order(self.orders.pop(self._closed.popleft()))
        if request.reply is not None:
            result = Result(
                reports=tuple(reports),
                error=error,
                prevented_matches=tuple(prevented),
                amendment=amendments[0] if amendments else None,
            )
            output.replies.append((request.reply, result))

    def _submit(
        self,
        request: Request,
        command: SubmitOrder,
        reports: list[OrderReport],
        prevented: list[MatchPrevented],
        output: TurnOutput,
    ) -> RejectReason | None:
        state = OrderState.from_command(
            command,
            symbol=self.symbol.name,
            client_order_id=request.client_order_id,
            origin=request.origin,
            default_stp=self._default_stp(command.account_id),
        )
        reason = self._pre_trade_check(command)
        if reason is not None and not _storable(command):
            # Recorded, the order would fail the commit it rides in, and the writer every commit after.
            self._forget_order(state)
            return reason
        if reason is not None:
            state.status = OrderStatus.REJECTED
            self._record_order(state)
            reports.append(state.report(ExecutionKind.REJECTED, command.ts_ns, reject_reason=reason))
            self.orders[command.order_id] = state
            self._closed.append(command.order_id)
            return reason
        self.orders[command.order_id] = state
        self.open_orders_per_account[command.account_id] = (
            self.open_orders_per_account.get(command.account_id, 0) + 1
        )
        self._apply_events(self.book.submit_checked(command), reports, prevented, output)
        if state.is_open:
            self._trim_hold(state)
        return None

    def _pre_trade_check(self, command: SubmitOrder) -> RejectReason | None:
        reason = self.book.check_filters(command)
        if reason is not None:
            return reason
        if self.open_orders_per_account.get(command.account_id, 0) >= self._open_orders_per_account_max:
            return RejectReason.TOO_MANY_OPEN_ORDERS
        asset, amount = self._spend(command)
        if not self.funds.hold(command.order_id, command.account_id, asset, amount):
            return RejectReason.INSUFFICIENT_BALANCE
        return None

    def _spend(self, command: SubmitOrder) -> tuple[str, int]:
        """The asset and amount an order can spend at most, reserved before it may trade."""
        if command.side is Side.SELL:
            if command.order_type is OrderType.MARKET and command.quantity_minor is None:
                return self.symbol.base, self.book.spend_required(command)
            return self.symbol.base, command.quantity_minor or 0
        return self.symbol.quote, self.book.spend_required(command)

    def _trim_hold(self, state: OrderState) -> None:
        """Release what a resting buy no longer needs (it took liquidity below its limit)."""
        if state.side is Side.BUY:
            needed = self.symbol.notional_minor(state.price_minor, state.leaves_minor)
        else:
            needed = state.leaves_minor
        excess = self.funds.hold_remaining(state.order_id) - needed
        assert excess >= 0, f"hold of order {state.order_id} is short by {-excess}"
        if excess:
            self.funds.release(state.order_id, excess)

    def _amend(
        self,
        request: Request,
        command: CancelOrder | ReplaceOrder | CancelAllOrders,
        reports: list[OrderReport],
        prevented: list[MatchPrevented],
        output: TurnOutput,
        amendments: list[OrderAmendment],
    ) -> RejectReason | None:
        if isinstance(command, ReplaceOrder):
            reason = self.book.check_replace(command) or self._reserve_for_replace(command)
            if reason is not None:
                return reason
        elif request.cancel_only_if is not None:
            state = self.orders.get(getattr(command, "order_id", -1))
            if state is not None and state.is_open and state.status is not request.cancel_only_if:
                return RejectReason.CANCEL_RESTRICTED
        events = self.book.apply(command)
        for event in events:
            if type(event) is CancelRejected:
                return event.reason
        target = self.orders.get(getattr(command, "order_id", -1))
        if target is None:
            self._apply_events(events, reports, prevented, output)
            return None
        before = (target.client_order_id, target.quantity_minor)
        if request.client_order_id:
            target.original_client_order_id = target.client_order_id
            target.client_order_id = request.client_order_id
        self._apply_events(events, reports, prevented, output)
        if isinstance(command, ReplaceOrder):
            if target.is_open:
                self._trim_hold(target)
            amendments.extend(self._amendments(target, events, *before))
            for amendment in amendments:
                self._record_amendment(amendment)
        return None

    def _amendments(
        self, state: OrderState, events: list, client_order_id: str, quantity_minor: int
    ) -> list[OrderAmendment]:
        """A replace that reduced the order's quantity in place (it kept its time priority), if it did."""
        return [
            OrderAmendment(
                event.sequence,
                self.symbol.name,
                state.order_id,
                state.account_id,
                client_order_id,
                state.client_order_id,
                quantity_minor,
                event.quantity_minor,
                event.ts_ns,
            )
            for event in events
            if type(event) is OrderReplaced and event.kept_priority and event.quantity_minor < quantity_minor
        ]

    def _reserve_for_replace(self, command: ReplaceOrder) -> RejectReason | None:
        """Reserve more before a replace the book accepts and that needs more; nothing changes if
        that is refused (the book checks first: a top-up for a replace it refuses would stay held)."""
        state = self.orders[command.order_id]
        leaves = command.quantity_minor - state.filled_minor
        needed = self.symbol.notional_minor(command.price_minor, leaves) if state.side is Side.BUY else leaves
        extra = needed - self.funds.hold_remaining(state.order_id)
        if extra > 0:
            asset = self.symbol.quote if state.side is Side.BUY else self.symbol.base
            if not self.funds.hold(state.order_id, state.account_id, asset, extra):
                return RejectReason.INSUFFICIENT_BALANCE
        return None

    # Events -> order state, ledger postings, reports ----------------------------------------------

    def _apply_events(
        self,
        events: list[Any],
        reports: list[OrderReport],
        prevented: list[MatchPrevented],
        output: TurnOutput,
    ) -> None:
        for event in events:
            kind = type(event)
            if kind is PriceLevelChanged:
                output.market_events.append(event)
            elif kind is TradeExecuted:
                output.market_events.append(event)
                self._on_trade(event, reports)
            elif kind is OrderAccepted:
                state = self.orders[event.order_id]
                state.priority_sequence = event.sequence
                self._record_order(state)
                reports.append(state.report(ExecutionKind.NEW, event.ts_ns))
            elif kind is MatchPrevented:
                prevented.append(event)
                self._on_prevented(event)
            elif kind is OrderCanceled or kind is OrderExpired:
                self._on_done(event, reports)
            elif kind is OrderReplaced:
                state = self.orders[event.order_id]
                state.price_minor = event.price_minor
                state.quantity_minor = event.quantity_minor
                if not event.kept_priority:
                    state.priority_sequence = event.sequence
                state.updated_ns = event.ts_ns
                self._record_order(state)
                reports.append(state.report(ExecutionKind.REPLACED, event.ts_ns))
            elif kind is OrderRejected:
                state = self.orders[event.order_id]
                state.status = OrderStatus.REJECTED
                self._close(state)
                reports.append(state.report(ExecutionKind.REJECTED, event.ts_ns, reject_reason=event.reason))
            elif kind is SymbolStatusChanged:
                output.market_events.append(event)

    def _on_trade(self, trade: TradeExecuted, reports: list[OrderReport]) -> None:
        maker = self.orders[trade.maker_order_id]
        taker = self.orders[trade.taker_order_id]
        buyer, seller = (taker, maker) if trade.aggressor_side is Side.BUY else (maker, taker)
        buyer_fee, seller_fee = self.funds.settle_trade(
            trade, symbol=self.symbol, buyer_hold_id=buyer.order_id, seller_hold_id=seller.order_id
        )
        for state, is_maker in ((maker, True), (taker, False)):
            fee = buyer_fee if state is buyer else seller_fee
            state.filled_minor += trade.quantity_minor
            state.cumulative_quote_minor += trade.quote_quantity_minor
            state.commission_minor += fee
            state.commission_asset = self.symbol.base if state is buyer else self.symbol.quote
            state.updated_ns = trade.ts_ns
            leaves = trade.maker_leaves_minor if is_maker else trade.taker_leaves_minor
            state.status = OrderStatus.FILLED if leaves == 0 else OrderStatus.PARTIALLY_FILLED
            if state.status is OrderStatus.FILLED:
                self._close(state)
            else:
                self._record_order(state)
            reports.append(
                state.report(
                    ExecutionKind.TRADE,
                    trade.ts_ns,
                    last_price_minor=trade.price_minor,
                    last_quantity_minor=trade.quantity_minor,
                    last_quote_minor=trade.quote_quantity_minor,
                    trade_id=trade.trade_id,
                    is_maker=is_maker,
                    commission_minor=fee,
                )
            )

    def _on_prevented(self, match: MatchPrevented) -> None:
        """Note the prevented match on each order it expires (their OrderExpired events follow), and
        record it for ``myPreventedMatches``."""
        self._record_prevented_match(self.symbol.name, match)
        for order_id, prevented_minor in (
            (match.maker_order_id, match.maker_prevented_minor),
            (match.taker_order_id, match.taker_prevented_minor),
        ):
            if prevented_minor:
                state = self.orders[order_id]
                state.prevented_match = match
                state.prevented_minor += prevented_minor

    def _on_done(self, event: OrderCanceled | OrderExpired, reports: list[OrderReport]) -> None:
        state = self.orders[event.order_id]
        if type(event) is OrderCanceled:
            state.status, kind = OrderStatus.CANCELED, ExecutionKind.CANCELED
        elif event.reason is ExpireReason.SELF_TRADE_PREVENTION:
            assert state.prevented_match is not None, (
                f"STP expired order {state.order_id} in no prevented match"
            )
            state.status, kind = OrderStatus.EXPIRED_IN_MATCH, ExecutionKind.TRADE_PREVENTION
        else:
            state.status, kind = OrderStatus.EXPIRED, ExecutionKind.EXPIRED
        state.updated_ns = event.ts_ns
        self._close(state)
        reports.append(state.report(kind, event.ts_ns))

    def _close(self, state: OrderState) -> None:
        """An order is done: release the rest of its hold and count it out of its account's open orders."""
        remaining = self.funds.hold_remaining(state.order_id)
        if remaining:
            self.funds.release(state.order_id, remaining)
        self.open_orders_per_account[state.account_id] -= 1
        self._record_order(state)
        self._closed.append(state.order_id)

    # The loop ------------------------------------------------------------------------------------

    async def run(
        self,
        *,
        batch_max: int,
        commit_point: Callable[[], asyncio.Future[None]],
        prepare: Callable[[TurnOutput, asyncio.Future[None]], None],
        release: Callable[[TurnOutput, asyncio.Future[None]], None],
    ) -> None:
        """Process what is queued, up to ``batch_max`` per turn; hand the turn's output to ``prepare``
        with its commit still open (what it records joins that commit), then to ``release`` once the
        commit completes (commits complete in order, so releases do too)."""
        while True:
            output = TurnOutput()
            self.process(await self.queue.get(), output)
            for _ in range(min(self.queue.qsize(), batch_max - 1)):
                self.process(self.queue.get_nowait(), output)
            commit = commit_point()
            prepare(output, commit)
            commit.add_done_callback(lambda commit, output=output: release(output, commit))
