"""A small, obviously correct order book to check the real one against.

Every match scans all resting orders for the best one by (price, arrival); fill-or-kill runs on a copy
and keeps the copy only if it filled. Slow on purpose: nothing here is clever.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from book.types import OrderType, SelfTradePrevention, Side, TimeInForce

STP = SelfTradePrevention


@dataclass
class Resting:
    order_id: int
    account_id: int
    side: Side
    order_type: OrderType
    price: int
    quantity: int
    leaves: int
    arrival: int
    stp: SelfTradePrevention


@dataclass
class Outcome:
    """What one command did: trades as (maker, taker, price, quantity), and whether it was refused."""

    trades: list[tuple[int, int, int, int]]
    refused: bool = False


class ReferenceBook:
    def __init__(self, step: int = 1, unit: int = 1) -> None:
        self.resting: list[Resting] = []
        self.arrivals = 0
        self.step = step
        self.unit = unit

    def _arrival(self) -> int:
        self.arrivals += 1
        return self.arrivals

    def _best_maker(self, side: Side, limit: int | None) -> Resting | None:
        """The best maker for a taker on ``side``."""
        makers = [order for order in self.resting if order.side is not side]
        if limit is not None:
            makers = [o for o in makers if (o.price <= limit if side is Side.BUY else o.price >= limit)]
        if not makers:
            return None
        if side is Side.BUY:
            return min(makers, key=lambda o: (o.price, o.arrival))
        return min(makers, key=lambda o: (-o.price, o.arrival))

    def crosses(self, side: Side, price: int) -> bool:
        return self._best_maker(side, price) is not None

    def _match(
        self,
        taker: Resting,
        limit: int | None,
        quote_left: int | None,
        trades: list[tuple[int, int, int, int]],
    ) -> bool:
        """Trade the taker; return False if self-trade prevention expired it.

        By quote amount the taker's ``leaves`` is the quote left, and 0 once that trades no step at
        the price of the best maker left (its last trade's price while makers remain there): the
        order is then filled. It never trades past a maker too dear for one step.
        """
        while True:
            maker = self._best_maker(taker.side, limit)
            if maker is None:
                return True
            if quote_left is None:
                if taker.leaves == 0:
                    return True
                quantity = min(taker.leaves, maker.leaves)
            else:
                quantity = min(quote_left * self.unit // maker.price // self.step * self.step, maker.leaves)
                if quantity == 0:
                    return True
            if maker.account_id == taker.account_id and taker.stp is not STP.NONE:
                if taker.stp in (STP.EXPIRE_MAKER, STP.EXPIRE_BOTH):
                    self.resting.remove(maker)
                if taker.stp in (STP.EXPIRE_TAKER, STP.EXPIRE_BOTH):
                    return False
                continue
            trades.append((maker.order_id, taker.order_id, maker.price, quantity))
            maker.leaves -= quantity
            if maker.leaves == 0:
                self.resting.remove(maker)
            if quote_left is None:
                taker.leaves -= quantity
            else:
                quote_left -= maker.price * quantity // self.unit
                judged_at = maker.price
                same_side = [o.price for o in self.resting if o.side is maker.side]
                if maker.price not in same_side and same_side:
                    judged_at = min(same_side) if taker.side is Side.BUY else max(same_side)
                taker.leaves = quote_left if quote_left * self.unit // judged_at >= self.step else 0
                if taker.leaves == 0:
                    return True

    def submit(
        self,
        *,
        order_id: int,
        account_id: int,
        side: Side,
        order_type: OrderType,
        time_in_force: TimeInForce,
        price: int | None,
        quantity: int | None,
        quote_quantity: int | None,
        stp: SelfTradePrevention,
    ) -> Outcome:
        if order_type is OrderType.LIMIT_MAKER and self.crosses(side, price):
            return Outcome([], refused=True)
        if order_type is OrderType.MARKET and self._best_maker(side, None) is None:
            return Outcome([], refused=True)  # nothing on the other side to trade with
        amount = quantity if quantity is not None else quote_quantity
        if time_in_force is TimeInForce.FOK:
            trial = copy.deepcopy(self)
            trial_taker = Resting(order_id, account_id, side, order_type, price or 0, amount, amount, 0, stp)
            trial._match(trial_taker, price, quote_quantity, [])
            if trial_taker.leaves:
                return Outcome([])
        trades: list[tuple[int, int, int, int]] = []
        taker = Resting(order_id, account_id, side, order_type, price or 0, amount, amount, 0, stp)
        alive = self._match(taker, price, quote_quantity, trades)
        rests = order_type is not OrderType.MARKET and time_in_force is TimeInForce.GTC
        if alive and rests and taker.leaves:
            taker.arrival = self._arrival()
            self.resting.append(taker)
        return Outcome(trades)

    def find(self, order_id: int, account_id: int) -> Resting | None:
        for order in self.resting:
            if order.order_id == order_id and order.account_id == account_id:
                return order
        return None

    def cancel(self, order_id: int, account_id: int) -> Outcome:
        order = self.find(order_id, account_id)
        if order is None:
            return Outcome([], refused=True)
        self.resting.remove(order)
        return Outcome([])

    def cancel_all(self, account_id: int) -> Outcome:
        self.resting = [order for order in self.resting if order.account_id != account_id]
        return Outcome([])

    def replace(self, order_id: int, account_id: int, price: int, quantity: int) -> Outcome:
        order = self.find(order_id, account_id)
        if order is None:
            return Outcome([], refused=True)
        filled = order.quantity - order.leaves
        if quantity <= filled:
            return Outcome([], refused=True)
        if order.order_type is OrderType.LIMIT_MAKER and self.crosses(order.side, price):
            return Outcome([], refused=True)
        if price == order.price and quantity <= order.quantity:
            order.quantity, order.leaves = quantity, quantity - filled
            return Outcome([])
        self.resting.remove(order)
        order.price, order.quantity, order.leaves = price, quantity, quantity - filled
        trades: list[tuple[int, int, int, int]] = []
        if self._match(order, price, None, trades) and order.leaves:
            order.arrival = self._arrival()
            self.resting.append(order)
        return Outcome(trades)

    def best(self, side: Side) -> tuple[int, int] | None:
        prices = [o.price for o in self.resting if o.side is side]
        if not prices:
            return None
        price = max(prices) if side is Side.BUY else min(prices)
        return price, sum(o.leaves for o in self.resting if o.side is side and o.price == price)
