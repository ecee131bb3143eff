"""A gateway restarted on its store carries on where it stopped: an admin's halt and resume, market data."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import threading
import time
import uuid
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from book.types import CancelOrder, OrderType, RejectReason, Side, SubmitOrder
from config import load_settings_text
from config.errors import GatewayError
from gateway.server import GatewayServer
from tests.e2e.gateway.config import demo_config_text
from tests.integration.conftest import POSTGRES_DSN, _postgres_problem, drop_schema, require_postgres
from tests.integration.gateway.test_ws_streams import frames_until


@pytest.fixture(params=["sqlite", "postgres"])
async def config_text(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "sqlite":
        yield demo_config_text(tmp_path)
        return
    require_postgres(await _postgres_problem())
    schema = f"test_{uuid.uuid4().hex[:12]}"
    yield demo_config_text(tmp_path, backend="postgres", postgres_dsn=POSTGRES_DSN, postgres_schema=schema)
    await drop_schema(schema)


async def _started(config_text: str) -> GatewayServer:
    server = GatewayServer(load_settings_text(config_text))
    await server.start()
    return server


async def _place_buy(server: GatewayServer, price: int = 1000, order_id: int = 0) -> RejectReason | None:
    command = SubmitOrder(
        order_id=order_id or server.exchange.new_order_id(),
        account_id=server.accounts["alice"],
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        price_minor=price * 10**8,
        quantity_minor=10**6,
    )
    return (await server.exchange.execute("BTCUSDT", command)).error


async def test_an_admin_halt_and_resume_survive_a_restart(config_text: str) -> None:
    """The halt lived only in the book's memory: restarted, the symbol traded again."""
    server = await _started(config_text)
    try:
        await server.admin_commands.halt({"symbol": "BTCUSDT"})
    finally:
        await server.stop()
    server = await _started(config_text)
    try:
        assert server.exchange.books["BTCUSDT"].book.halted
        assert not server.exchange.books["ETHUSDT"].book.halted
        assert await _place_buy(server) is RejectReason.SYMBOL_HALTED
        await server.admin_commands.resume({"symbol": "BTCUSDT"})
    finally:
        await server.stop()
    server = await _started(config_text)
    try:
        assert not server.exchange.books["BTCUSDT"].book.halted
        assert await _place_buy(server) is None
    finally:
        await server.stop()


async def test_market_data_restarts_from_every_recovered_level_not_only_the_deepest_snapshot(
    config_text: str,
) -> None:
    """Seeded with only ``depth_levels_max`` levels, the broadcaster lost the deeper ones at a restart:
    once the top levels went, snapshots showed an empty side over a book that still had bids."""
    config_text += "\n[limits]\ndepth_levels_max = 2\n"
    server = await _started(config_text)
    try:
        order_ids = [server.exchange.new_order_id() for _ in range(4)]
        for offset, order_id in enumerate(order_ids):
            assert await _place_buy(server, 1000 - offset, order_id) is None
    finally:
        await server.stop()
    server = await _started(config_text)
    try:
        for order_id in order_ids[:2]:
            command = CancelOrder(order_id=order_id, account_id=server.accounts["alice"])
            assert (await server.exchange.execute("BTCUSDT", command)).error is None
        snapshot = server.broadcaster.snapshot("BTCUSDT", 2)
        assert list(snapshot.bids) == [(998 * 10**8, 10**6), (997 * 10**8, 10**6)]
    finally:
        await server.stop()


async def test_a_configured_daily_reset_reaches_the_acceptor(config_text: str) -> None:
    """The config's daily_reset_utc was read and then dropped: the session never started over."""
    config_text = config_text.replace(
        'sender_comp_id = "ALICE"\n', 'sender_comp_id = "ALICE"\ndaily_reset_utc = "22:00"\n'
    )
    server = await _started(config_text)
    try:
        assert server.fix.sessions[("ALICE", "GATEWAY")].daily_reset_utc == "22:00"
        assert server.fix.sessions[("BOB", "GATEWAY")].daily_reset_utc == ""
    finally:
        await server.stop()


async def test_the_ticker_knows_the_close_before_its_window_after_a_restart(config_text: str) -> None:
    """The 24 h ticker's x is the last price before the window; restored from the window alone, it was 0."""
    server = await _started(config_text)
    try:
        day_ago_ns = time.time_ns() - 25 * 3600 * 10**9
        for price, ts_ns in ((1000, day_ago_ns), (1010, day_ago_ns + 10**9), (1100, time.time_ns())):
            for account, side in (("bob", Side.SELL), ("alice", Side.BUY)):
                command = SubmitOrder(
                    order_id=server.exchange.new_order_id(),
                    account_id=server.accounts[account],
                    side=side,
                    order_type=OrderType.LIMIT,
                    price_minor=price * 10**8,
                    quantity_minor=10**6,
                    ts_ns=ts_ns,
                )
                assert (await server.exchange.execute("BTCUSDT", command)).error is None
    finally:
        await server.stop()
    server = await _started(config_text)
    try:
        async with connect(f"ws://127.0.0.1:{server.ports.websocket}/ws/btcusdt@ticker") as websocket:
            frames = await frames_until(websocket, lambda frame: frame.get("e") == "24hrTicker")
        ticker = frames[-1]
        assert (ticker["x"], ticker["o"], ticker["c"], ticker["n"]) == (
            "1010.00000000",
            "1100.00000000",
            "1100.00000000",
            1,
        )
    finally:
        await server.stop()


async def test_a_store_whose_hold_differs_from_its_open_order_is_refused_at_start(tmp_path: Path) -> None:
    """The start check compared each hold with itself, so a hold that an open order could not have made
    (here the order grew on disk) went unseen and the order could trade more than it held."""
    config_text = demo_config_text(tmp_path)
    server = await _started(config_text)
    try:
        order_id = server.exchange.new_order_id()
        assert await _place_buy(server, 1000, order_id) is None
    finally:
        await server.stop()
    connection = sqlite3.connect(tmp_path / "gateway.sqlite3")
    with connection:
        connection.execute(
            "UPDATE orders SET quantity_minor = quantity_minor * 2 WHERE order_id = ?", (order_id,)
        )
    connection.close()
    with pytest.raises(GatewayError, match=f"ledger invariants broken at start: .*{order_id}"):
        await _started(config_text)


async def test_open_orders_on_a_symbol_dropped_from_the_config_are_named_at_start(tmp_path: Path) -> None:
    """Their holds read as orphaned with no word of why; the offline ``ledger verify`` raised KeyError."""
    config_text = demo_config_text(tmp_path)
    server = await _started(config_text)
    try:
        assert await _place_buy(server) is None
    finally:
        await server.stop()
    without_btcusdt = re.sub(r"\[symbols\.BTCUSDT\]\n(?:[^\[\n][^\n]*\n|\n)*", "", config_text)
    assert "BTCUSDT]" not in without_btcusdt
    message = "1 open order is on BTCUSDT, which the configuration does not list"
    with pytest.raises(GatewayError, match=f"ledger invariants broken at start: {message}"):
        await _started(without_btcusdt)


async def test_closed_orders_are_retained_across_a_restart(config_text: str) -> None:
    """Only open orders came back: after a restart an order closed a moment before it was unknown to
    order.status and OrderStatusRequest, and its client order id, unique among retained orders, was free
    to name a second order."""
    config_text += "\n[limits]\nclosed_orders_retained_max = 2\n"
    server = await _started(config_text)
    try:
        account_id = server.accounts["alice"]
        placed = []
        for name in ("first", "second", "third"):
            order_id = server.exchange.new_order_id()
            command = SubmitOrder(
                order_id=order_id,
                account_id=account_id,
                side=Side.BUY,
                order_type=OrderType.LIMIT,
                price_minor=1000 * 10**8,
                quantity_minor=10**6,
            )
            assert (await server.exchange.execute("BTCUSDT", command, client_order_id=name)).error is None
            cancel = CancelOrder(order_id=order_id, account_id=account_id)
            assert (await server.exchange.execute("BTCUSDT", cancel)).error is None
            placed.append(order_id)
        assert await _place_buy(server) is None
    finally:
        await server.stop()
    server = await _started(config_text)
    try:
        exchange = server.exchange
        assert exchange.find_order(account_id, order_id=placed[0]) is None
        second = exchange.find_order(account_id, client_order_id="second")
        assert second is not None and second.order_id == placed[1] and second.status.value == "CANCELED"
        assert exchange.find_order(account_id, order_id=placed[2]).client_order_id == "third"
        assert exchange.find_order(server.accounts["bob"], order_id=placed[2]) is None
        reuse = SubmitOrder(
            order_id=exchange.new_order_id(),
            account_id=account_id,
            side=Side.BUY,
            order_type=OrderType.LIMIT,
            price_minor=1000 * 10**8,
            quantity_minor=10**6,
        )
        assert (await exchange.execute("BTCUSDT", reuse, client_order_id="third")).error is (
            RejectReason.DUPLICATE_ORDER_ID
        )
        assert (await exchange.execute("BTCUSDT", reuse, client_order_id="first")).error is None
        cancel = CancelOrder(order_id=reuse.order_id, account_id=account_id)
        assert (await exchange.execute("BTCUSDT", cancel)).error is None
        assert exchange.find_order(account_id, order_id=placed[1]) is None  # the retained two move on
        assert exchange.find_order(account_id, order_id=placed[2]) is not None
    finally:
        await server.stop()


async def test_abort_after_a_failed_commit_leaves_no_store_thread_behind(tmp_path: Path) -> None:
    """``serve`` aborts after a failed commit and after a failed start: a store thread left running (not
    a daemon) would keep the process from exiting."""
    before = set(threading.enumerate())
    server = GatewayServer(load_settings_text(demo_config_text(tmp_path)))
    await server.start()
    assert set(threading.enumerate()) - before
    server._on_fatal(RuntimeError("the disk is gone"))
    await server.abort()
    deadline = time.monotonic() + 5
    while set(threading.enumerate()) - before and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    assert not {thread for thread in set(threading.enumerate()) - before if not thread.daemon}
