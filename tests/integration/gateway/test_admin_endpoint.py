"""The admin endpoint over a real loopback socket, and the CLI against it as a subprocess."""

from __future__ import annotations

import asyncio
import json
import os
import re
import stat
import sys
from pathlib import Path

import pytest

from gateway import admin_endpoint
from gateway.admin_endpoint import AdminCommandError, AdminEndpoint, AdminReplyTooLarge, admin_request
from gateway.admin_token import AdminTokenError, ensure_admin_token, read_admin_token

ROOT = Path(__file__).resolve().parents[3]


async def _accounts_list(args: dict) -> list[dict]:
    return [{"name": "alice", "account_id": 1}, {"name": "bob", "account_id": 2}]


async def _deposit(args: dict) -> dict:
    if args.get("asset") != "USDT":
        raise AdminCommandError("unknown_asset", f"unknown asset {args.get('asset')}")
    return {"account": args["account"], "asset": "USDT", "amount": args["amount"]}


@pytest.fixture
async def endpoint(tmp_path: Path):
    token = ensure_admin_token(str(tmp_path / "admin.token"))
    server = AdminEndpoint(
        handlers={"accounts.list": _accounts_list, "deposit": _deposit}, token=token, host="127.0.0.1", port=0
    )
    await server.start()
    yield server, token, tmp_path
    await server.close()


def test_token_file_is_created_owner_only_and_refused_when_open(tmp_path: Path) -> None:
    path = tmp_path / "var" / "admin.token"
    token = ensure_admin_token(str(path))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ensure_admin_token(str(path)) == token
    os.chmod(path, 0o644)
    with pytest.raises(AdminTokenError, match="chmod 600"):
        read_admin_token(str(path))


def test_endpoint_refuses_a_non_loopback_address() -> None:
    with pytest.raises(Exception, match="loopback"):
        AdminEndpoint(handlers={}, token="t", host="0.0.0.0", port=0)


async def test_commands_need_the_token(endpoint) -> None:
    server, token, _ = endpoint
    refused = await admin_request("127.0.0.1", server.port, "wrong", "accounts.list", {})
    assert refused == {"ok": False, "error": {"code": "unauthorized", "message": "wrong admin token"}}
    accepted = await admin_request("127.0.0.1", server.port, token, "accounts.list", {})
    assert accepted["ok"] and accepted["result"][0]["name"] == "alice"


async def test_unknown_commands_bad_json_and_refusals_are_clear_errors(endpoint) -> None:
    server, token, _ = endpoint
    unknown = await admin_request("127.0.0.1", server.port, token, "nope", {})
    assert unknown["error"]["code"] == "unknown_command"
    refused = await admin_request("127.0.0.1", server.port, token, "deposit", {"asset": "XYZ"})
    assert refused["error"] == {"code": "unknown_asset", "message": "unknown asset XYZ"}
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"{not json\n" + b"x" * 70000 + b"\n")
    assert json.loads(await reader.readline())["error"]["code"] == "bad_request"
    assert json.loads(await reader.readline())["error"]["code"] == "too_large"
    writer.close()


async def _cli(tmp_path: Path, port: int, *argv: str) -> tuple[int, str, str]:
    demo = (ROOT / "config" / "demo.toml").read_text()
    demo = re.sub(r"admin_port = \d+", f"admin_port = {port}", demo)
    demo = demo.replace("[server]\n", f'[server]\nadmin_token_path = "{tmp_path / "admin.token"}"\n', 1)
    config = tmp_path / "cli.toml"
    config.write_text(demo)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway.admin_cli",
        "--config",
        str(config),
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode, stdout.decode(), stderr.decode()


async def test_cli_prints_tables_json_and_exit_codes(endpoint) -> None:
    server, _, tmp_path = endpoint
    code, table, _ = await _cli(tmp_path, server.port, "accounts", "list")
    assert code == 0
    assert table.splitlines()[0].split() == ["NAME", "ACCOUNT_ID"]
    code, raw, _ = await _cli(tmp_path, server.port, "--json", "accounts", "list")
    assert json.loads(raw)[1] == {"name": "bob", "account_id": 2}
    code, _, error = await _cli(tmp_path, server.port, "deposit", "alice", "XYZ", "1")
    assert (code, error.strip()) == (1, "gateway-admin: unknown_asset: unknown asset XYZ")


async def test_cli_reports_an_unreachable_server(tmp_path: Path) -> None:
    ensure_admin_token(str(tmp_path / "admin.token"))
    code, _, error = await _cli(tmp_path, 1, "accounts", "list")
    assert code == 3
    assert "cannot reach the server" in error


async def test_cli_reads_a_reply_larger_than_a_stream_buffer(tmp_path: Path) -> None:
    """A reply past asyncio's 64 KiB line limit (a deep book, many accounts) crashed the CLI."""
    rows = [{"name": f"account{index:05d}", "account_id": index} for index in range(4000)]

    async def many_accounts(args: dict) -> list[dict]:
        return rows

    token = ensure_admin_token(str(tmp_path / "admin.token"))
    server = AdminEndpoint(handlers={"accounts.list": many_accounts}, token=token, host="127.0.0.1", port=0)
    await server.start()
    try:
        code, raw, error = await _cli(tmp_path, server.port, "--json", "accounts", "list")
    finally:
        await server.close()
    assert (code, error) == (0, "")
    assert len(raw) > 1 << 16 and json.loads(raw) == rows


async def test_a_reply_past_the_bound_is_a_clear_error(endpoint, monkeypatch) -> None:
    server, token, _ = endpoint
    monkeypatch.setattr(admin_endpoint, "REPLY_BYTES_MAX", 32)
    with pytest.raises(AdminReplyTooLarge, match=r"the reply to accounts\.list exceeds 32 bytes"):
        await admin_request("127.0.0.1", server.port, token, "accounts.list", {})
