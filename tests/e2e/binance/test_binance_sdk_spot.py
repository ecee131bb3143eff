"""binance-sdk-spot, unmodified: Ed25519 session.logon, user data stream, place, status, test and cancel,
commission rates, the unfilled order count, amendments, historical and aggregate trades, the trading
day and rolling window tickers, and klines.

Its response models are strict (pydantic): they must parse every answer of ours.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from binance_common.configuration import ConfigurationWebSocketAPI
from binance_sdk_spot.spot import Spot
from binance_sdk_spot.websocket_api.models import KlinesIntervalEnum, TickerWindowSizeEnum
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from config import load_settings_text
from gateway.server import GatewayServer
from tests.e2e.gateway.config import demo_config_text
from tests.rate_windows import wait_for_fresh_window


@pytest.mark.timeout(120)
async def test_binance_sdk_spot_trades_with_an_ed25519_session(tmp_path: Path) -> None:
    server = GatewayServer(load_settings_text(demo_config_text(tmp_path)))
    await server.start()
    private_key = Ed25519PrivateKey.generate()
    public_pem = (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    key = await server.admin_commands.create_api_key(
        {"account": "alice", "permissions": "read,trade", "ed25519_public_key": public_pem}
    )
    configuration = ConfigurationWebSocketAPI(
        api_key=key["api_key"],
        private_key=private_pem,
        stream_url=f"ws://127.0.0.1:{server.ports.websocket}/ws-api/v3",
    )
    client = Spot(config_ws_api=configuration)
    connection = await client.websocket_api.create_connection()
    try:
        logon = await connection.session_logon()
        assert logon.data().result.api_key == key["api_key"]
        events: list = []
        subscription = await connection.user_data_stream_subscribe()
        subscription.stream.on("message", events.append)

        await wait_for_fresh_window(seconds_left_s=6.0)
        placed = await connection.order_place(
            symbol="BTCUSDT", side="BUY", type="LIMIT", time_in_force="GTC", price=30000.0, quantity=0.01
        )
        result = placed.data().result
        assert (result.status, result.orig_qty, result.price) == ("NEW", "0.01000000", "30000.00000000")

        status = await connection.order_status(symbol="BTCUSDT", order_id=result.order_id)
        assert status.data().result.status == "NEW"
        (open_order,) = (await connection.open_orders_status()).data().result
        assert open_order.order_id == result.order_id
        book = (await connection.ticker_book(symbol="BTCUSDT")).data().actual_instance.result
        ticker = (await connection.ticker24hr(symbol="BTCUSDT")).data().actual_instance.result
        average = (await connection.avg_price(symbol="BTCUSDT")).data().result
        assert (ticker.count, ticker.bid_price, average.mins) == (0, "30000.00000000", 5)
        assert (book.bid_price, book.bid_qty, book.ask_qty) == ("30000.00000000", "0.01000000", "0.00000000")

        tested = await connection.order_test(
            symbol="BTCUSDT",
            side="BUY",
            type="LIMIT",
            time_in_force="GTC",
            price=30000.0,
            quantity=0.01,
            compute_commission_rates=True,
        )
        assert tested.data().result.standard_commission_for_order.maker == "0.00100000"
        commission = (await connection.account_commission(symbol="BTCUSDT")).data().result
        assert (commission.symbol, commission.standard_commission.taker) == ("BTCUSDT", "0.00100000")
        (unfilled,) = (await connection.account_rate_limits_orders()).data().result
        assert (unfilled.rate_limit_type, unfilled.count) == ("ORDERS", 1)
        amended = await connection.order_amend_keep_priority(
            symbol="BTCUSDT", order_id=result.order_id, new_qty=0.005
        )
        assert amended.data().result.amended_order.qty == "0.00500000"
        amendments = await connection.order_amendments(symbol="BTCUSDT", order_id=result.order_id)
        (amendment,) = amendments.data().result
        assert (amendment.orig_qty, amendment.new_qty) == ("0.01000000", "0.00500000")
        assert amendment.execution_id == amended.data().result.execution_id
        canceled = await connection.order_cancel(symbol="BTCUSDT", order_id=result.order_id)
        assert canceled.data().result.status == "CANCELED"

        deadline = time.monotonic() + 10
        while len(events) < 4:
            assert time.monotonic() < deadline, f"user data events missing: {events}"
            await asyncio.sleep(0.05)
        kinds = [getattr(event, "actual_instance", event) for event in events]
        assert [type(kind).__name__ for kind in kinds[:2]] == ["ExecutionReport", "OutboundAccountPosition"]
        assert (kinds[0].x, kinds[0].X, kinds[0].i) == ("NEW", "NEW", result.order_id)

        (history,) = (await connection.all_orders(symbol="BTCUSDT")).data().result
        assert (history.order_id, history.status, history.is_working) == (result.order_id, "CANCELED", False)
        for side in ("SELL", "BUY"):
            await connection.order_place(
                symbol="BTCUSDT",
                side=side,
                type="LIMIT",
                time_in_force="GTC",
                price=30000.0,
                quantity=0.01,
                self_trade_prevention_mode="NONE",
            )
        trades = (await connection.my_trades(symbol="BTCUSDT")).data().result
        assert [(t.is_buyer, t.is_maker, t.commission_asset) for t in trades] == [
            (True, False, "BTC"),
            (False, True, "USDT"),
        ]
        (historical,) = (await connection.trades_historical(symbol="BTCUSDT", limit=1)).data().result
        assert (historical.price, historical.qty, historical.is_buyer_maker) == (
            "30000.00000000",
            "0.01000000",
            False,
        )
        (aggregate,) = (await connection.trades_aggregate(symbol="BTCUSDT")).data().result
        assert (aggregate.a, aggregate.q, aggregate.m) == (historical.id, "0.01000000", False)
        today = (await connection.ticker_trading_day(symbol="BTCUSDT")).data().actual_instance.result
        assert (today.count, today.last_price, today.volume) == (1, "30000.00000000", "0.01000000")
        hour = TickerWindowSizeEnum.WINDOW_SIZE_1h
        window = (await connection.ticker(symbol="BTCUSDT", window_size=hour)).data().actual_instance.result
        assert (window.count, window.open_price, window.price_change) == (1, "30000.00000000", "0.00000000")
        for method in (connection.klines, connection.ui_klines):
            day = KlinesIntervalEnum.INTERVAL_1d
            (kline,) = (await method(symbol="BTCUSDT", interval=day, start_time=0, limit=1)).data().result
            assert kline[1:6] + kline[8:9] == [*["30000.00000000"] * 4, "0.01000000", 1]
    finally:
        await connection.close_connection(close_session=True)
        await server.stop()
