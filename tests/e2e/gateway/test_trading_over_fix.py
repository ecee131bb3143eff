"""Two QuickFIX initiators trade on the running gateway: reports, ledger, fees and market data line up."""

from __future__ import annotations

import gc
import re
from pathlib import Path

import pytest
import quickfix as fix

from config import load_settings_text
from gateway.server import GatewayServer
from tests.e2e.fix.quickfix_client import QuickFixClient, wait_for
from tests.e2e.gateway.config import demo_config_text

COIN = 10**8


def field(message: str, tag: int) -> str | None:
    found = re.search(rf"\|{tag}=([^|]*)", "|" + message)
    return found.group(1) if found else None


def new_order(client_order_id: str, side: str, quantity: str, price: str):
    message = fix.Message()
    message.getHeader().setField(fix.MsgType(fix.MsgType_NewOrderSingle))
    message.setField(fix.ClOrdID(client_order_id))
    message.setField(fix.Symbol("BTCUSDT"))
    message.setField(fix.Side(side))
    message.setField(fix.OrderQty(float(quantity)))
    message.setField(fix.StringField(38, quantity))
    message.setField(fix.OrdType(fix.OrdType_LIMIT))
    message.setField(fix.StringField(44, price))
    message.setField(fix.TimeInForce(fix.TimeInForce_GOOD_TILL_CANCEL))
    message.setField(fix.TransactTime())
    return message


def market_data_request(request_id: str):
    message = fix.Message()
    message.getHeader().setField(fix.MsgType(fix.MsgType_MarketDataRequest))
    message.setField(fix.MDReqID(request_id))
    message.setField(fix.SubscriptionRequestType("1"))
    message.setField(fix.MarketDepth(0))
    for entry_type in ("0", "1", "2"):
        group = fix.Group(267, 269)
        group.setField(fix.MDEntryType(entry_type))
        message.addGroup(group)
    symbols = fix.Group(146, 55)
    symbols.setField(fix.Symbol("BTCUSDT"))
    message.addGroup(symbols)
    return message


def reports(client: QuickFixClient) -> list[str]:
    with client.application.lock:
        return [m for m in client.application.app_in if field(m, 35) == "8"]


@pytest.mark.timeout(120)
async def test_two_accounts_trade_over_fix(tmp_path: Path) -> None:
    server = GatewayServer(load_settings_text(demo_config_text(tmp_path)))
    await server.start()
    clients = [
        QuickFixClient(server.ports.fix, tmp_path / "alice", sender="ALICE", password="alice-demo"),
        QuickFixClient(server.ports.fix, tmp_path / "bob", sender="BOB", password="bob-demo"),
    ]
    alice, bob = clients
    for client in clients:
        client.start()
    try:
        await wait_for(lambda: alice.application.logons == 1 and bob.application.logons == 1, what="logons")
        alice.send(market_data_request("md-1"))
        await wait_for(lambda: any(field(m, 35) == "W" for m in alice.application.app_in), what="snapshot")
        (snapshot,) = [m for m in alice.application.app_in if field(m, 35) == "W"]
        assert field(snapshot, 25044) is None  # not FIX 4.4: a strict engine refuses Binance update ids

        bob.send(new_order("bob-1", "2", "0.5", "50000"))
        await wait_for(
            lambda: any(field(m, 150) == "0" for m in reports(bob)), what="bob's order acknowledged"
        )
        alice.send(new_order("alice-1", "1", "0.2", "50000"))
        await wait_for(lambda: any(field(m, 150) == "F" for m in reports(alice)), what="alice's fill")
        await wait_for(lambda: any(field(m, 150) == "F" for m in reports(bob)), what="bob's fill")

        (alice_fill,) = [m for m in reports(alice) if field(m, 150) == "F"]
        assert (field(alice_fill, 39), field(alice_fill, 31), field(alice_fill, 32)) == (
            "2",
            "50000.00000000",
            "0.20000000",
        )
        assert (field(alice_fill, 14), field(alice_fill, 151), field(alice_fill, 6)) == (
            "0.20000000",
            "0.00000000",
            "50000.00000000",
        )
        assert (field(alice_fill, 12), field(alice_fill, 479)) == ("0.00020000", "BTC")
        (bob_fill,) = [m for m in reports(bob) if field(m, 150) == "F"]
        assert (field(bob_fill, 39), field(bob_fill, 151), field(bob_fill, 12), field(bob_fill, 479)) == (
            "1",
            "0.30000000",
            "10.00000000",
            "USDT",
        )

        ledger = server.ledger
        alice_id, bob_id = server.accounts["alice"], server.accounts["bob"]
        assert ledger.balance(alice_id, "BTC").total_minor == 10 * COIN + 20_000_000 - 20_000
        assert ledger.balance(alice_id, "USDT").total_minor == 1_000_000 * COIN - 10_000 * COIN
        assert ledger.balance(bob_id, "BTC").total_minor == 10 * COIN - 20_000_000
        assert ledger.balance(bob_id, "BTC").held_minor == 30_000_000
        assert ledger.balance(bob_id, "USDT").total_minor == 1_000_000 * COIN + 10_000 * COIN - 10 * COIN
        assert await server.admin_commands.verify({}) == {
            "ledger": "sound",
            "journal_sequence": ledger.sequence,
        }

        await wait_for(
            lambda: any(field(m, 35) == "X" and "|269=2|" in m for m in alice.application.app_in),
            what="trade",
        )
        increments = [m for m in alice.application.app_in if field(m, 35) == "X"]
        trade_update = next(m for m in increments if "|269=2|" in m)
        assert "|270=50000.00000000|" in trade_update and "|271=0.20000000|" in trade_update
        assert any("|279=0|269=1|55=BTCUSDT|270=50000.00000000|271=0.50000000|" in m for m in increments)
        assert "|279=1|269=1|55=BTCUSDT|270=50000.00000000|271=0.30000000|" in trade_update
    finally:
        for client in clients:
            client.stop()
        clients.clear()
        gc.collect()
        await server.stop()


def cancel_request(client_order_id: str, original: str):
    message = fix.Message()
    message.getHeader().setField(fix.MsgType(fix.MsgType_OrderCancelRequest))
    message.setField(fix.ClOrdID(client_order_id))
    message.setField(fix.OrigClOrdID(original))
    message.setField(fix.Symbol("BTCUSDT"))
    message.setField(fix.Side("2"))
    message.setField(fix.TransactTime())
    return message


def status_request(client_order_id: str):
    message = fix.Message()
    message.getHeader().setField(fix.MsgType(fix.MsgType_OrderStatusRequest))
    message.setField(fix.ClOrdID(client_order_id))
    message.setField(fix.Symbol("BTCUSDT"))
    message.setField(fix.Side("2"))
    return message


@pytest.mark.timeout(120)
async def test_a_status_request_and_a_cancel_sent_right_behind_an_order_find_it(tmp_path: Path) -> None:
    """QuickFIX sends a NewOrderSingle, then at once an OrderStatusRequest and an OrderCancelRequest
    naming it by ClOrdID, without waiting for the acknowledgement (FIX allows it). Each status came back
    Rejected (39=8, unknown order) and each cancel as an OrderCancelReject (unknown order), and the
    orders went live; now the status is New and the order is canceled."""
    server = GatewayServer(load_settings_text(demo_config_text(tmp_path)))
    await server.start()
    bob = QuickFixClient(server.ports.fix, tmp_path / "bob", sender="BOB", password="bob-demo")
    bob.start()
    try:
        await wait_for(lambda: bob.application.logons == 1, what="logon")
        for index in range(3):
            bob.send(new_order(f"bob-{index}", "2", "0.1", "50000"))
            bob.send(status_request(f"bob-{index}"))
            bob.send(cancel_request(f"bob-cancel-{index}", f"bob-{index}"))
        await wait_for(
            lambda: sum(1 for m in bob.application.app_in if field(m, 150) == "4") == 3, what="cancels"
        )
        with bob.application.lock:
            answers = [(field(m, 35), field(m, 150), field(m, 39)) for m in bob.application.app_in]
        assert sorted(answers) == sorted([("8", "0", "0"), ("8", "I", "0"), ("8", "4", "4")] * 3)
        assert server.exchange.open_orders(server.accounts["bob"]) == []
    finally:
        bob.stop()
        gc.collect()
        await server.stop()
