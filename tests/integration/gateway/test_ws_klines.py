"""``klines``, ``uiKlines``, ``ticker.tradingDay``, ``ticker`` and ``trades.aggregate`` over the WebSocket
API, from trades committed at known times."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from book.types import Side
from config import load_settings_text
from gateway.server import GatewayServer
from session.binance.kline_clock import KlineClock
from tests.e2e.gateway.config import demo_config_text
from tests.integration.gateway.test_ws_api import Client
from tests.integration.gateway.test_ws_depth_stream import limit
from tests.integration.gateway.test_ws_streams import COIN

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS


async def place(
    server: GatewayServer, account: str, side: Side, price: int, quantity: int, ts_ms: int
) -> None:
    command = dataclasses.replace(limit(server, account, side, price, quantity), ts_ns=ts_ms * 1_000_000)
    await server.exchange.execute("BTCUSDT", command)


async def trade_two_hours_ago(server: GatewayServer) -> int:
    """Four trades in the hour that began two hours ago, at 10:10, 10:20 (two) and 12:05 past it;
    returns that hour's start (UTC ms)."""
    hour = (time.time_ns() // 1_000_000 // HOUR_MS - 2) * HOUR_MS
    first, second = hour + 10 * MINUTE_MS + 10_000, hour + 10 * MINUTE_MS + 20_000
    third = hour + 12 * MINUTE_MS + 5_000
    await place(server, "bob", Side.SELL, 50_000, COIN // 10, first)
    await place(server, "alice", Side.BUY, 50_000, COIN // 20, first)  # 0.05 at 50,000
    await place(server, "bob", Side.SELL, 51_000, COIN // 20, second)
    await place(server, "alice", Side.BUY, 51_000, COIN // 10, second)  # 0.05 at 50,000, 0.05 at 51,000
    await place(server, "bob", Side.BUY, 45_000, COIN // 50, third)
    await place(server, "alice", Side.SELL, 45_000, COIN // 50, third)  # 0.02 at 45,000, the taker selling
    return hour


@pytest.mark.usefixtures("fresh_weight_window")
async def test_klines_come_from_the_committed_trades_with_empty_ones_between(gateway: GatewayServer) -> None:
    hour = await trade_two_hours_ago(gateway)
    ten, eleven, twelve = (hour + minute * MINUTE_MS for minute in (10, 11, 12))
    async with connect(f"ws://127.0.0.1:{gateway.ports.websocket}/ws-api/v3") as websocket:
        client = Client(websocket)
        named = {"symbol": "BTCUSDT", "interval": "1m", "startTime": hour, "endTime": twelve + 30_000}
        answer = await client.call("klines", named)
        assert answer["result"] == [
            [ten, "50000.00000000", "51000.00000000", "50000.00000000", "51000.00000000", "0.15000000",
             eleven - 1, "7550.00000000", 3, "0.15000000", "7550.00000000", "0"],
            [eleven, *["51000.00000000"] * 4, "0.00000000", twelve - 1, "0.00000000", 0,
             "0.00000000", "0.00000000", "0"],
            [twelve, *["45000.00000000"] * 4, "0.02000000", twelve + MINUTE_MS - 1, "900.00000000", 1,
             "0.00000000", "0.00000000", "0"],
        ]  # fmt: skip
        again = await client.call("uiKlines", named)
        assert again["result"] == answer["result"]
        assert again["rateLimits"][0]["count"] == answer["rateLimits"][0]["count"] + 2  # weight 2
        latest = {"symbol": "BTCUSDT", "interval": "1m", "endTime": twelve, "limit": 2}
        latest_two = await client.call("klines", latest)
        assert [kline[0] for kline in latest_two["result"]] == [eleven, twelve]

        hours = await client.call("klines", {"symbol": "BTCUSDT", "interval": "1h", "limit": 3})
        (traded, after, current) = hours["result"]
        assert (traded[0], traded[4], traded[8]) == (hour, "45000.00000000", 4)
        assert (after[0], after[8], after[1]) == (hour + HOUR_MS, 0, "45000.00000000")
        assert current[0] == hour + 2 * HOUR_MS
        shifted = await client.call(
            "klines",
            {"symbol": "BTCUSDT", "interval": "1h", "timeZone": "-0:30", "endTime": hour + 29 * MINUTE_MS},
        )
        assert [(kline[0], kline[8]) for kline in shifted["result"]] == [(hour - 30 * MINUTE_MS, 4)]


async def test_a_start_before_the_first_trade_counts_from_its_kline(gateway: GatewayServer) -> None:
    hour = await trade_two_hours_ago(gateway)
    async with connect(f"ws://127.0.0.1:{gateway.ports.websocket}/ws-api/v3") as websocket:
        client = Client(websocket)
        seconds = {"symbol": "BTCUSDT", "interval": "1s", "startTime": 0, "limit": 3}
        assert [kline[0] for kline in (await client.call("klines", seconds))["result"]] == [
            hour + 10 * MINUTE_MS + 10_000 + offset for offset in (0, 1000, 2000)
        ]
        untraded = await client.call("klines", {"symbol": "ETHUSDT", "interval": "1m", "startTime": 0})
        assert untraded["result"] == []
        assert (await client.call("klines", {"symbol": "ETHUSDT", "interval": "1m"}))["result"] == []


async def test_bad_kline_requests_get_binances_errors(gateway: GatewayServer) -> None:
    async with connect(f"ws://127.0.0.1:{gateway.ports.websocket}/ws-api/v3") as websocket:
        client = Client(websocket)
        latest = 2**63 - 1  # past what nanoseconds in 64 bits reach: counts as the latest time they do
        for method, params in (
            ("klines", {"symbol": "BTCUSDT", "interval": "1m", "startTime": latest}),
            ("klines", {"symbol": "BTCUSDT", "interval": "1m", "endTime": latest}),
            ("trades.aggregate", {"symbol": "BTCUSDT", "startTime": latest}),
            ("trades.aggregate", {"symbol": "BTCUSDT", "endTime": latest}),
        ):
            assert (await client.call(method, params))["result"] == [], (method, params)
        for params, code in (
            ({"symbol": "BTCUSDT", "interval": "2m"}, -1120),
            ({"symbol": "BTCUSDT"}, -1102),
            ({"interval": "1m"}, -1102),
            ({"symbol": "NOPE", "interval": "1m"}, -1121),
            ({"symbol": "BTCUSDT", "interval": "1m", "timeZone": "15:00"}, -1130),
            ({"symbol": "BTCUSDT", "interval": "1m", "limit": 0}, -1130),
            ({"symbol": "BTCUSDT", "interval": "1m", "startTime": "soon"}, -1130),
            ({"symbol": "BTCUSDT", "interval": "1m", "colour": "red"}, -1103),
        ):
            answer = await client.call("klines", params)
            assert (answer["status"], answer["error"]["code"]) == (400, code), params


@pytest.mark.usefixtures("fresh_weight_window")
async def test_the_trading_day_ticker_sums_the_day_in_the_time_zone_asked(gateway: GatewayServer) -> None:
    now_ms = time.time_ns() // 1_000_000
    await place(gateway, "bob", Side.SELL, 50_000, COIN // 10, now_ms)
    await place(gateway, "alice", Side.BUY, 50_000, COIN // 20, now_ms)
    await place(gateway, "alice", Side.BUY, 50_000, COIN // 20, now_ms)
    async with connect(f"ws://127.0.0.1:{gateway.ports.websocket}/ws-api/v3") as websocket:
        client = Client(websocket)
        answer = await client.call("ticker.tradingDay", {"symbol": "BTCUSDT", "timeZone": "-1:00"})
        day = answer["result"]
        assert list(day) == [
            "symbol", "priceChange", "priceChangePercent", "weightedAvgPrice", "openPrice", "highPrice",
            "lowPrice", "lastPrice", "volume", "quoteVolume", "openTime", "closeTime", "firstId", "lastId",
            "count",
        ]  # fmt: skip
        assert (day["count"], day["volume"], day["quoteVolume"]) == (2, "0.10000000", "5000.00000000")
        assert (day["lastId"] - day["firstId"], day["priceChange"], day["weightedAvgPrice"]) == (
            1,
            "0.00000000",
            "50000.00000000",
        )
        assert day["openTime"] % (24 * HOUR_MS) == HOUR_MS and day["openTime"] <= now_ms < day["closeTime"]
        assert day["closeTime"] - day["openTime"] == 24 * HOUR_MS - 1
        both = await client.call("ticker.tradingDay", {"symbols": ["BTCUSDT", "ETHUSDT"], "type": "MINI"})
        btc, eth = both["result"]
        assert both["rateLimits"][0]["count"] == answer["rateLimits"][0]["count"] + 8  # 4 per symbol
        assert "priceChange" not in btc and btc["count"] == 2 and btc["openTime"] % (24 * HOUR_MS) == 0
        assert (eth["count"], eth["firstId"], eth["lastId"], eth["lastPrice"]) == (0, -1, -1, "0.00000000")
        for params, code in (
            ({}, -1102),
            ({"symbol": "BTCUSDT", "timeZone": "+15"}, -1130),
            ({"symbol": "BTCUSDT", "type": "HUGE"}, -1139),
            ({"symbol": "BTCUSDT", "symbols": ["ETHUSDT"]}, -1128),
        ):
            assert (await client.call("ticker.tradingDay", params))["error"]["code"] == code, params


@pytest.mark.usefixtures("fresh_weight_window")
async def test_the_rolling_window_ticker_starts_on_the_minute_of_its_window(gateway: GatewayServer) -> None:
    now_ms = time.time_ns() // 1_000_000
    await place(gateway, "bob", Side.SELL, 50_000, COIN // 10, now_ms - 90 * MINUTE_MS)
    await place(gateway, "alice", Side.BUY, 50_000, COIN // 20, now_ms - 90 * MINUTE_MS)
    await place(gateway, "bob", Side.SELL, 52_000, COIN // 20, now_ms - 10 * MINUTE_MS)
    await place(
        gateway, "alice", Side.BUY, 52_000, COIN // 10, now_ms - 10 * MINUTE_MS
    )  # at 50,000 and 52,000
    async with connect(f"ws://127.0.0.1:{gateway.ports.websocket}/ws-api/v3") as websocket:
        client = Client(websocket)
        hour = await client.call("ticker", {"symbol": "BTCUSDT", "windowSize": "1h"})
        last_hour = hour["result"]
        assert (last_hour["count"], last_hour["openPrice"], last_hour["lastPrice"]) == (
            2,
            "50000.00000000",
            "52000.00000000",
        )
        assert (last_hour["priceChange"], last_hour["priceChangePercent"]) == ("2000.00000000", "4.000")
        assert last_hour["openTime"] % MINUTE_MS == 0
        assert 0 <= last_hour["closeTime"] - HOUR_MS - last_hour["openTime"] < MINUTE_MS + 10_000
        two_hours = (await client.call("ticker", {"symbol": "BTCUSDT", "windowSize": "2h"}))["result"]
        assert (two_hours["count"], two_hours["volume"], two_hours["lowPrice"]) == (
            3,
            "0.15000000",
            "50000.00000000",
        )
        day = await client.call("ticker", {"symbols": ["BTCUSDT"], "type": "MINI"})
        (mini,) = day["result"]
        assert (mini["count"], "priceChange" in mini) == (3, False)
        assert day["rateLimits"][0]["count"] == hour["rateLimits"][0]["count"] + 8  # 4 per symbol each
        for params, code in (
            ({"symbol": "BTCUSDT", "windowSize": "60m"}, -1130),
            ({"symbol": "BTCUSDT", "windowSize": "1w"}, -1130),
            ({"windowSize": "1h"}, -1102),
            ({"symbol": "BTCUSDT", "type": "LONG"}, -1139),
        ):
            assert (await client.call("ticker", params))["error"]["code"] == code, params


@pytest.mark.usefixtures("fresh_weight_window")
async def test_aggregate_trades_are_runs_of_one_taker_order_at_one_price(gateway: GatewayServer) -> None:
    now_ms = time.time_ns() // 1_000_000
    placed, swept, later = now_ms - 3_000, now_ms - 2_000, now_ms - 1_000
    for price in (50_000, 50_000, 51_000):
        await place(gateway, "bob", Side.SELL, price, COIN // 10, placed)
    await place(gateway, "alice", Side.BUY, 51_000, COIN // 4, swept)  # 0.1 and 0.1 at 50,000, 0.05 at 51,000
    await place(gateway, "alice", Side.BUY, 51_000, COIN // 20, later)  # 0.05 at 51,000: another taker
    async with connect(f"ws://127.0.0.1:{gateway.ports.websocket}/ws-api/v3") as websocket:
        client = Client(websocket)
        ids = [t["id"] for t in (await client.call("trades.historical", {"symbol": "BTCUSDT"}))["result"]]
        assert len(ids) == 4
        answer = await client.call("trades.aggregate", {"symbol": "BTCUSDT"})
        assert answer["result"] == [
            {"a": ids[0], "p": "50000.00000000", "q": "0.20000000", "f": ids[0], "l": ids[1], "T": swept,
             "m": False, "M": True},
            {"a": ids[2], "p": "51000.00000000", "q": "0.05000000", "f": ids[2], "l": ids[2], "T": swept,
             "m": False, "M": True},
            {"a": ids[3], "p": "51000.00000000", "q": "0.05000000", "f": ids[3], "l": ids[3], "T": later,
             "m": False, "M": True},
        ]  # fmt: skip
        everything = answer["result"]

        async def aggregates(**params: object) -> list:
            return (await client.call("trades.aggregate", {"symbol": "BTCUSDT", **params}))["result"]

        assert await aggregates(limit=2) == everything[1:]
        assert await aggregates(fromId=ids[0]) == everything
        assert await aggregates(fromId=ids[1]) == everything[1:]  # inside the first run: the next one
        assert await aggregates(fromId=ids[2], limit=1) == everything[1:2]
        assert await aggregates(startTime=swept, endTime=swept) == everything[:2]
        assert await aggregates(startTime=later) == everything[2:]
        assert await aggregates(endTime=swept, limit=1) == everything[1:2]
        first, second = [await client.call("trades.aggregate", {"symbol": "BTCUSDT"}) for _ in range(2)]
        assert second["rateLimits"][0]["count"] == first["rateLimits"][0]["count"] + 4
        for params, code in (
            ({"symbol": "BTCUSDT", "fromId": ids[0], "startTime": swept}, -1128),
            ({"symbol": "BTCUSDT", "limit": 0}, -1130),
            ({"symbol": "BTCUSDT", "fromId": "1.5"}, -1130),
            ({}, -1102),
        ):
            assert (await client.call("trades.aggregate", params))["error"]["code"] == code, params


async def test_week_month_and_3d_kline_streams_count_the_trades_before_the_24h_window_after_a_restart(
    tmp_path: Path,
) -> None:
    """After a restart, the open ``1w``, ``3d`` and ``1M`` klines hold their trades from before the 24 h
    the streams restore second by second (read from the store), each once, as the ``klines`` method
    counts them; a trade of the month before counts in none."""
    now_ms = time.time_ns() // 1_000_000
    month_open = KlineClock("1M").open_at(now_ms)
    times = sorted(
        {month_open - 2 * DAY_MS, month_open + MINUTE_MS, now_ms - 30 * HOUR_MS, now_ms - 2 * HOUR_MS}
    )
    settings = load_settings_text(demo_config_text(tmp_path))
    first = GatewayServer(settings)
    await first.start()
    try:
        for ts_ms in (t for t in times if t < now_ms - MINUTE_MS):
            await place(first, "bob", Side.SELL, 50_000, COIN // 20, ts_ms)
            await place(first, "alice", Side.BUY, 50_000, COIN // 20, ts_ms)
    finally:
        await first.stop()
    second = GatewayServer(settings)
    await second.start()
    names = {"1M": "btcusdt@kline_1M", "1w": "btcusdt@kline_1w", "3d": "btcusdt@kline_3d"}
    names["1M@+08:00"] = "btcusdt@kline_1M@+08:00"
    url = f"ws://127.0.0.1:{second.ports.websocket}"
    try:
        async with connect(f"{url}/stream?streams={'/'.join(names.values())}") as streams:
            by_stream: dict[str, dict] = {}
            async with asyncio.timeout(6):
                while len(by_stream) < len(names):
                    frame = json.loads(await streams.recv())
                    by_stream.setdefault(frame["stream"], frame["data"]["k"])
        async with connect(f"{url}/ws-api/v3") as websocket:
            client = Client(websocket)
            for key, name in names.items():
                interval, _, zone = key.partition("@")
                clock = KlineClock(interval, 8 * HOUR_MS if zone else 0)
                kline = by_stream[name]
                opened = clock.open_at(time.time_ns() // 1_000_000)
                expected = sum(1 for t in times if opened <= t < now_ms - MINUTE_MS)
                assert (kline["i"], kline["t"], kline["T"]) == (interval, opened, clock.after(opened) - 1)
                assert (kline["n"], kline["v"]) == (expected, f"{0.05 * expected:.8f}"), key
                asked = {"symbol": "BTCUSDT", "interval": interval, "limit": 1}
                if zone:
                    asked["timeZone"] = "8"
                (latest,) = (await client.call("klines", asked))["result"]
                assert (latest[0], latest[8], latest[5]) == (kline["t"], kline["n"], kline["v"])
    finally:
        await second.stop()
