"""One symbol's limit order book: price-time priority, pure and deterministic.

``OrderBook.apply(command)`` returns the events the command caused, each with the next sequence number
of the symbol. The same commands in the same order always give the same events: no clock, no random,
no I/O (timestamps come in with the commands).

Each price level keeps its orders in a deque in arrival order. A cancel marks the order dead and takes
its quantity off the level at once; the dead entry is dropped when it reaches the front of the queue or
when the level compacts, so cancel, match and insert are all O(1) apart from adding or removing a level
in the sorted price index.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import NamedTuple

from sortedcontainers import SortedList

from book.types import (
    CancelAllOrders,
    CancelOrder,
    CancelReason,
    CancelRejected,
    Command,
    Event,
    ExpireReason,
    MatchPrevented,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderRejected,
    OrderReplaced,
    OrderType,
    PriceLevelChanged,
    RejectReason,
    ReplaceOrder,
    SelfTradePrevention,
    SetSymbolStatus,
    Side,
    SubmitOrder,
    SymbolStatusChanged,
    TimeInForce,
    TradeExecuted,
)
from config.settings import SymbolSettings, SymbolStatus

BUY = Side.BUY
SELL = Side.SELL
LIMIT = OrderType.LIMIT
MARKET = OrderType.MARKET
LIMIT_MAKER = OrderType.LIMIT_MAKER
GTC = TimeInForce.GTC
IOC = TimeInForce.IOC
FOK = TimeInForce.FOK
STP_NONE = SelfTradePrevention.NONE
EXPIRE_TAKER = SelfTradePrevention.EXPIRE_TAKER
EXPIRE_MAKER = SelfTradePrevention.EXPIRE_MAKER
EXPIRE_BOTH = SelfTradePrevention.EXPIRE_BOTH
STP_EXPIRED = ExpireReason.SELF_TRADE_PREVENTION

# A level's deque is rebuilt without its dead entries once they outnumber the live ones by this much.
DEAD_ENTRIES_SLACK = 32


class RestingOrder:
    """An order on the book; mutable, owned by the book and never handed out."""

    __slots__ = (
        "account_id",
        "alive",
        "leaves_minor",
        "order_id",
        "order_type",
        "price_minor",
        "quantity_minor",
        "self_trade_prevention",
        "side",
    )

    def __init__(
        self,
        order_id: int,
        account_id: int,
        side: Side,
        order_type: OrderType,
        price_minor: int,
        quantity_minor: int,
        leaves_minor: int,
        self_trade_prevention: SelfTradePrevention,
    ) -> None:
        self.order_id = order_id
        self.account_id = account_id
        self.side = side
        self.order_type = order_type
        self.price_minor = price_minor
        self.quantity_minor = quantity_minor
        self.leaves_minor = leaves_minor
        self.self_trade_prevention = self_trade_prevention
        self.alive = True


class PriceLevel:
    """All resting orders at one price, in time priority, with their live totals."""

    __slots__ = ("order_count", "price_minor", "quantity_minor", "queue")

    def __init__(self, price_minor: int) -> None:
        self.price_minor = price_minor
        self.quantity_minor = 0
        self.order_count = 0
        self.queue: deque[RestingOrder] = deque()


class OrderView(NamedTuple):
    """A read-only snapshot of a resting order."""

    order_id: int
    account_id: int
    side: Side
    order_type: OrderType
    price_minor: int
    quantity_minor: int
    leaves_minor: int
    self_trade_prevention: SelfTradePrevention


class Fillable(NamedTuple):
    """What an order would trade against the book now, and whether that fills it completely (by
    quote amount: the rest trades no step at the next maker's price, as ``_match`` decides)."""

    base_minor: int
    quote_minor: int
    complete: bool


class DepthSnapshot(NamedTuple):
    """Top levels as (price_minor, quantity_minor), best first, as of event ``sequence``."""

    sequence: int
    bids: list[tuple[int, int]]
    asks: list[tuple[int, int]]


class OrderBook:
    """The matching engine of one symbol."""

    def __init__(
        self,
        symbol: SymbolSettings,
        *,
        stp_defaults: Mapping[int, SelfTradePrevention] | None = None,
        stp_default: SelfTradePrevention = STP_NONE,
        sequence: int = 0,
        next_trade_id: int = 1,
        halted: bool | None = None,
    ) -> None:
        """``stp_defaults`` maps an account to its default STP mode (read at each order, so the caller may
        update it); ``sequence`` and ``next_trade_id`` continue a recovered book's numbering, and
        ``halted`` its status (None: as configured).

        Prevented match ids are not stored: they continue from ``sequence``. Each prevented match takes a
        sequence number too, so every id handed out before is below the sequence a book is restored at,
        and none repeats after a restart.
        """
        self.symbol = symbol
        self.halted = symbol.status is SymbolStatus.HALTED if halted is None else halted
        self.sequence = sequence
        self.next_trade_id = next_trade_id
        self.next_prevented_match_id = sequence
        self._stp_defaults: Mapping[int, SelfTradePrevention] = (
            stp_defaults if stp_defaults is not None else {}
        )
        self._stp_default = stp_default
        self._unit = 10**symbol.base_scale
        self._bid_levels: dict[int, PriceLevel] = {}
        self._ask_levels: dict[int, PriceLevel] = {}
        self._bid_prices = SortedList()
        self._ask_prices = SortedList()
        self._orders: dict[int, RestingOrder] = {}
        self._orders_by_account: dict[int, dict[int, RestingOrder]] = {}
        # Levels changed by the current command, in order: a bid's price, or an ask's price negated.
        self._touched: dict[int, None] = {}
        self._handlers = {
            SubmitOrder: self._submit,
            CancelOrder: self._cancel,
            ReplaceOrder: self._replace,
            CancelAllOrders: self._cancel_all,
            SetSymbolStatus: self._set_status,
        }

    # Commands ------------------------------------------------------------------------------------

    def apply(self, command: Command) -> list[Event]:
        """Carry out one command and return what happened, in order, level changes last."""
        events: list[Event] = []
        self._handlers[type(command)](command, events)
        if self._touched:
            self._emit_level_changes(events)
        return events

    def submit_checked(self, command: SubmitOrder) -> list[Event]:
        """``apply`` for an order that ``check_filters`` passed just before, with nothing applied in
        between: the same events without checking again (the owner checks first to reserve funds)."""
        events: list[Event] = []
        self._submit_passed(command, events)
        if self._touched:
            self._emit_level_changes(events)
        return events

    def check_filters(self, command: SubmitOrder) -> RejectReason | None:
        """Why the book would reject ``command`` before it trades, or None; changes nothing."""
        if self.halted:
            return RejectReason.SYMBOL_HALTED
        if command.order_id in self._orders:
            return RejectReason.DUPLICATE_ORDER_ID
        reason = self.filter_problem(command)
        if reason is not None:
            return reason
        order_type = command.order_type
        if order_type is LIMIT_MAKER and self._crosses(command.side, command.price_minor):
            return RejectReason.POST_ONLY_WOULD_TAKE
        if order_type is MARKET and not (self._ask_prices if command.side is BUY else self._bid_prices):
            return RejectReason.NO_LIQUIDITY
        return None

    def filter_problem(self, command: SubmitOrder) -> RejectReason | None:
        """Why ``command`` fails the symbol's filters alone, whatever the book holds or its status."""
        order_type = command.order_type
        quantity = command.quantity_minor
        if order_type is MARKET:
            if (quantity is None) == (
                command.quote_quantity_minor is None
            ) or command.price_minor is not None:
                return RejectReason.INVALID_ORDER
            if quantity is None:
                if command.quote_quantity_minor <= 0:
                    return RejectReason.INVALID_ORDER
                if command.quote_quantity_minor < self.symbol.min_notional_minor:
                    return RejectReason.NOTIONAL_BELOW_MIN
                if command.quote_quantity_minor > self.symbol.max_quote_quantity_minor:
                    return RejectReason.QUANTITY_ABOVE_MAX
                return None
            return self._quantity_problem(quantity)
        price = command.price_minor
        if price is None or quantity is None or command.quote_quantity_minor is not None:
            return RejectReason.INVALID_ORDER
        if order_type is LIMIT_MAKER and command.time_in_force is not GTC:
            return RejectReason.INVALID_ORDER
        reason = self._price_problem(price) or self._quantity_problem(quantity)
        if reason is not None:
            return reason
        if price * quantity // self._unit < self.symbol.min_notional_minor:
            return RejectReason.NOTIONAL_BELOW_MIN
        return None

    def spend_required(self, command: SubmitOrder) -> int:
        """The most ``command`` can spend if it trades now: quote minor units for a buy, base for a sell.

        A market order walks the book the way matching will (self-trade prevention included), so the
        hold placed before matching always covers what matching takes.
        """
        if command.order_type is not MARKET:
            if command.side is BUY:
                return command.price_minor * command.quantity_minor // self._unit
            return command.quantity_minor
        if command.side is BUY and command.quote_quantity_minor is not None:
            return command.quote_quantity_minor
        if command.side is SELL and command.quantity_minor is not None:
            return command.quantity_minor
        fillable = self._fillable(command, None)
        return fillable.quote_minor if command.side is BUY else fillable.base_minor

    def restore_order(self, view: OrderView) -> None:
        """Put a recovered resting order back, behind everything restored before it (no events)."""
        assert view.order_id not in self._orders, f"order {view.order_id} restored twice"
        assert 0 < view.leaves_minor <= view.quantity_minor
        self._rest(RestingOrder(*view))
        self._touched.clear()

    # Queries -------------------------------------------------------------------------------------

    def best_bid(self) -> tuple[int, int] | None:
        """(price_minor, quantity_minor) of the highest bid, or None."""
        prices = self._bid_prices
        return (prices[-1], self._bid_levels[prices[-1]].quantity_minor) if prices else None

    def best_ask(self) -> tuple[int, int] | None:
        """(price_minor, quantity_minor) of the lowest offer, or None."""
        prices = self._ask_prices
        return (prices[0], self._ask_levels[prices[0]].quantity_minor) if prices else None

    def depth(self, level_count: int) -> DepthSnapshot:
        """The top ``level_count`` levels of each side."""
        bid_levels, ask_levels = self._bid_levels, self._ask_levels
        bid_prices = self._bid_prices
        bids = [
            (price, bid_levels[price].quantity_minor)
            for price in bid_prices.islice(max(0, len(bid_prices) - level_count), reverse=True)
        ]
        asks = [
            (price, ask_levels[price].quantity_minor) for price in self._ask_prices.islice(0, level_count)
        ]
        return DepthSnapshot(self.sequence, bids, asks)

    def order(self, order_id: int) -> OrderView | None:
        """The resting order ``order_id``, or None when it is not on the book."""
        order = self._orders.get(order_id)
        return None if order is None else _view(order)

    def open_orders(self, account_id: int) -> list[OrderView]:
        """An account's resting orders, oldest first."""
        return [_view(order) for order in self._orders_by_account.get(account_id, {}).values()]

    def resting_orders(self) -> list[OrderView]:
        """Every resting order in priority order (bids best first, then asks best first)."""
        views = []
        for side, reverse in ((BUY, True), (SELL, False)):
            levels = self._bid_levels if side is BUY else self._ask_levels
            for price in (self._bid_prices if side is BUY else self._ask_prices).islice(reverse=reverse):
                views.extend(_view(order) for order in levels[price].queue if order.alive)
        return views

    # Submit --------------------------------------------------------------------------------------

    def _submit(self, command: SubmitOrder, events: list[Event]) -> None:
        reason = self.check_filters(command)
        if reason is not None:
            self.sequence += 1
            events.append(
                OrderRejected(self.sequence, command.order_id, command.account_id, reason, command.ts_ns)
            )
            return
        self._submit_passed(command, events)

    def _submit_passed(self, command: SubmitOrder, events: list[Event]) -> None:
        stp = command.self_trade_prevention
        if stp is None:
            stp = self._stp_defaults.get(command.account_id, self._stp_default)
        self.sequence += 1
        events.append(
            OrderAccepted(
                self.sequence,
                command.order_id,
                command.account_id,
                command.side,
                command.order_type,
                command.time_in_force,
                command.price_minor,
                command.quantity_minor,
                command.quote_quantity_minor,
                stp,
                command.ts_ns,
            )
        )
        if command.time_in_force is FOK and not self._fillable(command, stp).complete:
            self._expire(
                command.order_id,
                command.account_id,
                command.quote_quantity_minor or command.quantity_minor,
                ExpireReason.FOK_UNFILLABLE,
                command.ts_ns,
                events,
            )
            return
        if command.order_type is MARKET:
            self._submit_market(command, stp, events)
            return
        taker = RestingOrder(
            command.order_id,
            command.account_id,
            command.side,
            command.order_type,
            command.price_minor,
            command.quantity_minor,
            command.quantity_minor,
            stp,
        )
        if self._crosses(taker.side, taker.price_minor):
            self._match(taker, command.price_minor, None, command.ts_ns, events)
        if not taker.alive or taker.leaves_minor == 0:
            return
        if command.time_in_force is GTC:
            self._rest(taker)
        else:
            self._expire(
                taker.order_id,
                taker.account_id,
                taker.leaves_minor,
                ExpireReason.IOC_UNFILLED,
                command.ts_ns,
                events,
            )

    def _submit_market(self, command: SubmitOrder, stp: SelfTradePrevention, events: list[Event]) -> None:
        by_quote = command.quote_quantity_minor is not None
        amount = command.quote_quantity_minor if by_quote else command.quantity_minor
        taker = RestingOrder(
            command.order_id, command.account_id, command.side, MARKET, 0, amount, amount, stp
        )
        quote_left = self._match(taker, None, command.quote_quantity_minor, command.ts_ns, events)
        if not taker.alive:
            return
        left = quote_left if by_quote else taker.leaves_minor
        if left:
            self._expire(
                taker.order_id,
                taker.account_id,
                left,
                ExpireReason.MARKET_NO_LIQUIDITY,
                command.ts_ns,
                events,
            )

    # Matching ------------------------------------------------------------------------------------

    def _match(
        self,
        taker: RestingOrder,
        limit_price: int | None,
        quote_left: int | None,
        ts_ns: int,
        events: list[Event],
    ) -> int:
        """Trade ``taker`` against the opposite side while it crosses ``limit_price``.

        With ``quote_left`` the taker is a market order by quote amount: each fill is the largest
        step-aligned quantity that amount still affords at the maker's price, best price first; it stops
        at a maker too dear for one step, never passing it for a worse price. Returns the quote left.
        ``taker.alive`` is False afterwards if self-trade prevention expired the taker.
        """
        taker_side = taker.side
        maker_side = SELL if taker_side is BUY else BUY
        levels = self._bid_levels if maker_side is BUY else self._ask_levels
        prices = self._bid_prices if maker_side is BUY else self._ask_prices
        touched = self._touched
        unit = self._unit
        step = self.symbol.step_size_minor
        stp = taker.self_trade_prevention
        taker_account = taker.account_id
        leaves = taker.leaves_minor if quote_left is None else 0
        while prices:
            price = prices[0] if taker_side is BUY else prices[-1]
            if limit_price is not None and (
                price > limit_price if taker_side is BUY else price < limit_price
            ):
                break
            level = levels[price]
            queue = level.queue
            touched[price if maker_side is BUY else -price] = None
            while queue:
                maker = queue[0]
                if not maker.alive:
                    queue.popleft()
                    continue
                if quote_left is None:
                    if leaves == 0:
                        break
                    quantity = leaves if leaves < maker.leaves_minor else maker.leaves_minor
                else:
                    affordable = quote_left * unit // price // step * step
                    if affordable == 0:
                        break
                    quantity = affordable if affordable < maker.leaves_minor else maker.leaves_minor
                if maker.account_id == taker_account and stp is not STP_NONE:
                    taker_remaining = leaves if quote_left is None else affordable
                    self._prevent(maker, taker, price, quantity, taker_remaining, ts_ns, events)
                    if stp is not EXPIRE_TAKER:
                        queue.popleft()
                        level.quantity_minor -= maker.leaves_minor
                        self._forget(maker, level)
                        self._expire(
                            maker.order_id, maker.account_id, maker.leaves_minor, STP_EXPIRED, ts_ns, events
                        )
                    if stp is not EXPIRE_MAKER:
                        taker.alive = False
                        left = leaves if quote_left is None else quote_left
                        self._expire(taker.order_id, taker_account, left, STP_EXPIRED, ts_ns, events)
                        if level.order_count == 0:
                            self._drop_level(maker_side, price)
                        return 0 if quote_left is None else quote_left
                    continue
                quote_quantity = price * quantity // unit
                maker.leaves_minor -= quantity
                level.quantity_minor -= quantity
                if quote_left is None:
                    leaves -= quantity
                    taker_leaves = leaves
                else:
                    quote_left -= quote_quantity
                    # Done (filled) once the rest trades no step at the next maker's price: this
                    # level's while it lasts, else the next level's; it expires only if makers run out.
                    next_price = price
                    if maker.leaves_minor == 0 and level.order_count == 1 and len(prices) > 1:
                        next_price = prices[1] if taker_side is BUY else prices[-2]
                    taker_leaves = quote_left if quote_left * unit // next_price >= step else 0
                taker.leaves_minor = taker_leaves
                self.sequence += 1
                events.append(
                    TradeExecuted(
                        self.sequence,
                        self.next_trade_id,
                        price,
                        quantity,
                        quote_quantity,
                        taker_side,
                        maker.order_id,
                        maker.account_id,
                        maker.leaves_minor,
                        taker.order_id,
                        taker_account,
                        taker_leaves,
                        ts_ns,
                    )
                )
                self.next_trade_id += 1
                if maker.leaves_minor == 0:
                    queue.popleft()
                    self._forget(maker, level)
                if quote_left is not None and taker_leaves == 0:
                    if level.order_count == 0:
                        self._drop_level(maker_side, price)
                    return 0
            if level.order_count == 0:
                self._drop_level(maker_side, price)
            if (quote_left is None and leaves == 0) or queue:
                break
        return 0 if quote_left is None else quote_left

    def _prevent(
        self,
        maker: RestingOrder,
        taker: RestingOrder,
        price: int,
        quantity: int,
        taker_remaining_minor: int,
        ts_ns: int,
        events: list[Event],
    ) -> None:
        """Record that ``taker``'s STP mode stopped its match with ``maker``, before the expiries it causes:
        each order it expires loses its whole remaining quantity."""
        stp = taker.self_trade_prevention
        self.sequence += 1
        events.append(
            MatchPrevented(
                self.sequence,
                self.next_prevented_match_id,
                stp,
                price,
                quantity,
                price * quantity // self._unit,
                maker.order_id,
                maker.account_id,
                0 if stp is EXPIRE_TAKER else maker.leaves_minor,
                taker.order_id,
                taker.account_id,
                0 if stp is EXPIRE_MAKER else taker_remaining_minor,
                ts_ns,
            )
        )
        self.next_prevented_match_id += 1

    def _fillable(self, command: SubmitOrder, stp: SelfTradePrevention | None) -> Fillable:
        """What ``command`` would trade now, walking makers as ``_match`` would."""
        if stp is None:
            stp = command.self_trade_prevention
            if stp is None:
                stp = self._stp_defaults.get(command.account_id, self._stp_default)
        taker_side = command.side
        maker_side = SELL if taker_side is BUY else BUY
        levels = self._bid_levels if maker_side is BUY else self._ask_levels
        unit = self._unit
        step = self.symbol.step_size_minor
        limit = command.price_minor
        quote_left = command.quote_quantity_minor
        leaves = command.quantity_minor
        prices = self._bid_prices if maker_side is BUY else self._ask_prices
        base_total = quote_total = 0
        for price in prices.islice(reverse=taker_side is SELL):
            if limit is not None and (price > limit if taker_side is BUY else price < limit):
                break
            level = levels[price]
            seen = 0  # live makers of this level walked so far: ``_match`` has used or expired them
            for maker in level.queue:
                if not maker.alive:
                    continue
                seen += 1
                if quote_left is None:
                    quantity = min(leaves, maker.leaves_minor)
                else:
                    quantity = min(quote_left * unit // price // step * step, maker.leaves_minor)
                if quantity == 0:
                    return Fillable(base_total, quote_total, leaves == 0)
                if maker.account_id == command.account_id and stp is not STP_NONE:
                    if stp is EXPIRE_MAKER:
                        continue
                    return Fillable(base_total, quote_total, False)
                base_total += quantity
                quote_total += price * quantity // unit
                if quote_left is None:
                    leaves -= quantity
                    continue
                quote_left -= price * quantity // unit
                next_price = price
                if quantity == maker.leaves_minor and seen == level.order_count:
                    beyond = prices.bisect_left(price) + (1 if taker_side is BUY else -1)
                    if 0 <= beyond < len(prices):
                        next_price = prices[beyond]
                if quote_left * unit // next_price < step:
                    return Fillable(base_total, quote_total, True)
        return Fillable(base_total, quote_total, leaves == 0)

    # Cancel and replace --------------------------------------------------------------------------

    def _cancel(self, command: CancelOrder, events: list[Event]) -> None:
        order = self._orders.get(command.order_id)
        if order is None or order.account_id != command.account_id:
            self._cancel_rejected(command, RejectReason.UNKNOWN_ORDER, events)
            return
        self._remove(order, (self._bid_levels if order.side is BUY else self._ask_levels)[order.price_minor])
        self.sequence += 1
        events.append(
            OrderCanceled(
                self.sequence,
                order.order_id,
                order.account_id,
                order.leaves_minor,
                CancelReason.REQUESTED,
                command.ts_ns,
            )
        )

    def _cancel_all(self, command: CancelAllOrders, events: list[Event]) -> None:
        for order in list(self._orders_by_account.get(command.account_id, {}).values()):
            self._remove(
                order, (self._bid_levels if order.side is BUY else self._ask_levels)[order.price_minor]
            )
            self.sequence += 1
            events.append(
                OrderCanceled(
                    self.sequence,
                    order.order_id,
                    order.account_id,
                    order.leaves_minor,
                    CancelReason.CANCEL_ALL,
                    command.ts_ns,
                )
            )

    def check_replace(self, command: ReplaceOrder) -> RejectReason | None:
        """Why the book would refuse ``command``, or None; changes nothing (so a caller can reserve
        the funds a larger order needs only for a replace that will happen)."""
        order = self._orders.get(command.order_id)
        if order is None or order.account_id != command.account_id:
            return RejectReason.UNKNOWN_ORDER
        return self._replace_problem(order, command)

    def _replace(self, command: ReplaceOrder, events: list[Event]) -> None:
        reason = self.check_replace(command)
        if reason is not None:
            self._cancel_rejected(command, reason, events)
            return
        order = self._orders[command.order_id]
        filled = order.quantity_minor - order.leaves_minor
        leaves = command.quantity_minor - filled
        level = (self._bid_levels if order.side is BUY else self._ask_levels)[order.price_minor]
        keeps_priority = (
            command.price_minor == order.price_minor and command.quantity_minor <= order.quantity_minor
        )
        self.sequence += 1
        events.append(
            OrderReplaced(
                self.sequence,
                order.order_id,
                order.account_id,
                command.price_minor,
                command.quantity_minor,
                leaves,
                keeps_priority,
                command.ts_ns,
            )
        )
        if keeps_priority:
            level.quantity_minor -= order.leaves_minor - leaves
            order.quantity_minor = command.quantity_minor
            order.leaves_minor = leaves
            self._touched[order.price_minor if order.side is BUY else -order.price_minor] = None
            return
        self._remove(order, level)
        moved = RestingOrder(
            order.order_id,
            order.account_id,
            order.side,
            order.order_type,
            command.price_minor,
            command.quantity_minor,
            leaves,
            order.self_trade_prevention,
        )
        if self._crosses(moved.side, moved.price_minor):
            self._match(moved, moved.price_minor, None, command.ts_ns, events)
        if moved.alive and moved.leaves_minor:
            self._rest(moved)

    def _replace_problem(self, order: RestingOrder, command: ReplaceOrder) -> RejectReason | None:
        if self.halted:
            return RejectReason.SYMBOL_HALTED
        if command.quantity_minor <= order.quantity_minor - order.leaves_minor:
            return RejectReason.REPLACE_QUANTITY_NOT_ABOVE_FILLED
        if command.keep_priority and (
            command.price_minor != order.price_minor or command.quantity_minor >= order.quantity_minor
        ):
            return RejectReason.NOT_A_REDUCTION
        reason = self._price_problem(command.price_minor) or self._quantity_problem(command.quantity_minor)
        if reason is not None:
            return reason
        if command.price_minor * command.quantity_minor // self._unit < self.symbol.min_notional_minor:
            return RejectReason.NOTIONAL_BELOW_MIN
        if order.order_type is LIMIT_MAKER and self._crosses(order.side, command.price_minor):
            return RejectReason.POST_ONLY_WOULD_TAKE
        return None

    def _cancel_rejected(
        self, command: CancelOrder | ReplaceOrder, reason: RejectReason, events: list[Event]
    ) -> None:
        self.sequence += 1
        events.append(
            CancelRejected(self.sequence, command.order_id, command.account_id, reason, command.ts_ns)
        )

    def _set_status(self, command: SetSymbolStatus, events: list[Event]) -> None:
        self.halted = command.halted
        self.sequence += 1
        events.append(SymbolStatusChanged(self.sequence, command.halted, command.ts_ns))

    # Book keeping --------------------------------------------------------------------------------

    def _price_problem(self, price: int) -> RejectReason | None:
        symbol = self.symbol
        if price <= 0 or price % symbol.tick_size_minor:
            return RejectReason.PRICE_NOT_ON_TICK
        if price < symbol.min_price_minor:
            return RejectReason.PRICE_BELOW_MIN
        if price > symbol.max_price_minor:
            return RejectReason.PRICE_ABOVE_MAX
        return None

    def _quantity_problem(self, quantity: int) -> RejectReason | None:
        symbol = self.symbol
        if quantity <= 0 or quantity % symbol.step_size_minor:
            return RejectReason.QUANTITY_NOT_ON_STEP
        if quantity < symbol.min_quantity_minor:
            return RejectReason.QUANTITY_BELOW_MIN
        if quantity > symbol.max_quantity_minor:
            return RejectReason.QUANTITY_ABOVE_MAX
        return None

    def _crosses(self, side: Side, price: int) -> bool:
        """Whether a limit order at ``price`` would trade against the opposite side now."""
        if side is BUY:
            asks = self._ask_prices
            return bool(asks) and asks[0] <= price
        bids = self._bid_prices
        return bool(bids) and bids[-1] >= price

    def _rest(self, order: RestingOrder) -> None:
        side, price = order.side, order.price_minor
        levels = self._bid_levels if side is BUY else self._ask_levels
        level = levels.get(price)
        if level is None:
            level = levels[price] = PriceLevel(price)
            (self._bid_prices if side is BUY else self._ask_prices).add(price)
        level.queue.append(order)
        level.order_count += 1
        level.quantity_minor += order.leaves_minor
        self._orders[order.order_id] = order
        by_account = self._orders_by_account.get(order.account_id)
        if by_account is None:
            by_account = self._orders_by_account[order.account_id] = {}
        by_account[order.order_id] = order
        self._touched[price if side is BUY else -price] = None

    def _remove(self, order: RestingOrder, level: PriceLevel) -> None:
        """Take a live order off its level (lazily: its deque entry dies in place)."""
        level.quantity_minor -= order.leaves_minor
        self._forget(order, level)
        side, price = order.side, order.price_minor
        self._touched[price if side is BUY else -price] = None
        if level.order_count == 0:
            self._drop_level(side, price)
        elif len(level.queue) > 2 * level.order_count + DEAD_ENTRIES_SLACK:
            level.queue = deque(entry for entry in level.queue if entry.alive)

    def _forget(self, order: RestingOrder, level: PriceLevel) -> None:
        order.alive = False
        level.order_count -= 1
        del self._orders[order.order_id]
        by_account = self._orders_by_account[order.account_id]
        del by_account[order.order_id]
        if not by_account:
            del self._orders_by_account[order.account_id]

    def _drop_level(self, side: Side, price: int) -> None:
        del (self._bid_levels if side is BUY else self._ask_levels)[price]
        (self._bid_prices if side is BUY else self._ask_prices).remove(price)

    def _expire(
        self,
        order_id: int,
        account_id: int,
        quantity: int,
        reason: ExpireReason,
        ts_ns: int,
        events: list[Event],
    ) -> None:
        self.sequence += 1
        events.append(OrderExpired(self.sequence, order_id, account_id, quantity, reason, ts_ns))

    def _emit_level_changes(self, events: list[Event]) -> None:
        bid_levels, ask_levels = self._bid_levels, self._ask_levels
        for key in self._touched:
            if key > 0:
                side, price, level = BUY, key, bid_levels.get(key)
            else:
                side, price, level = SELL, -key, ask_levels.get(-key)
            self.sequence += 1
            if level is None:
                events.append(PriceLevelChanged(self.sequence, side, price, 0, 0))
            else:
                events.append(
                    PriceLevelChanged(self.sequence, side, price, level.quantity_minor, level.order_count)
                )
        self._touched.clear()


def _view(order: RestingOrder) -> OrderView:
    return OrderView(
        order.order_id,
        order.account_id,
        order.side,
        order.order_type,
        order.price_minor,
        order.quantity_minor,
        order.leaves_minor,
        order.self_trade_prevention,
    )
