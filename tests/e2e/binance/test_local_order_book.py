"""binance-sdk-spot's stream client keeps a local book from our diff-depth stream, by Binance's procedure.

After a burst of trading, the local book equals the gateway's book exactly.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from decimal import Decimal
from pathlib import Path

import pytest
from binance_common.configuration import ConfigurationWebSocketStreams
from binance_sdk_spot.spot import Spot
from binance_sdk_spot.websocket_streams.models.enums import KlineIntervalEnum
from websockets.asyncio.client import connect

from book.types import OrderType, Side, SubmitOrder, TimeInForce
from config import load_settings_text
from config.money import format_minor
from gateway.server import GatewayServer
from session.binance.kline_clock import KlineClock
from tests.e2e.gateway.config import demo_config_text

COIN = 10**8


async def burst(server: GatewayServer, rng: random.Random, orders: int) -> None:
    """Random limit orders around 50,000 from both accounts, some crossing, some canceled."""
    futures = []
    for _ in range(orders):
        account = server.accounts["alice" if rng.random() < 0.5 else "bob"]
        side = Side.BUY if rng.random() < 0.5 else Side.SELL
        offset = rng.randrange(-20, 60)
        price = (50_000 - offset if side is Side.BUY else 50_000 + offset) * COIN
        command = SubmitOrder(
            order_id=server.exchange.new_order_id(),
            account_id=account,
            side=side,
            order_type=OrderType.LIMIT,
            time_in_force=TimeInForce.GTC,
            price_minor=price,
            quantity_minor=rng.randrange(1, 50) * 100_000,
            ts_ns=time.time_ns(),
        )
        futures.append(server.exchange.submit("BTCUSDT", command))
        if rng.random() < 0.3:
            await asyncio.sleep(0)
    await asyncio.gather(*futures)


def apply(book: dict[str, dict[Decimal, Decimal]], side: str, levels: list[list[str]]) -> None:
    for price, quantity in levels:
        if Decimal(quantity) == 0:
            book[side].pop(Decimal(price), None)
        else:
            book[side][Decimal(price)] = Decimal(quantity)


@pytest.mark.timeout(120)
async def test_local_book_from_snapshot_and_diffs_matches_the_gateway(tmp_path: Path) -> None:
    server = GatewayServer(load_settings_text(demo_config_text(tmp_path)))
    await server.start()
    rng = random.Random(11)
    client = Spot(
        config_ws_streams=ConfigurationWebSocketStreams(stream_url=f"ws://127.0.0.1:{server.ports.websocket}")
    )
    connection = await client.websocket_streams.create_connection()
    try:
        events: list = []
        stream = await connection.diff_book_depth(symbol="btcusdt", update_speed="100ms")
        stream.on("message", events.append)
        trades: list = []
        tickers: list = []
        klines: list = []
        (await connection.trade(symbol="btcusdt")).on("message", trades.append)
        (await connection.ticker(symbol="btcusdt")).on("message", tickers.append)
        (await connection.kline(symbol="btcusdt", interval=KlineIntervalEnum.INTERVAL_1m)).on(
            "message", klines.append
        )
        months: list = []
        (await connection.kline(symbol="btcusdt", interval=KlineIntervalEnum.INTERVAL_1M)).on(
            "message", months.append
        )
        await asyncio.sleep(0.3)
        await burst(server, rng, 200)

        async with connect(f"ws://127.0.0.1:{server.ports.websocket}/ws-api/v3") as api:
            await api.send(
                json.dumps({"id": 1, "method": "depth", "params": {"symbol": "BTCUSDT", "limit": 5000}})
            )
            snapshot = json.loads(await api.recv())["result"]
        await burst(server, rng, 300)
        last_id = server.broadcaster.snapshot("BTCUSDT").last_update_id
        deadline = time.monotonic() + 10
        while not events or events[-1].u < last_id:
            assert time.monotonic() < deadline, "the stream did not catch up"
            await asyncio.sleep(0.05)

        # Binance's procedure: drop events with u <= lastUpdateId; the first kept one straddles it;
        # then every event's U is the previous u + 1.
        book = {"b": {}, "a": {}}
        apply(book, "b", snapshot["bids"])
        apply(book, "a", snapshot["asks"])
        kept = [event for event in events if event.u > snapshot["lastUpdateId"]]
        assert kept[0].U <= snapshot["lastUpdateId"] + 1 <= kept[0].u
        previous = None
        for event in kept:
            assert previous is None or previous + 1 == event.U, "gap in update ids"
            apply(book, "b", event.b)
            apply(book, "a", event.a)
            previous = event.u

        # The typed models parsed every trade, ticker and kline; the last ticker and a kline (the open one,
        # or the closed one if a minute ended meanwhile) cover every trade.
        while not (
            trades
            and tickers
            and tickers[-1].n == len(trades)
            and trades[-1].t == tickers[-1].L
            and any(trades[-1].t == kline.k.L for kline in klines)
            and months
            and months[-1].k.n == len(trades)
        ):
            assert time.monotonic() < deadline + 10, "ticker and kline did not catch up with the trades"
            await asyncio.sleep(0.05)
        assert [t.t for t in trades] == list(range(trades[0].t, trades[0].t + len(trades)))
        assert Decimal(tickers[-1].v) == sum(Decimal(t.q) for t in trades)
        assert {kline.k.i for kline in klines} == {"1m"}
        month = KlineClock("1M")
        opened = month.open_at(time.time_ns() // 1_000_000)
        assert (months[-1].k.i, months[-1].k.t, months[-1].k.T) == ("1M", opened, month.after(opened) - 1)

        truth = server.exchange.books["BTCUSDT"].book.depth(5000)
        symbol = server.settings.symbols["BTCUSDT"]

        def as_decimals(levels):
            return {
                Decimal(format_minor(p, symbol.quote_scale)): Decimal(format_minor(q, symbol.base_scale))
                for p, q in levels
            }

        assert book["b"] == as_decimals(truth.bids)
        assert book["a"] == as_decimals(truth.asks)
        assert len(book["b"]) > 5 and len(book["a"]) > 5
    finally:
        await connection.close_connection()
        await server.stop()
