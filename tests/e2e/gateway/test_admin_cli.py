"""gateway-admin against a running gateway, and ledger verify against its store once it has stopped."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from book.types import OrderType, Side, SubmitOrder
from config import load_settings_text
from gateway import admin_commands
from gateway.admin_endpoint import admin_request
from gateway.admin_token import read_admin_token
from gateway.server import GatewayServer
from tests.e2e.gateway.config import ROOT, demo_config_text
from tests.e2e.gateway.fix_client import FixTestClient


async def admin(config: Path, *argv: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway.admin_cli",
        "--config",
        str(config),
        *argv,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode, stdout.decode(), stderr.decode()


@contextlib.asynccontextmanager
async def operated_gateway(tmp_path: Path) -> AsyncIterator[tuple[GatewayServer, Path]]:
    """The demo gateway running on a store in ``tmp_path``, and a config file that points the CLI at it."""
    text = demo_config_text(tmp_path)
    server = GatewayServer(load_settings_text(text))
    await server.start()
    config = tmp_path / "gateway.toml"
    config.write_text(text.replace("admin_port = 0", f"admin_port = {server.ports.admin}"))
    try:
        yield server, config
    finally:
        await server.stop()


@pytest.mark.timeout(180)
async def test_operating_the_gateway(tmp_path: Path) -> None:
    async with operated_gateway(tmp_path) as (server, config):
        code, out, _ = await admin(config, "--json", "accounts", "create", "carol")
        assert code == 0 and json.loads(out)["name"] == "carol"
        code, out, _ = await admin(config, "deposit", "carol", "USDT", "1000.5", "--transfer-id", "t-1")
        assert code == 0 and "available: 1000.50000000" in out
        code, again, _ = await admin(config, "deposit", "carol", "USDT", "1000.5", "--transfer-id", "t-1")
        assert code == 0 and "available: 1000.50000000" in again
        code, _, error = await admin(config, "withdraw", "carol", "USDT", "5000")
        assert code == 1 and "insufficient_funds: carol has 1000.50000000 USDT available" in error
        code, _, error = await admin(config, "deposit", "carol", "USDT", "0.000000001")
        assert code == 1 and "bad_amount" in error
        code, out, _ = await admin(config, "--json", "accounts", "show", "carol")
        balances = {row["asset"]: row for row in json.loads(out)["balances"]}
        assert balances["USDT"]["total"] == "1000.50000000"

        code, out, _ = await admin(config, "symbols", "halt", "BTCUSDT")
        assert code == 0 and "HALTED" in out
        assert server.exchange.books["BTCUSDT"].book.halted
        code, out, _ = await admin(config, "symbols", "resume", "BTCUSDT")
        assert code == 0 and not server.exchange.books["BTCUSDT"].book.halted

        code, out, _ = await admin(config, "--json", "api-keys", "create", "carol", "--permissions", "read")
        key = json.loads(out)
        assert key["key_type"] == "HMAC" and "secret" in key
        code, out, _ = await admin(config, "api-keys", "revoke", key["api_key"])
        assert code == 0
        code, out, _ = await admin(config, "--json", "api-keys", "list", "carol")
        assert json.loads(out)[0]["revoked"] is True

        code, out, _ = await admin(config, "fix-sessions", "list")
        assert code == 0 and "ALICE" in out and "BOB" in out
        code, out, _ = await admin(config, "book", "BTCUSDT")
        assert code == 0 and "last_update_id" in out
        code, out, _ = await admin(config, "orders", "list", "alice")
        assert code == 0 and out.strip() == "(none)"
        code, out, _ = await admin(config, "orders", "cancel-all", "alice")
        assert code == 0 and "canceled: 0" in out
        code, out, _ = await admin(config, "ledger", "verify")
        assert code == 0 and "sound" in out
        code, out, _ = await admin(
            config, "trades", "export", "--since", "2020-01-01T00:00:00Z", "--until", "2100-01-01T00:00:00Z"
        )
        assert code == 0 and next(csv.reader(io.StringIO(out)))[0] == "trade_id"
        code, _, error = await admin(config, "accounts", "show", "nobody")
        assert code == 1 and "unknown_account" in error

    code, out, _ = await admin(config, "ledger", "verify")
    assert code == 0 and "server not running" in out
    code, _, error = await admin(config, "accounts", "list")
    assert code == 3 and "cannot reach the server" in error


@pytest.mark.timeout(120)
async def test_holds_are_shown_and_trades_export_goes_page_by_page(tmp_path: Path, monkeypatch) -> None:
    """The export was one reply holding every trade of the range, built on the loop thread."""
    monkeypatch.setattr(admin_commands, "TRADES_PAGE_MAX", 2)
    async with operated_gateway(tmp_path) as (server, config):
        for price in (1000, 1001, 1002, 1003, 1004):
            for name, side in (("alice", Side.SELL), ("bob", Side.BUY)):
                command = SubmitOrder(
                    order_id=server.exchange.new_order_id(),
                    account_id=server.accounts[name],
                    side=side,
                    order_type=OrderType.LIMIT,
                    price_minor=price * 10**8,
                    quantity_minor=10**7,
                    ts_ns=time.time_ns(),
                )
                assert (await server.exchange.execute("BTCUSDT", command)).error is None
        resting = SubmitOrder(
            order_id=server.exchange.new_order_id(),
            account_id=server.accounts["alice"],
            side=Side.BUY,
            order_type=OrderType.LIMIT,
            price_minor=900 * 10**8,
            quantity_minor=10**7,
        )
        assert (await server.exchange.execute("BTCUSDT", resting)).error is None
        code, out, _ = await admin(config, "--json", "accounts", "show", "alice")
        assert json.loads(out)["holds"] == [
            {"order_id": resting.order_id, "symbol": "BTCUSDT", "asset": "USDT", "held": "90.00000000"}
        ]
        code, out, _ = await admin(config, "accounts", "show", "alice")
        assert code == 0 and [str(resting.order_id), "BTCUSDT", "USDT", "90.00000000"] in [
            line.split() for line in out.splitlines()
        ]
        token = read_admin_token(str(tmp_path / "admin.token"))
        first = await admin_request(
            "127.0.0.1",
            server.ports.admin,
            token,
            "trades.export",
            {"since": "2020-01-01", "until": "2100-01-01"},
        )
        assert len(first["result"]["csv_lines"]) == 2 and first["result"]["next"] is not None
        output = tmp_path / "trades.csv"
        range_args = ("--since", "2020-01-01T00:00:00", "--until", "2100-01-01T00:00:00+00:00")
        code, out, error = await admin(config, "trades", "export", *range_args, "--output", str(output))
        assert (code, error) == (0, "")
        rows = list(csv.DictReader(io.StringIO(output.read_text())))
        assert [row["price"] for row in rows] == [f"{price}.00000000" for price in range(1000, 1005)]
        assert {(row["buyer_account"], row["seller_account"], row["maker_side"]) for row in rows} == {
            ("bob", "alice", "SELL")
        }
        code, out, _ = await admin(config, "trades", "export", *range_args, "--symbol", "ETHUSDT")
        assert (code, out.splitlines()) == (0, [admin_commands.TRADE_CSV_HEADER])
        code, _, error = await admin(config, "trades", "export", "--since", "yesterday", "--until", "now")
        assert code == 1 and "bad_time" in error


async def _logon_answer(port: int, sender: str, password: str) -> str:
    """The MsgType of the gateway's answer to a Logon (asking to start over at 1): A accepted, 5 refused."""
    client = FixTestClient(sender, password)
    await client.connect(port, reset_seq_num=True)
    try:
        for _ in range(200):
            answers = [m.msg_type for m in client.received if m.msg_type in ("A", "5")]
            if answers:
                return answers[0]
            await asyncio.sleep(0.02)
        raise AssertionError("no answer to the Logon")
    finally:
        await client.close()


@pytest.mark.timeout(120)
async def test_a_fix_session_added_by_the_operator_logs_on_and_outlives_a_restart(tmp_path: Path) -> None:
    async with operated_gateway(tmp_path) as (server, config):
        code, out, _ = await admin(config, "--json", "accounts", "create", "carol")
        assert code == 0
        code, out, error = await admin(
            config, "--json", "fix-sessions", "add", "CAROL", "carol", "--password", "c-secret"
        )
        assert (code, error) == (0, "")
        assert json.loads(out) == {"sender_comp_id": "CAROL", "target_comp_id": "GATEWAY", "account": "carol"}
        assert "c-secret" not in out
        code, out, _ = await admin(config, "--json", "fix-sessions", "list")
        assert {"sender_comp_id": "CAROL", "account": "carol"}.items() <= json.loads(out)[-1].items()
        assert await _logon_answer(server.ports.fix, "CAROL", "wrong") == "5"
        assert await _logon_answer(server.ports.fix, "CAROL", "c-secret") == "A"
        for argv, code_text in (
            (("ALICE", "alice", "--password", "x"), "exists"),
            (("DAVE", "dave", "--password", "x"), "unknown_account"),
            (("DAVE", "carol"), "credentials_required"),
            (("BAD ID", "carol", "--password", "x"), "bad_comp_id"),
        ):
            code, _, error = await admin(config, "fix-sessions", "add", *argv)
            assert code == 1 and code_text in error, error
    async with operated_gateway(tmp_path) as (server, _):
        assert await _logon_answer(server.ports.fix, "CAROL", "c-secret") == "A"
