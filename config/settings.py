"""Frozen, typed settings. Every amount is an ``int`` of minor units of the asset it counts.

A symbol's price is quote minor units per one whole unit of base; its quantity is base minor units.
The notional of ``price_minor`` and ``quantity_minor`` is ``price_minor * quantity_minor //
10**base_scale`` quote minor units, and validation guarantees that division is always exact.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

# Every amount is stored in a signed 64-bit column; a larger one would fail the commit it rides in.
STORED_INTEGER_MAX = 2**63 - 1


class SymbolStatus(enum.Enum):
    TRADING = "TRADING"
    HALTED = "HALTED"


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetSettings:
    code: str
    scale: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SymbolSettings:
    """One symbol's trading rules, all in minor units of base (quantities) or quote (prices)."""

    name: str
    base: str
    quote: str
    base_scale: int
    quote_scale: int
    tick_size_minor: int
    step_size_minor: int
    min_quantity_minor: int
    max_quantity_minor: int
    min_notional_minor: int
    min_price_minor: int
    max_price_minor: int
    status: SymbolStatus = SymbolStatus.TRADING

    def notional_minor(self, price_minor: int, quantity_minor: int) -> int:
        """Return price x quantity in quote minor units (exact for prices and quantities on the grid)."""
        return price_minor * quantity_minor // 10**self.base_scale

    @property
    def max_quote_quantity_minor(self) -> int:
        """The most quote a market order by quote amount may name: the value of the maximum quantity at
        the maximum price, and never more than the store holds."""
        return min(self.notional_minor(self.max_price_minor, self.max_quantity_minor), STORED_INTEGER_MAX)


@dataclass(frozen=True, slots=True, kw_only=True)
class FeeSettings:
    """Maker and taker rates in basis points of what the account receives, rounded up."""

    maker_bps: int = 10
    taker_bps: int = 10


@dataclass(frozen=True, slots=True, kw_only=True)
class LimitSettings:
    """Every bound of the process, each with a clear error past it."""

    max_message_bytes: int = 65536
    receive_buffer_bytes_max: int = 1048576
    book_queue_max: int = 10000
    websocket_buffer_bytes_max: int = 8388608
    open_orders_per_account_max: int = 200
    # Closed orders each book keeps for status queries and duplicate client order ids; older ones are
    # forgotten (the store still has them), so memory does not grow with every order ever placed.
    closed_orders_retained_max: int = 100000
    # Sent FIX frames the store keeps per session for ResendRequests; older ones are deleted as new ones
    # are written and a resend of them is answered with a gap fill (a daily reset also clears them).
    fix_messages_retained_max: int = 1000000
    # Balances and holds a ledger checkpoint may write at once: one is taken early past this many, since
    # its rows are written on the loop thread (about 0.7 us each) and every client waits meanwhile.
    checkpoint_rows_max: int = 100000
    connections_per_address_max: int = 50
    # WebSocket handshakes per address in each 5-minute window (Binance's 300), open or not.
    connection_attempts_per_5_minutes_max: int = 300
    orders_per_second_per_session_max: int = 5000
    orders_per_10s_per_key_max: int = 100000
    request_weight_per_minute_max: int = 60000
    subscriptions_per_connection_max: int = 1024
    depth_levels_max: int = 5000


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreSettings:
    """Which store backs the ledger and the session store, and how to reach it."""

    backend: str = "sqlite"
    sqlite_path: str = "var/gateway.sqlite3"
    sqlite_synchronous: str = "FULL"
    postgres_dsn: str = "postgresql://postgres@127.0.0.1:5432/test"
    postgres_pool_size_max: int = 8
    postgres_schema: str = "public"


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerSettings:
    """Listening addresses; every port 0 means pick a free one (tests)."""

    host: str = "127.0.0.1"
    fix_port: int = 9878
    fix_tls_port: int = 0
    websocket_port: int = 8090
    admin_port: int = 8091
    metrics_port: int = 9090
    tls_certificate_path: str = ""
    tls_private_key_path: str = ""
    admin_token_path: str = "var/admin.token"
    log_format: str = "console"
    log_level: str = "info"
    # How long market-stream messages gather before one write per subscriber: the lag/CPU trade-off.
    stream_flush_interval_ms: int = 30
    # The full garbage collection (a pause that grows with the books) runs on this schedule only.
    gc_full_collection_interval_s: int = 3600


@dataclass(frozen=True, slots=True, kw_only=True)
class FixSessionSettings:
    """One FIX session the acceptor knows: the client's CompID, ours, and the account it trades for."""

    sender_comp_id: str
    target_comp_id: str
    account: str
    username: str = ""
    password_hash: str = ""
    ed25519_public_key_pem: str = ""
    heartbeat_interval_s_min: int = 5
    heartbeat_interval_s_max: int = 120
    daily_reset_utc: str = ""


# An account's name: ASCII only, since operators type it and logs show it, where a look-alike letter
# from another script would name two accounts alike.
ACCOUNT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
ACCOUNT_NAME_RULE = "1 to 64 ASCII letters, digits and underscores, from a letter"


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoAccountSettings:
    """An account the demo config creates and funds at start (amounts in minor units)."""

    name: str
    deposits_minor: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    assets: dict[str, AssetSettings]
    symbols: dict[str, SymbolSettings]
    fees: FeeSettings = FeeSettings()
    limits: LimitSettings = LimitSettings()
    store: StoreSettings = StoreSettings()
    server: ServerSettings = ServerSettings()
    fix_sessions: tuple[FixSessionSettings, ...] = ()
    demo_accounts: tuple[DemoAccountSettings, ...] = ()
