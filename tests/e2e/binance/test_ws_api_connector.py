"""binance-connector's WebSocket API client, unmodified, trades on the gateway with HMAC-signed requests."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

import pytest
from binance.websocket.spot.websocket_api import SpotWebsocketAPIClient

from config import load_settings_text
from gateway.server import GatewayServer
from tests.e2e.gateway.config import demo_config_text
from tests.rate_windows import wait_for_fresh_window


class Inbox:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[dict] = []

    def __call__(self, _client: object, message: str) -> None:
        with self.lock:
            self.messages.append(json.loads(message))

    def by_id(self, request_id: str) -> dict | None:
        with self.lock:
            return next((m for m in self.messages if m.get("id") == request_id), None)


async def answer(inbox: Inbox, request_id: str, timeout_s: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while (found := inbox.by_id(request_id)) is None:
        assert time.monotonic() < deadline, f"no answer to {request_id}"
        await asyncio.sleep(0.02)
    return found


@pytest.mark.timeout(120)
async def test_binance_connector_places_queries_and_cancels(tmp_path: Path) -> None:
    server = GatewayServer(load_settings_text(demo_config_text(tmp_path)))
    await server.start()
    key = await server.admin_commands.create_api_key({"account": "alice", "permissions": "read,trade"})
    inbox = Inbox()
    client = await asyncio.to_thread(
        SpotWebsocketAPIClient,
        stream_url=f"ws://127.0.0.1:{server.ports.websocket}/ws-api/v3",
        api_key=key["api_key"],
        api_secret=key["secret"],
        on_message=inbox,
    )
    try:
        client.ping_connectivity(id="ping-1")
        assert (await answer(inbox, "ping-1"))["result"] == {}
        client.exchange_info(symbol="BTCUSDT")  # this method takes no request id of ours
        deadline = time.monotonic() + 10
        while not (infos := [m for m in list(inbox.messages) if "symbols" in (m.get("result") or {})]):
            assert time.monotonic() < deadline, "no exchangeInfo answer"
            await asyncio.sleep(0.02)
        info = infos[0]["result"]
        filters = {f["filterType"]: f for f in info["symbols"][0]["filters"]}
        assert filters["PRICE_FILTER"]["tickSize"] == "0.01000000"
        assert filters["LOT_SIZE"]["stepSize"] == "0.00001000"

        await wait_for_fresh_window()
        client.new_order(
            id="place-1",
            symbol="BTCUSDT",
            side="BUY",
            type="LIMIT",
            timeInForce="GTC",
            price="40000",
            quantity="0.01",
            newClientOrderId="mine-1",
            newOrderRespType="RESULT",
        )
        placed = await answer(inbox, "place-1")
        assert placed["status"] == 200, placed
        assert (placed["result"]["status"], placed["result"]["clientOrderId"]) == ("NEW", "mine-1")
        assert any(limit["rateLimitType"] == "ORDERS" for limit in placed["rateLimits"]), placed
        order_id = placed["result"]["orderId"]

        client.new_order_test(
            id="test-1",
            symbol="BTCUSDT",
            side="BUY",
            type="LIMIT",
            timeInForce="GTC",
            price="40000",
            quantity="0.01",
            computeCommissionRates="true",
        )
        tested = await answer(inbox, "test-1")
        assert tested["result"]["standardCommissionForOrder"]["taker"] == "0.00100000", tested
        client.order_rate_limit(id="unfilled-1")
        (unfilled,) = (await answer(inbox, "unfilled-1"))["result"]
        assert (unfilled["rateLimitType"], unfilled["count"]) == ("ORDERS", 1)

        client.get_order(id="status-1", symbol="BTCUSDT", orderId=order_id)
        status = (await answer(inbox, "status-1"))["result"]
        assert (status["origQty"], status["price"], status["isWorking"]) == (
            "0.01000000",
            "40000.00000000",
            True,
        )

        client.account(id="account-1")
        balances = {b["asset"]: b for b in (await answer(inbox, "account-1"))["result"]["balances"]}
        assert balances["USDT"]["locked"] == "400.00000000"

        client.new_order(
            id="place-2",
            symbol="BTCUSDT",
            side="BUY",
            type="LIMIT",
            timeInForce="GTC",
            price="40000",
            quantity="1000",
        )
        refused = await answer(inbox, "place-2")
        assert refused["error"] == {
            "code": -2010,
            "msg": "Account has insufficient balance for requested action.",
        }

        client.cancel_order(id="cancel-1", symbol="BTCUSDT", orderId=order_id)
        canceled = (await answer(inbox, "cancel-1"))["result"]
        assert (canceled["status"], canceled["origClientOrderId"]) == ("CANCELED", "mine-1")
        client.cancel_order(id="cancel-2", symbol="BTCUSDT", orderId=order_id)
        assert (await answer(inbox, "cancel-2"))["error"]["code"] == -2011
        assert server.ledger.balance(server.accounts["alice"], "USDT").held_minor == 0
    finally:
        await asyncio.to_thread(client.stop)
        # stop() sends a close frame but leaves the socket open for the garbage collector to close,
        # at some moment of a later test; close it here.
        client.socket_manager.ws.shutdown()
        await server.stop()
