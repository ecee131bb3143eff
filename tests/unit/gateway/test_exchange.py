"""The router's and book tasks' bounds: a full queue and too many open orders refuse and change nothing."""

from __future__ import annotations

import asyncio
import dataclasses

from book.types import (
    CancelOrder,
    OrderStatus,
    OrderType,
    RejectReason,
    SetSymbolStatus,
    Side,
    SubmitOrder,
    TimeInForce,
)
from tests.unit.gateway.harness import Harness

COIN = 10**8
ALICE = 1
BOB = 2


def resting_buy(harness: Harness, price_units: int) -> SubmitOrder:
    return SubmitOrder(
        order_id=harness.exchange.new_order_id(),
        account_id=ALICE,
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        time_in_force=TimeInForce.GTC,
        price_minor=price_units * COIN,
        quantity_minor=COIN // 100,
    )


async def test_a_full_book_queue_refuses_at_once_and_queues_nothing() -> None:
    async with Harness() as harness:
        harness.deposit(ALICE, "USDT", "1000000")
        # The harness's book queue holds 100; submit never yields, so the book task cannot drain it.
        futures = [harness.exchange.submit("BTCUSDT", resting_buy(harness, 1000 + i)) for i in range(101)]
        refused = futures[-1]
        assert refused.done() and refused.result().error is RejectReason.QUEUE_FULL
        accepted = await asyncio.gather(*futures[:-1])
        assert all(result.error is None for result in accepted)
        assert len(harness.exchange.open_orders(ALICE)) == 100


async def test_open_orders_per_account_are_bounded() -> None:
    async with Harness() as harness:
        bound = harness.settings.limits.open_orders_per_account_max
        harness.deposit(ALICE, "USDT", "1000000")
        resting = []
        for index in range(bound):
            command = resting_buy(harness, 1000 + index)
            assert (await harness.exchange.execute("BTCUSDT", command)).error is None
            resting.append(command.order_id)
        available_before = dict(harness.funds.available)
        refused = await harness.exchange.execute("BTCUSDT", resting_buy(harness, 999))
        assert refused.error is RejectReason.TOO_MANY_OPEN_ORDERS
        assert dict(harness.funds.available) == available_before
        assert len(harness.exchange.open_orders(ALICE)) == bound
        canceled = await harness.exchange.execute(
            "BTCUSDT", CancelOrder(order_id=resting[0], account_id=ALICE)
        )
        assert canceled.error is None
        assert (await harness.exchange.execute("BTCUSDT", resting_buy(harness, 999))).error is None


async def test_a_client_order_id_unique_among_open_orders_is_free_again_only_once_its_order_closed() -> None:
    async with Harness() as harness:
        harness.deposit(ALICE, "USDT", "1000000")
        submit = harness.exchange.submit
        first = resting_buy(harness, 1000)
        queued = submit("BTCUSDT", first, client_order_id="x", unique_among_open_orders=True)
        while_queued = submit(
            "BTCUSDT", resting_buy(harness, 1001), client_order_id="x", unique_among_open_orders=True
        )
        assert while_queued.done() and while_queued.result().error is RejectReason.DUPLICATE_ORDER_ID
        assert (await queued).error is None
        while_open = await submit(
            "BTCUSDT", resting_buy(harness, 1001), client_order_id="x", unique_among_open_orders=True
        )
        assert while_open.error is RejectReason.DUPLICATE_ORDER_ID
        await harness.exchange.execute("BTCUSDT", CancelOrder(order_id=first.order_id, account_id=ALICE))
        retained_rule = await submit("BTCUSDT", resting_buy(harness, 1001), client_order_id="x")
        assert retained_rule.error is RejectReason.DUPLICATE_ORDER_ID
        second = resting_buy(harness, 1002)
        assert (
            await submit("BTCUSDT", second, client_order_id="x", unique_among_open_orders=True)
        ).error is None
        assert harness.exchange.find_order(ALICE, client_order_id="x").order_id == second.order_id
        assert harness.exchange.find_order(ALICE, order_id=first.order_id).client_order_id == "x"


async def test_a_restricted_cancel_is_judged_by_the_status_its_order_has_in_the_cancels_turn() -> None:
    async with Harness() as harness:
        harness.deposit(ALICE, "USDT", "1000000")
        harness.deposit(BOB, "BTC", "1")
        resting = resting_buy(harness, 1000)
        assert (await harness.exchange.execute("BTCUSDT", resting)).error is None
        sell = SubmitOrder(
            order_id=harness.exchange.new_order_id(),
            account_id=BOB,
            side=Side.SELL,
            order_type=OrderType.LIMIT,
            time_in_force=TimeInForce.IOC,
            price_minor=1000 * COIN,
            quantity_minor=COIN // 200,
        )
        cancel = CancelOrder(order_id=resting.order_id, account_id=ALICE)
        trade = harness.exchange.submit("BTCUSDT", sell)
        only_new = harness.exchange.submit("BTCUSDT", cancel, cancel_only_if=OrderStatus.NEW)
        assert (await trade).error is None
        assert (await only_new).error is RejectReason.CANCEL_RESTRICTED
        [state] = harness.exchange.open_orders(ALICE)
        assert state.status is OrderStatus.PARTIALLY_FILLED
        canceled = harness.exchange.submit("BTCUSDT", cancel, cancel_only_if=OrderStatus.PARTIALLY_FILLED)
        assert (await canceled).error is None
        assert harness.exchange.open_orders(ALICE) == []


async def test_a_filter_failure_is_found_on_a_halted_symbol_too() -> None:
    """The halt was checked first and hid every filter: a cancelReplace whose new order is off tick
    canceled its order on a halted symbol instead of refusing at once and changing nothing."""
    async with Harness() as harness:
        assert (await harness.exchange.execute("BTCUSDT", SetSymbolStatus(halted=True))).error is None
        off_tick = dataclasses.replace(resting_buy(harness, 1000), price_minor=1000 * COIN + 1)
        assert harness.exchange.filter_failure("BTCUSDT", off_tick) is RejectReason.PRICE_NOT_ON_TICK
        assert harness.exchange.filter_failure("BTCUSDT", resting_buy(harness, 1000)) is None
