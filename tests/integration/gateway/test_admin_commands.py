"""Admin commands on a running gateway: refusals an operator reads in the asset's decimals and bounds."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import load_settings_text
from gateway.admin_endpoint import AdminCommandError
from gateway.server import GatewayServer
from tests.e2e.gateway.config import demo_config_text


async def test_a_withdrawal_past_the_balance_is_refused_in_the_assets_decimals(
    gateway: GatewayServer,
) -> None:
    commands = gateway.admin_commands
    with pytest.raises(AdminCommandError) as refused:
        await commands.withdraw({"account": "alice", "asset": "BTC", "amount": "1000000"})
    assert refused.value.code == "insufficient_funds"
    assert refused.value.message == "alice has 10.00000000 BTC available, cannot withdraw 1000000.00000000"
    balances = (await commands.show_account({"name": "alice"}))["balances"]
    assert {row["asset"]: row["total"] for row in balances}["BTC"] == "10.00000000"


@pytest.mark.parametrize("name", ["", "_x", "1abc", "caf\u00e9", "a-b", "x" * 65])
async def test_account_names_are_short_ascii_words(gateway: GatewayServer, name: str) -> None:
    with pytest.raises(AdminCommandError) as refused:
        await gateway.admin_commands.create_account({"name": name})
    assert refused.value.code == "bad_name"
    assert name not in gateway.accounts


async def test_an_account_name_of_64_characters_is_taken(gateway: GatewayServer) -> None:
    name = "a" + "b_9" * 21
    assert (await gateway.admin_commands.create_account({"name": name}))["name"] == name


async def test_a_symbol_is_named_in_any_case(gateway: GatewayServer) -> None:
    depth = await gateway.admin_commands.show_book({"symbol": "btcusdt"})
    assert depth["symbol"] == "BTCUSDT"
    with pytest.raises(AdminCommandError) as refused:
        await gateway.admin_commands.show_book({"symbol": "dogeusdt"})
    assert refused.value.code == "unknown_symbol"


@pytest.mark.parametrize("depth", ["abc", 0, -3, 2.5, True])
async def test_a_depth_that_is_not_a_count_of_levels_is_refused(
    gateway: GatewayServer, depth: object
) -> None:
    with pytest.raises(AdminCommandError) as refused:
        await gateway.admin_commands.show_book({"symbol": "BTCUSDT", "depth": depth})
    assert refused.value.code == "bad_depth"


@pytest.mark.parametrize(
    ("since", "until"),
    [("0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"), ("1900-01-01", "2100-01-01T00:00:00+14:00")],
)
async def test_a_trade_export_over_any_iso_times_answers(
    gateway: GatewayServer, since: str, until: str
) -> None:
    """Times past what 64-bit nanoseconds hold count as the first or last they hold."""
    page = await gateway.admin_commands.export_trades({"since": since, "until": until})
    assert page == {"csv_lines": [], "next": None}


async def test_a_trade_export_page_mark_outside_64_bits_is_refused(gateway: GatewayServer) -> None:
    args = {"since": "2020-01-01", "until": "2030-01-01", "after": [2**70, 1]}
    with pytest.raises(AdminCommandError) as refused:
        await gateway.admin_commands.export_trades(args)
    assert refused.value.code == "bad_request"


@pytest.mark.parametrize(
    "public_key", ["999999", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", 7]
)
async def test_an_api_key_with_a_bad_public_key_is_refused_and_not_stored(
    tmp_path: Path, public_key: object
) -> None:
    """It was stored before it was read, and the gateway then refused to start on that store."""
    settings = load_settings_text(demo_config_text(tmp_path))
    server = GatewayServer(settings)
    await server.start()
    try:
        with pytest.raises(AdminCommandError) as refused:
            await server.admin_commands.create_api_key({"account": "alice", "ed25519_public_key": public_key})
        assert refused.value.code == "bad_public_key"
        assert await server.store.api_keys() == []
    finally:
        await server.stop()
    again = GatewayServer(settings)
    await again.start()
    await again.stop()


@pytest.mark.parametrize("symbol", [["BTCUSDT"], {"a": 1}, 5])
async def test_a_symbol_that_is_not_text_is_unknown(gateway: GatewayServer, symbol: object) -> None:
    for command in (gateway.admin_commands.show_book, gateway.admin_commands.halt):
        with pytest.raises(AdminCommandError) as refused:
            await command({"symbol": symbol})
        assert refused.value.code == "unknown_symbol"
