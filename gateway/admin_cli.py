"""`gateway-admin`: operate a running gateway through its loopback admin endpoint.

Tables for people, ``--json`` for scripts. Exit status: 0 done, 1 the server refused the command,
2 bad usage or configuration, 3 the server could not be reached.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TextIO

from config import ConfigError, load_settings
from config.errors import GatewayError
from config.settings import Settings
from gateway.admin_commands import TRADE_CSV_HEADER
from gateway.admin_endpoint import AdminReplyTooLarge, admin_request
from gateway.admin_token import AdminTokenError, read_admin_token
from gateway.server import open_store
from ledger.verify import verify_store

EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3


def _actions(groups: argparse._SubParsersAction, name: str, help_text: str) -> argparse._SubParsersAction:
    return groups.add_parser(name, help=help_text).add_subparsers(dest="action", required=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gateway-admin", description="Operate a running exchange gateway.")
    parser.add_argument("--config", default="config/demo.toml", help="the server's TOML settings file")
    parser.add_argument("--json", action="store_true", help="print the raw JSON result")
    groups = parser.add_subparsers(dest="group", required=True)

    accounts = _actions(groups, "accounts", "trading accounts")
    accounts.add_parser("create", help="create an account").add_argument("name")
    accounts.add_parser("list", help="list accounts")
    accounts.add_parser("show", help="balances and holds of an account").add_argument("name")

    for verb in ("deposit", "withdraw"):
        money = groups.add_parser(verb, help=f"{verb} an asset for an account")
        money.add_argument("account")
        money.add_argument("asset")
        money.add_argument("amount", help="decimal amount, e.g. 1.5")
        money.add_argument("--transfer-id", help="idempotency key (a retry with the same id does nothing)")

    keys = _actions(groups, "api-keys", "WebSocket API keys")
    create_key = keys.add_parser("create", help="create a key (HMAC unless a public key is given)")
    create_key.add_argument("account")
    create_key.add_argument("--permissions", default="read,trade", help="comma list of read, trade")
    create_key.add_argument("--ed25519-public-key", metavar="PEM_FILE", help="register an Ed25519 key")
    keys.add_parser("list", help="list keys").add_argument("account", nargs="?")
    keys.add_parser("revoke", help="revoke a key").add_argument("api_key")

    sessions = _actions(groups, "fix-sessions", "FIX sessions")
    add_session = sessions.add_parser("add", help="allow a FIX session")
    add_session.add_argument("sender_comp_id")
    add_session.add_argument("account")
    add_session.add_argument("--password", help="Password (554) the client must send")
    add_session.add_argument("--ed25519-public-key", metavar="PEM_FILE", help="Binance-style signed logon")
    add_session.add_argument("--username", help="Username (553) the client must send")
    add_session.add_argument("--target-comp-id", help="our CompID (default: the configured sessions' one)")
    sessions.add_parser("list", help="configured and connected sessions")
    sessions.add_parser("disconnect", help="log a session out").add_argument("sender_comp_id")

    symbols = _actions(groups, "symbols", "symbols")
    symbols.add_parser("list", help="list symbols and their status")
    symbols.add_parser("halt", help="halt trading (cancels still allowed)").add_argument("symbol")
    symbols.add_parser("resume", help="resume trading").add_argument("symbol")

    book = groups.add_parser("book", help="depth of a symbol's book")
    book.add_argument("symbol")
    book.add_argument("--depth", type=int, default=10)

    orders = _actions(groups, "orders", "open orders")
    list_orders = orders.add_parser("list", help="an account's open orders")
    list_orders.add_argument("account")
    list_orders.add_argument("--symbol")
    cancel_all = orders.add_parser("cancel-all", help="cancel all of an account's open orders")
    cancel_all.add_argument("account")
    cancel_all.add_argument("--symbol")

    ledger = _actions(groups, "ledger", "the ledger")
    ledger.add_parser("verify", help="check every ledger invariant")

    trades = _actions(groups, "trades", "trades")
    export = trades.add_parser("export", help="export trades of a time range to CSV")
    export.add_argument("--since", required=True, help="ISO time, e.g. 2026-11-24T00:00:00Z")
    export.add_argument("--until", required=True, help="ISO time (exclusive)")
    export.add_argument("--symbol")
    export.add_argument("--output", default="-", help="CSV file, - for standard output")
    return parser


def _command(arguments: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """The endpoint command and its arguments for parsed CLI arguments."""
    skip = {"config", "json", "group", "action", "output"}
    args = {key: value for key, value in vars(arguments).items() if key not in skip and value is not None}
    for key in ("ed25519_public_key",):
        if key in args:
            with open(args[key], encoding="ascii") as pem_file:
                args[key] = pem_file.read()
    action = getattr(arguments, "action", None)
    name = arguments.group.replace("-", "_") + (f".{action.replace('-', '_')}" if action else "")
    return name, args


def _table(rows: Sequence[dict[str, Any]]) -> str:
    if not rows:
        return "(none)"
    columns = list(rows[0])
    widths = {
        column: max(len(column), *(len(str(row.get(column, ""))) for row in rows)) for column in columns
    }
    lines = ["  ".join(column.upper().ljust(widths[column]) for column in columns)]
    lines += ["  ".join(str(row.get(column, "")).ljust(widths[column]) for column in columns) for row in rows]
    return "\n".join(lines)


def render(result: Any) -> str:
    """A result as people read it: lists of records as tables, records as key: value lines."""
    if isinstance(result, list) and all(isinstance(row, dict) for row in result):
        return _table(result)
    if isinstance(result, dict):
        parts = []
        for key, value in result.items():
            if isinstance(value, list) and all(isinstance(row, dict) for row in value):
                parts.append(f"{key}:\n{_table(value)}")
            else:
                parts.append(f"{key}: {value}")
        return "\n".join(parts)
    return str(result)


_Request = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


async def _export_trades(request: _Request, args: dict[str, Any], output: str) -> dict[str, Any]:
    """Ask for the range page by page, writing each page as it comes; a file appears only when whole."""
    if output == "-":
        return await _write_trade_pages(request, args, sys.stdout)
    partial = output + ".partial"
    try:
        with open(partial, "w", encoding="utf-8", newline="") as target:
            reply = await _write_trade_pages(request, args, target)
    except BaseException:
        os.unlink(partial)
        raise
    if reply.get("ok"):
        os.replace(partial, output)
    else:
        os.unlink(partial)
    return reply


async def _write_trade_pages(request: _Request, args: dict[str, Any], target: TextIO) -> dict[str, Any]:
    target.write(TRADE_CSV_HEADER + "\n")
    page_args = dict(args)
    while True:
        reply = await request("trades.export", page_args)
        if not reply.get("ok"):
            return reply
        page = reply["result"]
        target.write("".join(line + "\n" for line in page["csv_lines"]))
        if page["next"] is None:
            return reply
        page_args["after"] = page["next"]


def _verify_offline(settings: Settings, out: Callable[[str], None], *, as_json: bool) -> int:
    """``ledger verify`` with the server stopped: read the store directly."""

    async def verify() -> list[str]:
        store = open_store(settings)
        await store.open()
        try:
            return await verify_store(store, settings.fees, settings.symbols)
        finally:
            await store.close()

    try:
        problems = asyncio.run(verify())
    except (OSError, GatewayError) as error:
        print(f"gateway-admin: cannot open the store: {error}", file=sys.stderr)
        return EXIT_UNREACHABLE
    if problems:
        print("gateway-admin: ledger_unsound: " + "; ".join(problems), file=sys.stderr)
        return EXIT_REFUSED
    result = {"ledger": "sound", "checked": "store (server not running)"}
    out(json.dumps(result, indent=2) if as_json else render(result))
    return EXIT_OK


def main(argv: list[str] | None = None, *, out: Callable[[str], None] = print) -> int:
    arguments = _parser().parse_args(argv)
    command, args = _command(arguments)
    try:
        settings = load_settings(arguments.config)
    except (ConfigError, OSError) as error:
        print(f"gateway-admin: {error}", file=sys.stderr)
        return EXIT_USAGE
    try:
        token = read_admin_token(settings.server.admin_token_path)
    except (AdminTokenError, OSError) as error:
        if command == "ledger.verify":
            return _verify_offline(settings, out, as_json=arguments.json)
        print(f"gateway-admin: {error}", file=sys.stderr)
        return EXIT_USAGE

    def request(name: str, request_args: dict[str, Any]) -> Awaitable[dict[str, Any]]:
        return admin_request(settings.server.host, settings.server.admin_port, token, name, request_args)

    try:
        if command == "trades.export":
            reply = asyncio.run(_export_trades(request, args, arguments.output))
        else:
            reply = asyncio.run(request(command, args))
    except AdminReplyTooLarge as error:
        print(f"gateway-admin: {error}", file=sys.stderr)
        return EXIT_REFUSED
    except (TimeoutError, OSError) as error:
        if command == "ledger.verify":
            return _verify_offline(settings, out, as_json=arguments.json)
        print(
            f"gateway-admin: cannot reach the server at {settings.server.host}:{settings.server.admin_port}: "
            f"{error}",
            file=sys.stderr,
        )
        return EXIT_UNREACHABLE
    if not reply.get("ok"):
        error = reply.get("error", {})
        print(f"gateway-admin: {error.get('code')}: {error.get('message')}", file=sys.stderr)
        return EXIT_REFUSED
    if command != "trades.export":
        result = reply.get("result")
        out(json.dumps(result, indent=2) if arguments.json else render(result))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
