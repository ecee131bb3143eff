"""What the admin endpoint can do: each command reads its arguments, acts on the running server, answers.

Money is written and read as decimal strings in the asset's scale; refusals are ``AdminCommandError``
with a code the CLI shows. Deposits and withdrawals return only after their commit.
"""

from __future__ import annotations

import asyncio
import base64
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from book.types import CancelAllOrders, SetSymbolStatus, Side
from config.money import DecimalFormatError, format_minor, parse_decimal_minor
from config.settings import ACCOUNT_NAME, ACCOUNT_NAME_RULE, FixSessionSettings
from gateway.admin_endpoint import AdminCommandError
from gateway.fix_sessions import accepted_session, fix_session_record
from ledger.ledger import InsufficientFunds, LedgerError
from ledger.store import TIME_NS_MAX, ApiKeyRecord
from ledger.verify import verify_store
from session.binance.auth import Permission
from session.binance.signing import KeyType, Verifier
from session.fix.auth import hash_password

if TYPE_CHECKING:
    from gateway.server import GatewayServer

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
COMP_ID = re.compile(r"[!-~]{1,64}")
# Trades per reply of an export (about 130 bytes of CSV each).
TRADES_PAGE_MAX = 1000
BOOK_DEPTH_MAX = 5000  # deeper asks get this many levels, as Binance truncates depth at 5000
TRADE_CSV_HEADER = (
    "trade_id,symbol,time_utc,price,quantity,quote_quantity,buyer_account,seller_account,"
    "buyer_order_id,seller_order_id,maker_side,buyer_fee,seller_fee"
)


class AdminCommands:
    def __init__(self, server: GatewayServer) -> None:
        self.server = server
        self._fix_sessions_being_added: set[tuple[str, str]] = set()

    def handlers(self) -> dict[str, Callable[[dict[str, Any]], Awaitable[Any]]]:
        return {
            "accounts.create": self.create_account,
            "accounts.list": self.list_accounts,
            "accounts.show": self.show_account,
            "deposit": self.deposit,
            "withdraw": self.withdraw,
            "api_keys.create": self.create_api_key,
            "api_keys.list": self.list_api_keys,
            "api_keys.revoke": self.revoke_api_key,
            "fix_sessions.add": self.add_fix_session,
            "fix_sessions.list": self.list_fix_sessions,
            "fix_sessions.disconnect": self.disconnect_fix_session,
            "symbols.list": self.list_symbols,
            "symbols.halt": self.halt,
            "symbols.resume": self.resume,
            "book": self.show_book,
            "orders.list": self.list_orders,
            "orders.cancel_all": self.cancel_all,
            "ledger.verify": self.verify,
            "trades.export": self.export_trades,
        }

    # Helpers ----------------------------------------------------------------------------------------

    def _account(self, name: Any) -> int:
        account_id = self.server.accounts.get(name) if isinstance(name, str) else None
        if account_id is None:
            raise AdminCommandError("unknown_account", f"no account named {name!r}")
        return account_id

    def _amount(self, asset: Any, amount: Any) -> int:
        settings = self.server.settings.assets.get(asset) if isinstance(asset, str) else None
        if settings is None:
            raise AdminCommandError("unknown_asset", f"unknown asset {asset!r}")
        try:
            minor = parse_decimal_minor(str(amount), settings.scale)
        except DecimalFormatError as error:
            raise AdminCommandError("bad_amount", f"amount {amount!r}: {error}") from None
        if minor <= 0:
            raise AdminCommandError("bad_amount", "amount must be positive")
        return minor

    def _symbol(self, name: Any) -> str:
        """The configured symbol ``name`` names, in any case (``btcusdt`` as in stream names)."""
        symbols = self.server.settings.symbols
        if isinstance(name, str) and name not in symbols and name.upper() in symbols:
            name = name.upper()
        if not isinstance(name, str) or name not in symbols:
            raise AdminCommandError("unknown_symbol", f"unknown symbol {name!r}")
        return name

    def _money(self, asset: str, minor: int) -> str:
        return format_minor(minor, self.server.settings.assets[asset].scale)

    # Accounts and money -----------------------------------------------------------------------------

    async def create_account(self, args: dict[str, Any]) -> dict[str, Any]:
        name = args.get("name")
        if not isinstance(name, str) or not ACCOUNT_NAME.fullmatch(name):
            raise AdminCommandError("bad_name", f"account names are {ACCOUNT_NAME_RULE}")
        if name in self.server.accounts:
            raise AdminCommandError("exists", f"account {name!r} exists")
        account_id = await self.server.store.create_account(name, time.time_ns())
        self.server.accounts[name] = account_id
        return {"name": name, "account_id": account_id}

    async def list_accounts(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {"name": name, "account_id": account_id}
            for name, account_id in sorted(self.server.accounts.items())
        ]

    async def show_account(self, args: dict[str, Any]) -> dict[str, Any]:
        account_id = self._account(args.get("name"))
        balances = [
            {
                "asset": asset,
                "total": self._money(asset, balance.total_minor),
                "available": self._money(asset, balance.available_minor),
                "held": self._money(asset, balance.held_minor),
            }
            for asset, balance in self.server.ledger.balances(account_id).items()
        ]
        holds = []
        for order in self.server.exchange.open_orders(account_id, None):
            symbol = self.server.settings.symbols[order.symbol]
            asset = symbol.quote if order.side is Side.BUY else symbol.base
            held_minor = self.server.ledger.hold_remaining(order.order_id)
            holds.append(
                {
                    "order_id": order.order_id,
                    "symbol": order.symbol,
                    "asset": asset,
                    "held": self._money(asset, held_minor),
                }
            )
        return {"name": args["name"], "account_id": account_id, "balances": balances, "holds": holds}

    async def _transfer(self, args: dict[str, Any], withdraw: bool) -> dict[str, Any]:
        account_id = self._account(args.get("account"))
        asset = args.get("asset")
        amount = self._amount(asset, args.get("amount"))
        transfer_id = args.get("transfer_id") or f"admin-{time.time_ns()}-{secrets.token_hex(4)}"
        try:
            if withdraw:
                entry = self.server.ledger.withdraw(transfer_id, account_id, asset, amount, time.time_ns())
            else:
                entry = self.server.ledger.deposit(transfer_id, account_id, asset, amount, time.time_ns())
        except InsufficientFunds:
            available = self.server.ledger.balance(account_id, asset).available_minor
            raise AdminCommandError(
                "insufficient_funds",
                f"{args['account']} has {self._money(asset, available)} {asset} available, "
                f"cannot withdraw {self._money(asset, amount)}",
            ) from None
        except LedgerError as error:
            raise AdminCommandError("refused", str(error)) from None
        await self.server.writer.commit_point()
        balance = self.server.ledger.balance(account_id, asset)
        return {
            "transfer_id": entry.transfer_id,
            "account": args["account"],
            "asset": asset,
            "amount": self._money(asset, entry.amount_minor),
            "available": self._money(asset, balance.available_minor),
        }

    async def deposit(self, args: dict[str, Any]) -> dict[str, Any]:
        return await self._transfer(args, withdraw=False)

    async def withdraw(self, args: dict[str, Any]) -> dict[str, Any]:
        return await self._transfer(args, withdraw=True)

    # API keys ---------------------------------------------------------------------------------------

    async def create_api_key(self, args: dict[str, Any]) -> dict[str, Any]:
        account_id = self._account(args.get("account"))
        names = {"read": Permission.USER_DATA, "trade": Permission.TRADE}
        wanted = [
            part.strip() for part in str(args.get("permissions", "read,trade")).split(",") if part.strip()
        ]
        if not wanted or any(part not in names for part in wanted):
            raise AdminCommandError("bad_permissions", "permissions are a comma list of read, trade")
        permissions = {names[part] for part in wanted} | {Permission.USER_STREAM}
        api_key = secrets.token_urlsafe(48).replace("-", "").replace("_", "")[:64]
        public_key = args.get("ed25519_public_key") or ""
        if public_key:
            _check_ed25519_public_key(public_key)
        secret = "" if public_key else base64.b32encode(secrets.token_bytes(40)).decode().rstrip("=")
        record = ApiKeyRecord(
            api_key=api_key,
            account_id=account_id,
            key_type="ED25519" if public_key else "HMAC",
            secret=secret,
            public_key_pem=public_key,
            permissions=",".join(sorted(p.value for p in permissions)),
            revoked=False,
        )
        await self.server.store.add_api_key(record)
        self.server.api_keys.add(record)
        answer = {"api_key": api_key, "key_type": record.key_type, "permissions": record.permissions}
        if secret:
            answer["secret"] = secret
            answer["note"] = "the secret is shown once; it is not retrievable later"
        return answer

    async def list_api_keys(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        names = {account_id: name for name, account_id in self.server.accounts.items()}
        account = args.get("account")
        return [
            {
                "api_key": record.api_key,
                "account": names.get(record.account_id, record.account_id),
                "key_type": record.key_type,
                "permissions": record.permissions,
                "revoked": record.revoked,
            }
            for record in await self.server.store.api_keys()
            if account is None or names.get(record.account_id) == account
        ]

    async def revoke_api_key(self, args: dict[str, Any]) -> dict[str, Any]:
        if not await self.server.store.revoke_api_key(str(args.get("api_key"))):
            raise AdminCommandError("unknown_key", "no such API key")
        self.server.api_keys.revoke(str(args["api_key"]))
        return {"api_key": args["api_key"], "revoked": True}

    # FIX sessions -----------------------------------------------------------------------------------

    async def list_fix_sessions(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        rows = []
        for (sender, target), accepted in sorted(self.server.fix.sessions.items()):
            connection = self.server.fix.connected.get(accepted.config.session_id)
            session = connection.session if connection is not None else None
            stored = await self.server.store.load_fix_session(accepted.config.session_id)
            next_in, next_out = (
                (session.next_incoming_seq, session.next_outgoing_seq) if session else stored or (1, 1)
            )
            rows.append(
                {
                    "sender_comp_id": sender,
                    "target_comp_id": target,
                    "account": accepted.account,
                    "connected": session is not None and session.state.value == "ACTIVE",
                    "next_incoming_seq": next_in,
                    "next_outgoing_seq": next_out,
                }
            )
        return rows

    async def add_fix_session(self, args: dict[str, Any]) -> dict[str, Any]:
        """Allow a FIX session from now on and after restarts; only the password's scrypt hash is kept."""
        sender, account = args.get("sender_comp_id"), args.get("account")
        target = args.get("target_comp_id") or self._default_target_comp_id()
        for comp_id in (sender, target):
            if not isinstance(comp_id, str) or not COMP_ID.fullmatch(comp_id):
                raise AdminCommandError(
                    "bad_comp_id", f"CompID {comp_id!r}: 1 to 64 printable ASCII characters"
                )
        account_id = self._account(account)
        password, public_key_pem = args.get("password") or "", args.get("ed25519_public_key") or ""
        username = args.get("username") or ""
        if not all(isinstance(value, str) for value in (password, public_key_pem, username)):
            raise AdminCommandError("bad_request", "password, username and the public key are strings")
        if not password and not public_key_pem:
            raise AdminCommandError(
                "credentials_required", "a session needs a password or an Ed25519 public key to log on with"
            )
        key = (sender, target)
        if key in self.server.fix.sessions or key in self._fix_sessions_being_added:
            raise AdminCommandError("exists", f"a FIX session {sender}->{target} exists")
        self._fix_sessions_being_added.add(key)
        try:
            settings = FixSessionSettings(
                sender_comp_id=sender,
                target_comp_id=target,
                account=account,
                username=username,
                password_hash=await asyncio.to_thread(hash_password, password) if password else "",
                ed25519_public_key_pem=public_key_pem,
            )
            try:
                accepted = accepted_session(settings)
            except ValueError as error:
                raise AdminCommandError("bad_public_key", str(error)) from None
            record = fix_session_record(settings, account_id, time.time_ns())
            await self.server.store.add_fix_session_settings(record)
            self.server.fix.sessions[key] = accepted
        finally:
            self._fix_sessions_being_added.discard(key)
        return {"sender_comp_id": sender, "target_comp_id": target, "account": account}

    def _default_target_comp_id(self) -> str:
        """Our CompID when the operator names none: the one every configured session uses, else GATEWAY."""
        ours = {target for _, target in self.server.fix.sessions}
        return ours.pop() if len(ours) == 1 else "GATEWAY"

    async def disconnect_fix_session(self, args: dict[str, Any]) -> dict[str, Any]:
        sender = args.get("sender_comp_id")
        for (their, _ours), accepted in self.server.fix.sessions.items():
            if their == sender and accepted.config.session_id in self.server.fix.connected:
                self.server.fix.disconnect(accepted.config.session_id, "Disconnected by the operator")
                return {"sender_comp_id": sender, "logout_sent": True}
        raise AdminCommandError("not_connected", f"no connected FIX session with SenderCompID {sender!r}")

    # Symbols, books, orders -------------------------------------------------------------------------

    async def list_symbols(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        rows = []
        for name, symbol in self.server.settings.symbols.items():
            book = self.server.exchange.books[name].book
            rows.append(
                {
                    "symbol": name,
                    "status": "HALTED" if book.halted else "TRADING",
                    "tick_size": format_minor(symbol.tick_size_minor, symbol.quote_scale),
                    "step_size": format_minor(symbol.step_size_minor, symbol.base_scale),
                    "open_orders": sum(
                        1 for o in self.server.exchange.books[name].orders.values() if o.is_open
                    ),
                }
            )
        return rows

    async def _set_halted(self, args: dict[str, Any], halted: bool) -> dict[str, Any]:
        name = self._symbol(args.get("symbol"))
        await self.server.exchange.execute(
            name, SetSymbolStatus(halted=halted, ts_ns=time.time_ns()), origin="admin"
        )
        return {"symbol": name, "status": "HALTED" if halted else "TRADING"}

    async def halt(self, args: dict[str, Any]) -> dict[str, Any]:
        return await self._set_halted(args, True)

    async def resume(self, args: dict[str, Any]) -> dict[str, Any]:
        return await self._set_halted(args, False)

    async def show_book(self, args: dict[str, Any]) -> dict[str, Any]:
        name = self._symbol(args.get("symbol"))
        symbol = self.server.settings.symbols[name]
        depth = args.get("depth", 10)
        if type(depth) is not int or depth < 1:
            raise AdminCommandError("bad_depth", "depth is a whole number of levels, at least 1")
        snapshot = self.server.broadcaster.snapshot(name, min(depth, BOOK_DEPTH_MAX))

        def rows(levels) -> list[dict[str, str]]:
            return [
                {
                    "price": format_minor(price, symbol.quote_scale),
                    "quantity": format_minor(qty, symbol.base_scale),
                }
                for price, qty in levels
            ]

        return {
            "symbol": name,
            "last_update_id": snapshot.last_update_id,
            "bids": rows(snapshot.bids),
            "asks": rows(snapshot.asks),
        }

    async def list_orders(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        account_id = self._account(args.get("account"))
        symbol = self._symbol(args["symbol"]) if args.get("symbol") else None
        rows = []
        for order in self.server.exchange.open_orders(account_id, symbol):
            settings = self.server.settings.symbols[order.symbol]
            rows.append(
                {
                    "order_id": order.order_id,
                    "symbol": order.symbol,
                    "client_order_id": order.client_order_id,
                    "side": order.side.value,
                    "price": format_minor(order.price_minor, settings.quote_scale),
                    "quantity": format_minor(order.quantity_minor, settings.base_scale),
                    "filled": format_minor(order.filled_minor, settings.base_scale),
                    "status": order.status.value,
                }
            )
        return rows

    async def cancel_all(self, args: dict[str, Any]) -> dict[str, Any]:
        account_id = self._account(args.get("account"))
        symbols = [self._symbol(args["symbol"])] if args.get("symbol") else list(self.server.settings.symbols)
        canceled = 0
        for name in symbols:
            result = await self.server.exchange.execute(
                name, CancelAllOrders(account_id=account_id, ts_ns=time.time_ns()), origin="admin"
            )
            canceled += len(result.reports)
        return {"account": args["account"], "canceled": canceled}

    # Ledger and trades ------------------------------------------------------------------------------

    async def verify(self, args: dict[str, Any]) -> dict[str, Any]:
        await self.server.writer.commit_point()
        problems = await verify_store(
            self.server.store, self.server.settings.fees, self.server.settings.symbols
        )
        if problems:
            raise AdminCommandError("ledger_unsound", "; ".join(problems))
        return {"ledger": "sound", "journal_sequence": self.server.ledger.sequence}

    async def export_trades(self, args: dict[str, Any]) -> dict[str, Any]:
        """One page of a time range's trades as CSV rows, and where the next page starts (None: done).

        Pages keep each reply and each stretch of formatting on the loop thread small."""
        since_ns, until_ns = _utc_ns(args.get("since")), _utc_ns(args.get("until"))
        symbol = self._symbol(args["symbol"]) if args.get("symbol") else None
        after = args.get("after")
        if after is not None and not (
            isinstance(after, list)
            and len(after) == 2
            and all(type(part) is int and 0 <= part <= TIME_NS_MAX for part in after)
        ):
            raise AdminCommandError("bad_request", "after is [ts_ns, sequence] of the last trade received")
        trades = await self.server.store.trades(
            since_ns, until_ns, symbol, after=None if after is None else tuple(after), limit=TRADES_PAGE_MAX
        )
        names = {account_id: name for name, account_id in self.server.accounts.items()}
        lines = []
        for trade in trades:
            settings = self.server.settings.symbols[trade.symbol]
            ms = trade.ts_ns // 10**6
            when = datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            lines.append(
                ",".join(
                    [
                        str(trade.trade_id),
                        trade.symbol,
                        f"{when}.{ms % 1000:03d}Z",
                        format_minor(trade.price_minor, settings.quote_scale),
                        format_minor(trade.quantity_minor, settings.base_scale),
                        format_minor(trade.quote_quantity_minor, settings.quote_scale),
                        str(names.get(trade.buyer_account_id, trade.buyer_account_id)),
                        str(names.get(trade.seller_account_id, trade.seller_account_id)),
                        str(trade.buyer_order_id),
                        str(trade.seller_order_id),
                        "BUY" if trade.buyer_is_maker else "SELL",
                        format_minor(trade.buyer_fee_minor, settings.base_scale),
                        format_minor(trade.seller_fee_minor, settings.quote_scale),
                    ]
                )
            )
        last = trades[-1] if len(trades) == TRADES_PAGE_MAX else None
        return {"csv_lines": lines, "next": None if last is None else [last.ts_ns, last.sequence]}


def _check_ed25519_public_key(public_key: Any) -> None:
    """Refuse what no Ed25519 key can be read from, before it is stored: the gateway reads every stored key
    at start, and one it cannot read would keep it from starting."""
    try:
        Verifier(KeyType.ED25519, public_key_pem=public_key)
    except (ValueError, TypeError, AttributeError):
        raise AdminCommandError(
            "bad_public_key", "the public key is not an Ed25519 public key in PEM"
        ) from None


def _utc_ns(text: Any) -> int:
    """An ISO time (UTC when it names no offset) as integer nanoseconds since the epoch, exactly."""
    try:
        when = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise AdminCommandError(
            "bad_time", "since and until are ISO times, e.g. 2026-11-24T00:00:00Z"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    # Trades are stamped from the epoch to the last time 64-bit nanoseconds hold (about 2262).
    return min(max((when - EPOCH) // timedelta(microseconds=1) * 1000, 0), TIME_NS_MAX)
