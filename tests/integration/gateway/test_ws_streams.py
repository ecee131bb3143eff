"""Market streams over a real socket: the control protocol, raw and combined frames, every stream kind."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from book.types import OrderType, Side, SubmitOrder, TimeInForce
from config import load_settings_text
from gateway.server import GatewayServer
from tests.e2e.gateway.config import demo_config_text
from tests.integration.gateway.test_ws_depth_stream import limit
from tests.rate_windows import MINUTE_S, wait_for_fresh_window

COIN = 10**8


async def trade_once(server: GatewayServer) -> None:
    for account, side in (("bob", Side.SELL), ("alice", Side.BUY)):
        command = SubmitOrder(
            order_id=server.exchange.new_order_id(),
            account_id=server.accounts[account],
            side=side,
            order_type=OrderType.LIMIT,
            time_in_force=TimeInForce.GTC,
            price_minor=50_000 * COIN,
            quantity_minor=COIN // 10 if side is Side.SELL else COIN // 20,
            ts_ns=time.time_ns(),
        )
        await server.exchange.execute("BTCUSDT", command)


@contextlib.asynccontextmanager
async def restarted_after_two_trades(tmp_path: Path) -> AsyncIterator[GatewayServer]:
    """A gateway that traded twice, was stopped, and started again on the same store."""
    settings = load_settings_text(demo_config_text(tmp_path))
    first = GatewayServer(settings)
    await first.start()
    try:
        await trade_once(first)
        await trade_once(first)
    finally:
        await first.stop()
    second = GatewayServer(settings)
    await second.start()
    try:
        yield second
    finally:
        await second.stop()


async def frames_until(websocket, predicate, timeout_s: float = 5.0) -> list[dict]:
    seen = []
    async with asyncio.timeout(timeout_s):
        while not any(predicate(frame) for frame in seen):
            seen.append(json.loads(await websocket.recv()))
    return seen


async def test_control_protocol(gateway: GatewayServer) -> None:
    async with connect(f"ws://127.0.0.1:{gateway.ports.websocket}/stream") as websocket:
        await websocket.send(
            json.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@trade", "ethbtc@depth5"], "id": 1})
        )
        assert json.loads(await websocket.recv()) == {"result": None, "id": 1}
        await websocket.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 2}))
        assert json.loads(await websocket.recv()) == {"result": ["btcusdt@trade", "ethbtc@depth5"], "id": 2}
        await websocket.send(json.dumps({"method": "UNSUBSCRIBE", "params": ["ethbtc@depth5"], "id": 3}))
        assert json.loads(await websocket.recv()) == {"result": None, "id": 3}
        await websocket.send(json.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@@x"], "id": 4}))
        assert json.loads(await websocket.recv()) == {
            "error": {"code": 2, "msg": "Invalid request: invalid stream"},
            "id": 4,
        }
        await websocket.send("{oops")
        assert json.loads(await websocket.recv())["error"]["code"] == 3
        await asyncio.sleep(1.05)  # at most 5 control messages per second
        await websocket.send(json.dumps({"method": "GET_PROPERTY", "params": ["combined"], "id": 5}))
        assert json.loads(await websocket.recv()) == {"result": True, "id": 5}
        await asyncio.sleep(1.05)
        with pytest.raises(ConnectionClosed):
            for request_id in range(6, 20):
                await websocket.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": request_id}))
                await asyncio.wait_for(websocket.recv(), 5)


async def test_streams_are_served_at_stream_with_a_trailing_slash_too(gateway: GatewayServer) -> None:
    """Binance's combined streams are at /stream/ as well as /stream; the slash answered 404."""
    url = f"ws://127.0.0.1:{gateway.ports.websocket}/stream/?streams=btcusdt@trade"
    async with connect(url) as websocket:
        await websocket.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 1}))
        assert json.loads(await asyncio.wait_for(websocket.recv(), 5)) == {
            "result": ["btcusdt@trade"],
            "id": 1,
        }
        await websocket.send(json.dumps({"method": "GET_PROPERTY", "params": ["combined"], "id": 2}))
        assert json.loads(await asyncio.wait_for(websocket.recv(), 5)) == {"result": True, "id": 2}


async def test_the_answers_before_a_sixth_message_reach_the_client_before_the_close(
    gateway: GatewayServer,
) -> None:
    """Past five messages a second the connection closes, but after what was answered within the limit:
    the outbox dropped the five answers queued in the same turn."""
    async with connect(f"ws://127.0.0.1:{gateway.ports.websocket}/ws/btcusdt@trade") as websocket:
        await asyncio.sleep(1.05)
        for request_id in range(1, 7):
            await websocket.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": request_id}))
        answers = []
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                answers.append(json.loads(await asyncio.wait_for(websocket.recv(), 5))["id"])
        assert answers == [1, 2, 3, 4, 5]
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


async def test_ping_and_pong_frames_count_among_the_five_messages_a_second(gateway: GatewayServer) -> None:
    """Binance counts PING and PONG frames with the JSON control messages; pings were not counted, so a
    client could ping without bound."""
    url = f"ws://127.0.0.1:{gateway.ports.websocket}/ws/btcusdt@trade"
    async with connect(url, ping_interval=None) as websocket:
        for _ in range(4):
            await websocket.pong()
        await websocket.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 1}))
        assert json.loads(await asyncio.wait_for(websocket.recv(), 5)) == {
            "result": ["btcusdt@trade"],
            "id": 1,
        }
        await asyncio.sleep(1.05)
        for _ in range(6):
            await websocket.ping()
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(websocket.recv(), 5)
    assert closed.value.rcvd.code == 1008 and closed.value.rcvd.reason == "too many messages"


async def test_a_bad_unsubscribe_is_answered_and_the_connection_goes_on(gateway: GatewayServer) -> None:
    """Unhashable stream names in UNSUBSCRIBE raised in the connection's task and ended it."""
    async with connect(f"ws://127.0.0.1:{gateway.ports.websocket}/ws/btcusdt@trade") as websocket:
        await websocket.send(json.dumps({"method": "UNSUBSCRIBE", "params": [["btcusdt@trade"]], "id": 1}))
        answer = json.loads(await asyncio.wait_for(websocket.recv(), 5))
        assert answer == {"error": {"code": 2, "msg": "Invalid request: invalid stream"}, "id": 1}
        await websocket.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 2}))
        assert json.loads(await asyncio.wait_for(websocket.recv(), 5)) == {
            "result": ["btcusdt@trade"],
            "id": 2,
        }


async def test_trade_book_ticker_and_partial_depth_frames(gateway: GatewayServer) -> None:
    url = f"ws://127.0.0.1:{gateway.ports.websocket}"
    async with (
        connect(f"{url}/ws/btcusdt@trade") as raw,
        connect(f"{url}/stream?streams=btcusdt@bookTicker/btcusdt@depth5@100ms/btcusdt@depth") as combined,
    ):
        await asyncio.sleep(0.2)
        await trade_once(gateway)
        (trade,) = await frames_until(raw, lambda f: f.get("e") == "trade")
        assert (trade["s"], trade["p"], trade["q"], trade["m"]) == (
            "BTCUSDT",
            "50000.00000000",
            "0.05000000",
            False,
        )
        seen = await frames_until(combined, lambda f: f["stream"] == "btcusdt@depth")
        by_stream = {frame["stream"]: frame["data"] for frame in seen}
        assert by_stream["btcusdt@bookTicker"]["a"] == "50000.00000000"
        assert by_stream["btcusdt@depth5@100ms"]["asks"] == [["50000.00000000", "0.05000000"]]
        diff = by_stream["btcusdt@depth"]
        assert diff["e"] == "depthUpdate" and diff["U"] <= diff["u"]


async def test_agg_trade_sums_the_trades_of_one_taker_order_at_one_price(gateway: GatewayServer) -> None:
    url = f"ws://127.0.0.1:{gateway.ports.websocket}/stream?streams=btcusdt@aggTrade/btcusdt@trade"
    async with connect(url) as websocket:
        await asyncio.sleep(0.2)
        for price, quantity in ((50_000, COIN // 100), (50_000, COIN // 50), (50_001, COIN // 50)):
            await gateway.exchange.execute("BTCUSDT", limit(gateway, "bob", Side.SELL, price, quantity))
        await gateway.exchange.execute("BTCUSDT", limit(gateway, "alice", Side.BUY, 50_001, COIN // 20))
        frames: list[dict] = []  # three trades and two aggregates
        async with asyncio.timeout(5):
            while len(frames) < 5:
                frames.append(json.loads(await websocket.recv()))
    trades = [f["data"] for f in frames if f["stream"] == "btcusdt@trade"]
    aggregates = [f["data"] for f in frames if f["stream"] == "btcusdt@aggTrade"]
    first, second, third = (trade["t"] for trade in trades)
    assert [(a["a"], a["f"], a["l"], a["p"], a["q"]) for a in aggregates] == [
        (first, first, second, "50000.00000000", "0.03000000"),
        (third, third, third, "50001.00000000", "0.02000000"),
    ]
    assert all(a["e"] == "aggTrade" and a["s"] == "BTCUSDT" and a["m"] is False for a in aggregates)
    assert aggregates[0]["T"] == trades[0]["T"] and aggregates[0]["M"] is True


async def test_invalid_stream_in_the_url_closes_the_connection(gateway: GatewayServer) -> None:
    async with connect(f"ws://127.0.0.1:{gateway.ports.websocket}/ws/btcusdt@nosuch") as websocket:
        with pytest.raises(ConnectionClosed, match="invalid stream"):
            await asyncio.wait_for(websocket.recv(), 5)


async def test_a_symbol_not_listed_is_taken_and_carries_nothing(gateway: GatewayServer) -> None:
    """As on Binance: an unlisted symbol is no error, so it does not cost the client its other streams."""
    url = f"ws://127.0.0.1:{gateway.ports.websocket}/stream?streams=nosuch@trade/btcusdt@trade"
    async with connect(url) as websocket:
        await websocket.send(json.dumps({"method": "SUBSCRIBE", "params": ["dogeusdt@depth"], "id": 1}))
        assert json.loads(await asyncio.wait_for(websocket.recv(), 5)) == {"result": None, "id": 1}
        await trade_once(gateway)
        (frame,) = await frames_until(websocket, lambda f: f.get("stream") == "btcusdt@trade")
        assert frame["data"]["s"] == "BTCUSDT"
        await websocket.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 2}))
        frames = await frames_until(websocket, lambda f: f.get("id") == 2)
        assert frames[-1]["result"] == ["btcusdt@trade", "dogeusdt@depth", "nosuch@trade"]
        assert not [f for f in frames if f.get("stream") in ("nosuch@trade", "dogeusdt@depth")]


async def test_url_encoded_stream_names_are_read(gateway: GatewayServer) -> None:
    """Binance's streams take URL-encoded URLs (changelog 2025-12-02): ``%40`` is ``@``, ``%2F`` ``/``."""
    url = f"ws://127.0.0.1:{gateway.ports.websocket}"
    for path in (
        "/ws/btcusdt%40trade%2Fethbtc%40depth5",
        "/stream?streams=btcusdt%40trade%2Fethbtc%40depth5",
    ):
        async with connect(url + path) as websocket:
            await websocket.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 1}))
            answer = json.loads(await asyncio.wait_for(websocket.recv(), 5))
            assert answer == {"result": ["btcusdt@trade", "ethbtc@depth5"], "id": 1}, path


async def test_time_unit_microsecond_gives_every_time_in_microseconds(gateway: GatewayServer) -> None:
    """``timeUnit=MICROSECOND`` (or ``microsecond``) on the URL; milliseconds stay the default."""
    streams = "btcusdt@trade/btcusdt@kline_1m/btcusdt@ticker/btcusdt@depth"
    url = f"ws://127.0.0.1:{gateway.ports.websocket}/stream?streams={streams}"
    async with (
        connect(url) as milliseconds,
        connect(url + "&timeUnit=MICROSECOND") as microseconds,
        connect(url + "&timeUnit=microsecond") as lowercase,
    ):
        await asyncio.sleep(0.2)
        await trade_once(gateway)
        seen = {}
        for name, websocket in (("ms", milliseconds), ("us", microseconds), ("lower", lowercase)):
            by_stream: dict[str, dict] = {}  # the first frame of each stream
            async with asyncio.timeout(6):
                while len(by_stream) < 4:
                    frame = json.loads(await websocket.recv())
                    by_stream.setdefault(frame["stream"], frame["data"])
            seen[name] = by_stream
    ms, us = seen["ms"], seen["us"]
    assert seen["lower"]["btcusdt@trade"]["T"] == us["btcusdt@trade"]["T"]
    assert us["btcusdt@trade"]["T"] // 1000 == ms["btcusdt@trade"]["T"]
    assert us["btcusdt@trade"]["E"] // 1000 == ms["btcusdt@trade"]["E"]
    assert us["btcusdt@trade"]["T"] > 10**15 > ms["btcusdt@trade"]["T"]
    kline = us["btcusdt@kline_1m"]["k"]
    assert kline["t"] % 60_000_000 == 0 and kline["T"] == kline["t"] + 60_000_000 - 1
    assert kline["t"] == ms["btcusdt@kline_1m"]["k"]["t"] * 1000
    ticker = us["btcusdt@ticker"]
    assert ticker["C"] - ticker["O"] == 86_400_000_000 and ticker["E"] == ticker["C"] > 10**15
    assert us["btcusdt@depth"]["E"] > 10**15 > ms["btcusdt@depth"]["E"]


async def test_an_unknown_time_unit_closes_the_connection(gateway: GatewayServer) -> None:
    url = f"ws://127.0.0.1:{gateway.ports.websocket}/ws/btcusdt@trade?timeUnit=NANOSECOND"
    async with connect(url) as websocket:
        with pytest.raises(ConnectionClosed, match="invalid timeUnit"):
            await asyncio.wait_for(websocket.recv(), 5)


async def test_24h_ticker_and_klines_follow_the_trades(gateway: GatewayServer) -> None:
    url = f"ws://127.0.0.1:{gateway.ports.websocket}/stream?streams=btcusdt@ticker/btcusdt@kline_1m"
    async with connect(url) as websocket:
        await asyncio.sleep(0.2)
        await wait_for_fresh_window(MINUTE_S, seconds_left_s=8.0)  # both trades and the check in one candle
        await trade_once(gateway)
        await trade_once(gateway)
        seen = await frames_until(
            websocket,
            lambda f: f["stream"] == "btcusdt@kline_1m" and f["data"]["k"]["n"] == 2,
            timeout_s=6,
        )
        tickers = [f["data"] for f in seen if f["stream"] == "btcusdt@ticker" and f["data"]["n"] == 2]
        if not tickers:
            seen = await frames_until(
                websocket, lambda f: f["stream"] == "btcusdt@ticker" and f["data"]["n"] == 2
            )
            tickers = [seen[-1]["data"]]
        ticker = tickers[-1]
        assert ticker["e"] == "24hrTicker" and ticker["s"] == "BTCUSDT"
        assert (ticker["o"], ticker["h"], ticker["l"], ticker["c"]) == ("50000.00000000",) * 4
        assert (ticker["v"], ticker["q"], ticker["w"]) == ("0.10000000", "5000.00000000", "50000.00000000")
        assert (ticker["p"], ticker["P"], ticker["Q"]) == ("0.00000000", "0.000", "0.05000000")
        assert ticker["L"] == ticker["F"] + 1 and ticker["C"] - ticker["O"] == 86_400_000
        assert ticker["a"] == "50000.00000000" and ticker["B"] == "0.00000000"
        kline = next(f["data"]["k"] for f in reversed(seen) if f["stream"] == "btcusdt@kline_1m")
        assert (kline["i"], kline["x"], kline["T"] - kline["t"]) == ("1m", False, 59_999)
        assert (kline["o"], kline["c"], kline["v"], kline["q"]) == (
            "50000.00000000",
            "50000.00000000",
            "0.10000000",
            "5000.00000000",
        )
        assert (kline["V"], kline["L"] - kline["f"]) == ("0.10000000", 1)


async def test_utc_plus_8_klines_are_served(gateway: GatewayServer) -> None:
    """``<symbol>@kline_<interval>@+08:00``: for 1m, 5m and 1h the UTC+8 candles are the UTC ones; a ``+``
    in the URL stays a ``+``."""
    streams = "btcusdt@kline_5m@+08:00/btcusdt@kline_5m"
    async with connect(f"ws://127.0.0.1:{gateway.ports.websocket}/stream?streams={streams}") as websocket:
        await websocket.send(
            json.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@kline_1h@+08:00"], "id": 1})
        )
        assert json.loads(await websocket.recv()) == {"result": None, "id": 1}
        await trade_once(gateway)
        by_stream: dict[str, dict] = {}
        async with asyncio.timeout(6):
            while len(by_stream) < 3:
                frame = json.loads(await websocket.recv())
                by_stream[frame["stream"]] = frame["data"]
    utc, utc8 = by_stream["btcusdt@kline_5m"], by_stream["btcusdt@kline_5m@+08:00"]
    assert utc8 == utc and utc8["k"]["i"] == "5m" and utc8["k"]["n"] == 1
    assert by_stream["btcusdt@kline_1h@+08:00"]["k"]["i"] == "1h"


async def test_mini_tickers_of_one_symbol_and_of_every_symbol_that_changed(gateway: GatewayServer) -> None:
    url = f"ws://127.0.0.1:{gateway.ports.websocket}/stream?streams=btcusdt@miniTicker/!miniTicker@arr"
    async with connect(url) as websocket:
        first = await frames_until(websocket, lambda f: f["stream"] == "!miniTicker@arr")
        assert {ticker["s"] for ticker in first[-1]["data"]} == set(gateway.settings.symbols)
        await trade_once(gateway)
        seen = await frames_until(
            websocket,
            lambda f: f["stream"] == "!miniTicker@arr" and f["data"][0]["v"] == "0.05000000",
        )
        (changed,) = seen[-1]["data"]  # only the symbol that traded
        mini = next(f["data"] for f in reversed(seen) if f["stream"] == "btcusdt@miniTicker")
    assert changed == mini | {"E": changed["E"]}
    assert mini["e"] == "24hrMiniTicker" and mini["s"] == "BTCUSDT"
    assert (mini["c"], mini["o"], mini["h"], mini["l"]) == ("50000.00000000",) * 4
    assert (mini["v"], mini["q"]) == ("0.05000000", "2500.00000000")


async def test_klines_of_every_interval_from_1s_to_1d(gateway: GatewayServer) -> None:
    intervals = {"1s": 1000, "15m": 900_000, "4h": 14_400_000, "1d": 86_400_000}
    names = [f"btcusdt@kline_{interval}" for interval in intervals] + ["btcusdt@kline_1d@+08:00"]
    async with connect(f"ws://127.0.0.1:{gateway.ports.websocket}/stream?streams={'/'.join(names)}") as ws:
        await trade_once(gateway)
        by_stream: dict[str, dict] = {}
        async with asyncio.timeout(6):
            while len(by_stream) < len(names):
                frame = json.loads(await ws.recv())
                by_stream.setdefault(frame["stream"], frame["data"]["k"])
    for interval, interval_ms in intervals.items():
        kline = by_stream[f"btcusdt@kline_{interval}"]
        assert kline["i"] == interval and kline["t"] % interval_ms == 0
        assert kline["T"] == kline["t"] + interval_ms - 1
        assert kline["n"] == 1  # the first frame of each is the candle of the trade (open or closed)
    utc8 = by_stream["btcusdt@kline_1d@+08:00"]
    assert (utc8["t"] + 8 * 3_600_000) % 86_400_000 == 0 and utc8["n"] == 1


async def test_a_subscriber_past_its_buffer_bound_is_cut_off_and_trading_goes_on(tmp_path: Path) -> None:
    text = demo_config_text(tmp_path) + "\n[limits]\nwebsocket_buffer_bytes_max = 200\n"
    server = GatewayServer(load_settings_text(text))
    await server.start()
    try:
        async with connect(f"ws://127.0.0.1:{server.ports.websocket}/ws/btcusdt@ticker") as websocket:
            with pytest.raises(ConnectionClosed, match="slow consumer"):
                await asyncio.wait_for(websocket.recv(), 5)
        await trade_once(server)
        assert server.broadcaster.recent_trades("BTCUSDT", 10)
    finally:
        await server.stop()


async def test_connections_per_address_are_bounded(tmp_path: Path) -> None:
    text = demo_config_text(tmp_path) + "\n[limits]\nconnections_per_address_max = 2\n"
    server = GatewayServer(load_settings_text(text))
    await server.start()
    url = f"ws://127.0.0.1:{server.ports.websocket}"
    try:
        async with connect(f"{url}/ws/btcusdt@trade"), connect(f"{url}/ws-api/v3") as api:
            async with connect(f"{url}/ws/btcusdt@trade") as third:
                with pytest.raises(ConnectionClosed, match="too many connections"):
                    await asyncio.wait_for(third.recv(), 5)
            await api.send(json.dumps({"id": 1, "method": "ping"}))
            assert json.loads(await asyncio.wait_for(api.recv(), 5))["status"] == 200
        # Closed connections give their places back (once the server has seen them end).
        deadline = time.monotonic() + 5
        while True:
            async with connect(f"{url}/ws-api/v3") as again:
                await again.send(json.dumps({"id": 2, "method": "ping"}))
                try:
                    assert json.loads(await asyncio.wait_for(again.recv(), 5))["status"] == 200
                    break
                except ConnectionClosed:
                    assert time.monotonic() < deadline, "places were not given back"
            await asyncio.sleep(0.05)
    finally:
        await server.stop()


async def test_a_connection_ends_at_its_lifetime(gateway: GatewayServer) -> None:
    """Binance ends a stream connection at 24 h; here the lifetime is shortened to see it."""
    gateway.streams.connection_lifetime_s = 0.3
    async with connect(f"ws://127.0.0.1:{gateway.ports.websocket}/ws/btcusdt@depth") as websocket:
        with pytest.raises(ConnectionClosed) as closed:
            async with asyncio.timeout(5):
                while True:
                    await websocket.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001


async def test_a_shutdown_tells_every_connection_server_shutdown_first(tmp_path: Path) -> None:
    server = GatewayServer(load_settings_text(demo_config_text(tmp_path)))
    await server.start()
    url = f"ws://127.0.0.1:{server.ports.websocket}"
    async with (
        connect(f"{url}/ws") as raw,
        connect(f"{url}/stream?streams=btcusdt@trade&timeUnit=MICROSECOND") as combined,
    ):
        await raw.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 1}))
        assert json.loads(await raw.recv()) == {"result": [], "id": 1}
        await server.stop()
        received = {}
        for name, websocket in (("raw", raw), ("combined", combined)):
            frames = []
            with pytest.raises(ConnectionClosed):
                async with asyncio.timeout(5):
                    while True:
                        frames.append(json.loads(await websocket.recv()))
            received[name] = frames
    (raw_event,) = received["raw"]
    assert raw_event["e"] == "serverShutdown" and abs(raw_event["E"] - time.time() * 1000) < 10_000
    (wrapped,) = received["combined"]
    assert wrapped["stream"] == "!serverShutdown" and wrapped["data"]["e"] == "serverShutdown"
    assert wrapped["data"]["E"] > 10**15  # microseconds, as the connection asked


async def test_24h_ticker_and_klines_survive_a_restart(tmp_path: Path) -> None:
    await wait_for_fresh_window(MINUTE_S, seconds_left_s=12.0)  # trades, restart and the check in one candle
    async with restarted_after_two_trades(tmp_path) as second:
        url = f"ws://127.0.0.1:{second.ports.websocket}/stream?streams=btcusdt@ticker/btcusdt@kline_1m"
        async with connect(url) as websocket:
            seen = await frames_until(websocket, lambda f: f["stream"] == "btcusdt@kline_1m", timeout_s=6)
            seen += await frames_until(websocket, lambda f: f["stream"] == "btcusdt@ticker")
        ticker = next(f["data"] for f in seen if f["stream"] == "btcusdt@ticker")
        assert (ticker["n"], ticker["v"], ticker["q"], ticker["c"], ticker["Q"]) == (
            2,
            "0.10000000",
            "5000.00000000",
            "50000.00000000",
            "0.05000000",
        )
        assert ticker["L"] == ticker["F"] + 1
        kline = next(f["data"]["k"] for f in seen if f["stream"] == "btcusdt@kline_1m")
        assert (kline["n"], kline["v"], kline["f"], kline["L"]) == (2, "0.10000000", ticker["F"], ticker["L"])
