"""Self-trade prevention over the WebSocket API, as Binance shows it (STP FAQ, user data stream docs).

One account's orders meet each other with EXPIRE_TAKER, EXPIRE_MAKER and EXPIRE_BOTH: the order.place
answer lists the prevented matches, each order STP expired gets an executionReport with executionType
TRADE_PREVENTION and status EXPIRED_IN_MATCH, and order.status shows its preventedMatchId.
"""

from __future__ import annotations

import pytest
from websockets.asyncio.client import connect

from gateway.server import GatewayServer
from tests.integration.gateway.test_ws_api import (
    Client,
    ed25519_key,
    ed25519_logon_params,
    hmac_signed,
    next_event,
    unique_timestamp_ms,
)

PRICE = "30000.00000000"
STP_FIELDS = ("v", "A", "B", "u", "U", "Cs", "pl", "pL", "pY")


async def place(client: Client, side: str, quantity: str, stp: str | None = None, **extra: str) -> dict:
    params = {"symbol": "BTCUSDT", "side": side, "quantity": quantity, "timestamp": unique_timestamp_ms()}
    if extra.get("type") != "MARKET":
        params.update(type="LIMIT", timeInForce="GTC", price=PRICE)
    if stp is not None:
        params["selfTradePreventionMode"] = stp
    answer = await client.call("order.place", {**params, **extra})
    assert answer["status"] == 200, answer
    return answer["result"]


async def report_of(client: Client, subscription_id: int, order_id: int) -> dict:
    """The next executionReport of ``order_id`` (skipping other events in between)."""
    while True:
        event = await next_event(client, subscription_id, "executionReport")
        if event["i"] == order_id:
            return event


async def order_status(client: Client, order_id: int) -> dict:
    params = {"symbol": "BTCUSDT", "orderId": order_id, "timestamp": unique_timestamp_ms()}
    return (await client.call("order.status", params))["result"]


def prevention(event: dict) -> dict:
    return {key: event[key] for key in ("x", "X", *STP_FIELDS)}


async def test_self_trades_are_prevented_and_reported_as_binance_does(gateway: GatewayServer) -> None:
    private_key, key = await ed25519_key(gateway)
    url = f"ws://127.0.0.1:{gateway.ports.websocket}/ws-api/v3"
    async with connect(url) as websocket:
        client = Client(websocket)
        assert (await client.call("session.logon", ed25519_logon_params(private_key, key)))["status"] == 200
        sub = (await client.call("userDataStream.subscribe"))["result"]["subscriptionId"]
        maker = await place(client, "SELL", "0.01")

        # EXPIRE_TAKER (FAQ scenario C): the taker expires whole, the maker rests on untouched.
        taker = await place(client, "BUY", "0.03", "EXPIRE_TAKER")
        assert (taker["status"], taker["fills"], taker["preventedQuantity"]) == (
            "EXPIRED_IN_MATCH",
            [],
            "0.03000000",
        )
        assert "preventedMatchId" not in taker
        assert taker["preventedMatches"] == [
            {
                "preventedMatchId": 0,
                "makerSymbol": "BTCUSDT",
                "makerOrderId": maker["orderId"],
                "price": PRICE,
                "takerPreventedQuantity": "0.03000000",
            }
        ]
        assert (await report_of(client, sub, maker["orderId"]))["x"] == "NEW"
        assert (await report_of(client, sub, taker["orderId"]))["x"] == "NEW"
        expired = await report_of(client, sub, taker["orderId"])
        assert prevention(expired) == {
            "x": "TRADE_PREVENTION",
            "X": "EXPIRED_IN_MATCH",
            "v": 0,
            "A": "0.03000000",
            "B": "0.03000000",
            "u": -1,
            "U": maker["orderId"],
            "Cs": "BTCUSDT",
            "pl": "0.01000000",
            "pL": PRICE,
            "pY": "300.00000000",
        }
        assert (expired["l"], expired["w"], expired["t"]) == ("0.00000000", False, -1)
        status = await order_status(client, taker["orderId"])
        assert (status["status"], status["preventedMatchId"], status["preventedQuantity"]) == (
            "EXPIRED_IN_MATCH",
            0,
            "0.03000000",
        )
        assert "preventedMatchId" not in await order_status(client, maker["orderId"])

        # EXPIRE_MAKER (scenario B): the maker expires, the taker rests with no prevented quantity.
        resting = await place(client, "BUY", "0.02", "EXPIRE_MAKER", newOrderRespType="RESULT")
        assert resting["status"] == "NEW" and "preventedQuantity" not in resting
        assert resting["preventedMatches"] == [
            {
                "preventedMatchId": 1,
                "makerSymbol": "BTCUSDT",
                "makerOrderId": maker["orderId"],
                "price": PRICE,
                "makerPreventedQuantity": "0.01000000",
            }
        ]
        assert (await report_of(client, sub, resting["orderId"]))["x"] == "NEW"
        expired = await report_of(client, sub, maker["orderId"])
        assert prevention(expired) == {
            "x": "TRADE_PREVENTION",
            "X": "EXPIRED_IN_MATCH",
            "v": 1,
            "A": "0.01000000",
            "B": "0.01000000",
            "u": -1,
            "U": resting["orderId"],
            "Cs": "BTCUSDT",
            "pl": "0.01000000",
            "pL": PRICE,
            "pY": "300.00000000",
        }
        status = await order_status(client, maker["orderId"])
        assert (status["status"], status["preventedMatchId"], status["preventedQuantity"]) == (
            "EXPIRED_IN_MATCH",
            1,
            "0.01000000",
        )

        # EXPIRE_BOTH (scenario D): one prevented match, both orders expire; the maker is told first.
        both = await place(client, "SELL", "0.05", "EXPIRE_BOTH")
        assert (both["status"], both["preventedQuantity"]) == ("EXPIRED_IN_MATCH", "0.05000000")
        assert both["preventedMatches"] == [
            {
                "preventedMatchId": 2,
                "makerSymbol": "BTCUSDT",
                "makerOrderId": resting["orderId"],
                "price": PRICE,
                "takerPreventedQuantity": "0.05000000",
                "makerPreventedQuantity": "0.02000000",
            }
        ]
        assert (await report_of(client, sub, both["orderId"]))["x"] == "NEW"
        maker_side = await next_event(client, sub, "executionReport")
        taker_side = await next_event(client, sub, "executionReport")
        assert [(e["i"], e["x"], e["X"], e["v"], e["A"], e["U"]) for e in (maker_side, taker_side)] == [
            (resting["orderId"], "TRADE_PREVENTION", "EXPIRED_IN_MATCH", 2, "0.02000000", both["orderId"]),
            (both["orderId"], "TRADE_PREVENTION", "EXPIRED_IN_MATCH", 2, "0.05000000", resting["orderId"]),
        ]
        open_orders = await client.call("openOrders.status", {"timestamp": unique_timestamp_ms()})
        assert open_orders["result"] == []

        # MARKET orders report timeInForce GTC (scenario F), in the answer and the executionReport; this
        # one takes the account's own resting sell (no prevention asked for).
        await place(client, "SELL", "0.01", "NONE")
        market = await place(client, "BUY", "0.01", "NONE", type="MARKET")
        assert (market["type"], market["timeInForce"], market["status"]) == ("MARKET", "GTC", "FILLED")
        assert "preventedMatches" not in market
        events = [await report_of(client, sub, market["orderId"]) for _ in range(2)]
        assert [(e["x"], e["f"]) for e in events] == [("NEW", "GTC"), ("TRADE", "GTC")]
        assert not set(STP_FIELDS) & set(events[1])

        # order.cancelReplace answers for its new order as order.place does.
        resting_sell = await place(client, "SELL", "0.01")
        replaced = await place(client, "BUY", "0.01", price="29000")
        params = {
            "symbol": "BTCUSDT",
            "cancelReplaceMode": "STOP_ON_FAILURE",
            "cancelOrderId": replaced["orderId"],
            "side": "BUY",
            "type": "LIMIT",
            "timeInForce": "GTC",
            "price": PRICE,
            "quantity": "0.02",
            "selfTradePreventionMode": "EXPIRE_TAKER",
            "timestamp": unique_timestamp_ms(),
        }
        answer = (await client.call("order.cancelReplace", params))["result"]
        new_order = answer["newOrderResponse"]
        assert (answer["cancelResult"], new_order["status"], new_order["preventedQuantity"]) == (
            "SUCCESS",
            "EXPIRED_IN_MATCH",
            "0.02000000",
        )
        assert new_order["preventedMatches"] == [
            {
                "preventedMatchId": 3,
                "makerSymbol": "BTCUSDT",
                "makerOrderId": resting_sell["orderId"],
                "price": PRICE,
                "takerPreventedQuantity": "0.02000000",
            }
        ]
    assert gateway.ledger.verify() == []


@pytest.mark.usefixtures("fresh_weight_window")
async def test_my_prevented_matches_lists_them_by_id_or_by_order(gateway: GatewayServer) -> None:
    private_key, key = await ed25519_key(gateway)
    bob = await gateway.admin_commands.create_api_key({"account": "bob", "permissions": "read"})
    url = f"ws://127.0.0.1:{gateway.ports.websocket}/ws-api/v3"
    async with connect(url) as websocket:
        client = Client(websocket)
        assert (await client.call("session.logon", ed25519_logon_params(private_key, key)))["status"] == 200
        maker = await place(client, "SELL", "0.01")
        taker = await place(client, "BUY", "0.03", "EXPIRE_TAKER")
        await place(client, "BUY", "0.02", "EXPIRE_MAKER")

        async def prevented(**params: object) -> dict:
            query = {"symbol": "BTCUSDT", "timestamp": unique_timestamp_ms(), **params}
            return await client.call("myPreventedMatches", query)

        by_maker = await prevented(orderId=maker["orderId"])
        assert [match["preventedMatchId"] for match in by_maker["result"]] == [0, 1]
        first, second = by_maker["result"]
        assert {name: value for name, value in first.items() if name != "transactTime"} == {
            "symbol": "BTCUSDT",
            "preventedMatchId": 0,
            "takerOrderId": taker["orderId"],
            "makerSymbol": "BTCUSDT",
            "makerOrderId": maker["orderId"],
            "tradeGroupId": -1,
            "selfTradePreventionMode": "EXPIRE_TAKER",
            "price": PRICE,
            "takerPreventedQuantity": "0.03000000",
        }
        assert (second["selfTradePreventionMode"], second["makerPreventedQuantity"]) == (
            "EXPIRE_MAKER",
            "0.01000000",
        )
        assert first["transactTime"] == taker["transactTime"]
        assert (await prevented(orderId=taker["orderId"]))["result"] == [first]
        by_id = await prevented(preventedMatchId=1)
        assert by_id["result"] == [second]
        assert by_id["rateLimits"][0]["count"] - by_maker["rateLimits"][0]["count"] == 20 + 2
        later = await prevented(orderId=maker["orderId"], fromPreventedMatchId=1, limit=5)
        assert later["result"] == [second]
        unknown = await prevented(symbol="NOPE", orderId=maker["orderId"])
        assert unknown["error"]["code"] == -1121, unknown
        assert unknown["rateLimits"][0]["count"] - later["rateLimits"][0]["count"] == 2  # Binance: 2
        listed = await prevented(symbol=["BTCUSDT"], orderId=maker["orderId"])
        assert (listed["status"], listed["rateLimits"][0]["count"] - unknown["rateLimits"][0]["count"]) == (
            400,
            2,
        ), listed
        for params in (
            {},
            {"orderId": maker["orderId"], "preventedMatchId": 0},
            {"preventedMatchId": 0, "limit": 1},
        ):
            assert (await prevented(**params))["error"]["code"] == -1128, params
        others = await client.call(
            "myPreventedMatches", hmac_signed(bob, symbol="BTCUSDT", orderId=maker["orderId"])
        )
        assert others["result"] == []
