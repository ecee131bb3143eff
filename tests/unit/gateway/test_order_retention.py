"""Closed orders are kept up to a bound, so memory does not grow with every order ever placed."""

from __future__ import annotations

import dataclasses

from book.types import CancelOrder, OrderType, RejectReason, ReplaceOrder, Side, SubmitOrder, TimeInForce
from config import load_settings
from tests.unit.gateway.harness import Harness

COIN = 10**8
ALICE = 1
RETAINED = 2


def harness_retaining(closed_orders_retained_max: int) -> Harness:
    settings = load_settings("config/demo.toml")
    limits = dataclasses.replace(settings.limits, closed_orders_retained_max=closed_orders_retained_max)
    return Harness(dataclasses.replace(settings, limits=limits))


def buy(harness: Harness, price_units: int, time_in_force: TimeInForce = TimeInForce.GTC) -> SubmitOrder:
    return SubmitOrder(
        order_id=harness.exchange.new_order_id(),
        account_id=ALICE,
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        time_in_force=time_in_force,
        price_minor=price_units * COIN,
        quantity_minor=COIN // 100,
    )


async def place(harness: Harness, command: SubmitOrder, client_order_id: str) -> RejectReason | None:
    return (await harness.exchange.execute("BTCUSDT", command, client_order_id=client_order_id)).error


async def test_the_oldest_closed_orders_are_forgotten_and_open_ones_never() -> None:
    async with harness_retaining(RETAINED) as harness:
        harness.deposit(ALICE, "USDT", "1000000")
        resting = buy(harness, 1000)
        assert await place(harness, resting, "resting") is None
        expired = []
        for index in range(RETAINED + 3):
            command = buy(harness, 1000 + index, TimeInForce.IOC)  # nothing to trade with: it expires
            assert await place(harness, command, f"ioc-{index}") is None
            expired.append(command.order_id)
        book = harness.exchange.books["BTCUSDT"]
        assert sorted(book.orders) == [resting.order_id, *expired[-RETAINED:]]
        find = harness.exchange.find_order
        assert find(ALICE, order_id=resting.order_id) is not None
        assert find(ALICE, client_order_id="ioc-0") is None and find(ALICE, order_id=expired[0]) is None
        assert find(ALICE, client_order_id=f"ioc-{RETAINED + 2}").status.value == "EXPIRED"
        # A retained order's client order id is still taken; a forgotten one's is free again.
        assert (
            await place(harness, buy(harness, 900), f"ioc-{RETAINED + 2}") is RejectReason.DUPLICATE_ORDER_ID
        )
        assert await place(harness, buy(harness, 900), "ioc-0") is None


async def test_every_name_of_a_replaced_order_is_dropped_with_it() -> None:
    async with harness_retaining(0) as harness:
        harness.deposit(ALICE, "USDT", "1000000")
        order = buy(harness, 1000)
        assert await place(harness, order, "v1") is None
        for version, price_units in (("v2", 1001), ("v3", 1002)):
            replace = ReplaceOrder(
                order_id=order.order_id,
                account_id=ALICE,
                price_minor=price_units * COIN,
                quantity_minor=COIN // 100,
            )
            result = await harness.exchange.execute("BTCUSDT", replace, client_order_id=version)
            assert result.error is None
        cancel = CancelOrder(order_id=order.order_id, account_id=ALICE)
        assert (await harness.exchange.execute("BTCUSDT", cancel, client_order_id="v4")).error is None
        assert harness.exchange.books["BTCUSDT"].orders == {}
        for name in ("v1", "v2", "v3", "v4"):
            assert harness.exchange.find_order(ALICE, client_order_id=name) is None
            assert await place(harness, buy(harness, 900, TimeInForce.IOC), name) is None


async def test_refused_orders_count_as_closed() -> None:
    async with harness_retaining(RETAINED) as harness:
        for index in range(RETAINED + 2):  # no funds: every order is refused before it reaches the book
            assert (
                await place(harness, buy(harness, 1000), f"poor-{index}") is RejectReason.INSUFFICIENT_BALANCE
            )
        assert len(harness.exchange.books["BTCUSDT"].orders) == RETAINED
        assert harness.exchange.find_order(ALICE, client_order_id="poor-0") is None
        assert harness.exchange.find_order(ALICE, client_order_id=f"poor-{RETAINED + 1}") is not None


async def test_open_orders_are_the_accounts_resting_ones_oldest_first() -> None:
    async with harness_retaining(RETAINED) as harness:
        harness.deposit(ALICE, "USDT", "1000000")
        harness.deposit(ALICE + 1, "USDT", "1000000")
        first, second = buy(harness, 1000), buy(harness, 1001)
        assert await place(harness, first, "first") is None
        assert await place(harness, buy(harness, 1002, TimeInForce.IOC), "expired") is None
        assert await place(harness, second, "second") is None
        other = dataclasses.replace(buy(harness, 1003), account_id=ALICE + 1)
        assert await place(harness, other, "other") is None
        assert [o.order_id for o in harness.exchange.open_orders(ALICE)] == [first.order_id, second.order_id]
        assert [o.order_id for o in harness.exchange.open_orders(ALICE, "BTCUSDT")] == [
            first.order_id,
            second.order_id,
        ]
        cancel = CancelOrder(order_id=first.order_id, account_id=ALICE)
        assert (await harness.exchange.execute("BTCUSDT", cancel)).error is None
        assert [o.order_id for o in harness.exchange.open_orders(ALICE)] == [second.order_id]
