"""The store port: what the process persists and loads, the same for SQLite and PostgreSQL.

One logical schema (see ``schema.py``); each backend implements ``Store``. Everything one loop turn
produced goes to ``commit`` as one ``CommitBatch`` and one transaction. Balances live in memory and
are rebuilt at start from the last checkpoint plus the journal after it.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from book.reports import OrderAmendment, PreventedMatchRecord
from book.trade_stats import Candle
from book.types import MatchPrevented
from ledger.journal import EntryKind, HoldEntry, JournalEntry, TradeEntry, TransferEntry

AMENDMENT_COLUMNS = OrderAmendment._fields


PREVENTED_MATCH_COLUMNS = PreventedMatchRecord._fields


def prevented_match_row(symbol: str, match: MatchPrevented) -> PreventedMatchRecord:
    return PreventedMatchRecord(
        symbol,
        match.prevented_match_id,
        match.self_trade_prevention.value,
        match.price_minor,
        match.maker_order_id,
        match.maker_account_id,
        match.maker_prevented_minor,
        match.taker_order_id,
        match.taker_account_id,
        match.taker_prevented_minor,
        match.ts_ns,
    )


class OrderRecord(NamedTuple):
    """One order's latest state, with plain values (enums as their names).

    A tuple in column order, so it is the order's row as it is: a commit binds it without building
    another (the orders of every commit: about 2 us less per order than a dataclass and its row).
    """

    order_id: int
    symbol: str
    account_id: int
    client_order_id: str
    original_client_order_id: str
    side: str
    order_type: str
    time_in_force: str
    self_trade_prevention: str
    price_minor: int
    quantity_minor: int
    quote_quantity_minor: int
    status: str
    filled_minor: int
    cumulative_quote_minor: int
    commission_minor: int
    commission_asset: str
    created_ns: int
    updated_ns: int
    origin: str
    priority_sequence: int
    strategy: str  # strategy_text of the order's labels


ORDER_COLUMNS = OrderRecord._fields


def strategy_text(strategy_id: int | None, strategy_type: int | None) -> str:
    """An order's labels as stored: "" for none, else "<id>:<type>" with a part left empty when not given.

    One text column rather than two nullable ones: ``sqlite3`` binds None through its adapter lookup
    (about 1 us a value here), and every commit binds every changed order's row.
    """
    if strategy_id is None and strategy_type is None:
        return ""
    return f"{'' if strategy_id is None else strategy_id}:{'' if strategy_type is None else strategy_type}"


def strategy_of(text: str) -> tuple[int | None, int | None]:
    """The (strategy id, strategy type) that ``strategy_text`` stored."""
    strategy_id, _, strategy_type = text.partition(":")
    return (int(strategy_id) if strategy_id else None, int(strategy_type) if strategy_type else None)


# What an order is, fixed when it is placed: its later records carry the same values (a replace gives it
# a new client order id, price and quantity, never another account, symbol or strategy labels), so a
# store may keep them from its first record.
ORDER_IDENTITY_COLUMNS = ("symbol", "account_id", "strategy")
OPEN_STATUSES = ("NEW", "PARTIALLY_FILLED")
SEQUENCE_MAX = 2**63 - 1  # the largest journal sequence a signed 64-bit column holds
TIME_NS_MAX = 2**63 - 1  # later than any time a signed 64-bit column holds
LAST_SEQUENCE_SQL = (
    "SELECT COALESCE(MAX(sequence), 0) FROM (SELECT MAX(sequence) AS sequence FROM ledger_entries "
    "UNION ALL SELECT MAX(sequence) FROM ledger_holds UNION ALL SELECT MAX(sequence) FROM trades) AS ends"
)
SYMBOL_STATUS_SQL = "SELECT symbol, halted FROM symbol_status"
NUMBERING_SQL = "SELECT symbol, sequence, next_trade_id FROM book_numbering"
# With the ``next_order_id`` counter, where the next order id is: the larger of the two (schema migration 9).
NUMBERING_NEXT_ORDER_ID_SQL = "SELECT COALESCE(MAX(next_order_id), 0) FROM book_numbering"
CHECKPOINT_ACCOUNT_COLUMNS = (
    "account_id",
    "asset",
    "credits_posted",
    "debits_posted",
    "credits_pending",
    "debits_pending",
)
CHECKPOINT_ACCOUNTS_SQL = f"SELECT {', '.join(CHECKPOINT_ACCOUNT_COLUMNS)} FROM checkpoint_accounts"
# Written out, not bound: a planner uses the partial index ``open_orders`` only for the predicate it was
# built with (schema migration 4), which a bound parameter cannot show it.
OPEN_ORDERS_SQL = (
    f"SELECT {', '.join(ORDER_COLUMNS)} FROM orders "
    f"WHERE status IN ({', '.join(repr(status) for status in OPEN_STATUSES)}) "
    "ORDER BY symbol, priority_sequence"
)
# The newest by id, found walking the primary key backwards: an index by close time would cost every
# order's write, and the two orders differ only for an order that rested while many others closed.
CLOSED_ORDERS_SQL = (
    f"SELECT {', '.join(ORDER_COLUMNS)} FROM orders "
    f"WHERE symbol = ? AND status NOT IN ({', '.join(repr(status) for status in OPEN_STATUSES)}) "
    "ORDER BY order_id DESC LIMIT ?"
)


class BookNumbering(NamedTuple):
    """Where a symbol's book numbering continues after a restart.

    A tuple in column order, like ``OrderRecord``: every book turn makes one (a third of a frozen
    dataclass's cost) and a commit binds it as its row.
    """

    symbol: str
    sequence: int
    next_trade_id: int


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    api_key: str
    account_id: int
    key_type: str
    secret: str
    public_key_pem: str
    permissions: str
    revoked: bool


@dataclass(frozen=True, slots=True)
class FixSessionRecord:
    """A FIX session added by an operator: who may log on, with what credentials, for which account."""

    sender_comp_id: str
    target_comp_id: str
    account_id: int
    username: str
    password_hash: str
    ed25519_public_key_pem: str
    heartbeat_interval_s_min: int
    heartbeat_interval_s_max: int
    daily_reset_utc: str
    created_ns: int


FIX_SESSION_RECORD_COLUMNS = tuple(FixSessionRecord.__dataclass_fields__)


@dataclass(slots=True)
class CommitBatch:
    """Everything to make durable in one transaction."""

    journal: list[JournalEntry] = field(default_factory=list)
    orders: dict[int, OrderRecord] = field(default_factory=dict)
    numbering: dict[str, BookNumbering] = field(default_factory=dict)
    # symbol -> halted, as an admin last set it (the book's status survives a restart)
    symbol_halted: dict[str, bool] = field(default_factory=dict)
    # the exchange's next order id, when it changed (it only grows); a store may keep it in the batch's
    # numbering rows
    next_order_id: int | None = None
    amendments: list[OrderAmendment] = field(default_factory=list)
    prevented_matches: list[PreventedMatchRecord] = field(default_factory=list)
    fix_sessions: dict[str, tuple[int, int]] = field(default_factory=dict)
    fix_messages: list[tuple[str, int, bytes]] = field(default_factory=list)
    # session id -> the lowest sequence number whose sent frame is kept; frames below it are deleted
    fix_messages_kept_from: dict[str, int] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(
            self.journal
            or self.orders
            or self.numbering
            or self.symbol_halted
            or self.next_order_id is not None
            or self.amendments
            or self.prevented_matches
            or self.fix_sessions
            or self.fix_messages
            or self.fix_messages_kept_from
        )


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Balances and holds as of journal entry ``sequence``."""

    sequence: int
    accounts: dict[tuple[int, str], tuple[int, int, int, int]]
    holds: dict[int, tuple[int, str, int]]


@dataclass(frozen=True, slots=True)
class CheckpointChanges:
    """Balances and holds changed since the stored checkpoint, as of journal entry ``sequence``.

    Applied to the stored checkpoint they make it the checkpoint at ``sequence``; a hold mapped to
    ``None`` is gone. A checkpoint then costs what changed since the last one, not every open hold: a
    full rewrite of 45,000 holds stalled the commits behind it for about 170 ms under load.
    """

    sequence: int
    accounts: dict[tuple[int, str], tuple[int, int, int, int]]
    holds: dict[int, tuple[int, str, int] | None]


@dataclass(slots=True)
class LoadedState:
    """What recovery needs at start."""

    checkpoint: Checkpoint
    journal_after_checkpoint: list[JournalEntry]
    transfers: list[TransferEntry]
    open_orders: list[OrderRecord]
    numbering: dict[str, BookNumbering]
    symbol_halted: dict[str, bool]
    next_order_id: int
    accounts: dict[str, int]


class StoreSnapshot(Protocol):
    """One moment of the store, read while the server goes on committing (``ledger verify``).

    Its ``load`` leaves ``journal_after_checkpoint`` empty: on a busy server that is a minute of trading,
    millions of rows, so it is read in pages with ``journal_range`` up to ``last_sequence``.
    """

    async def load(self) -> LoadedState: ...

    async def last_sequence(self) -> int: ...

    async def journal_range(self, after_sequence: int, until_sequence: int) -> list[JournalEntry]: ...


class Store(Protocol):
    """Persistence for the ledger, orders, book numbering, accounts, API keys and FIX sessions."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def load(self) -> LoadedState: ...

    async def commit(self, batch: CommitBatch, checkpoint: CheckpointChanges | None = None) -> None: ...

    async def journal(self, after_sequence: int = 0) -> list[JournalEntry]: ...

    def snapshot(self) -> AbstractAsyncContextManager[StoreSnapshot]:
        """A consistent read-only view that does not hold up commits."""
        ...

    async def trades(
        self,
        since_ns: int,
        until_ns: int,
        symbol: str | None = None,
        *,
        after: tuple[int, int] | None = None,
        limit: int | None = None,
    ) -> list[TradeEntry]:
        """Trades with ``since_ns <= ts_ns < until_ns`` ordered by (ts_ns, sequence): with ``after`` only
        those past that key, at most ``limit`` of them, so a range of any size is read page by page."""
        ...

    async def latest_trades(self, symbol: str, limit: int, before_ns: int | None = None) -> list[TradeEntry]:
        """The last ``limit`` trades of ``symbol`` (before ``before_ns`` if given), oldest first: recent
        trades after a restart, Binance's most recent trades."""
        ...

    async def trades_from_id(self, symbol: str, from_trade_id: int, limit: int) -> list[TradeEntry]:
        """Up to ``limit`` trades of ``symbol`` from the trade id ``from_trade_id`` on (Binance's
        ``trades.historical``)."""
        ...

    async def order_amendments(
        self, account_id: int, symbol: str, order_id: int, from_execution_id: int, limit: int
    ) -> list[OrderAmendment]:
        """Up to ``limit`` amendments of the account's order from ``from_execution_id`` on, oldest first."""
        ...

    async def prevented_matches(
        self, account_id: int, symbol: str, query: PreventedMatchQuery
    ) -> list[PreventedMatchRecord]:
        """The account's prevented matches on ``symbol`` that ``query`` names, oldest first."""
        ...

    async def last_trade_before(self, symbol: str, before_ns: int) -> TradeEntry | None:
        """The latest trade of ``symbol`` before ``before_ns`` (the 24 h ticker's previous close)."""
        ...

    async def trade_seconds(self, since_ns: int) -> list[TradeSecond]:
        """Trades since ``since_ns`` aggregated per symbol and second, in time order: the 24 h ticker and
        the klines after a restart, bounded by seconds rather than by trades."""
        ...

    async def trade_candles(
        self, symbol: str, length_ms: int, shift_ms: int, since_ns: int, until_ns: int
    ) -> list[Candle]:
        """The trades of ``symbol`` in ``[since_ns, until_ns)`` as one candle per ``length_ms`` bucket
        that has any, oldest first; buckets start where ``(ts_ms + shift_ms)`` is a multiple of
        ``length_ms`` (Binance's ``klines``)."""
        ...

    async def orders(self, account_id: int) -> list[OrderRecord]: ...

    async def account_orders(self, query: HistoryQuery) -> list[OrderRecord]:
        """The account's orders on a symbol, active and closed (Binance's allOrders)."""
        ...

    async def account_trades(self, query: HistoryQuery) -> list[AccountTrade]:
        """The account's trades on a symbol, one per side it took (Binance's myTrades)."""
        ...

    async def closed_orders(self, symbol: str, limit: int) -> list[OrderRecord]:
        """The symbol's ``limit`` newest closed orders, in the order they closed: the book retains them
        across a restart as it did before it (status queries, client order ids still taken)."""
        ...

    async def create_account(self, name: str, created_ns: int) -> int: ...

    async def accounts(self) -> dict[str, int]: ...

    async def add_api_key(self, record: ApiKeyRecord) -> None: ...

    async def api_keys(self) -> list[ApiKeyRecord]: ...

    async def add_fix_session_settings(self, record: FixSessionRecord) -> None: ...

    async def fix_session_settings(self) -> list[FixSessionRecord]:
        """The operator-added FIX sessions, oldest first."""
        ...

    async def revoke_api_key(self, api_key: str) -> bool: ...

    async def load_fix_session(self, session_id: str) -> tuple[int, int] | None: ...

    async def save_fix_session(
        self,
        session_id: str,
        *,
        next_incoming_seq: int,
        next_outgoing_seq: int,
        sent_messages: list[tuple[int, bytes]],
    ) -> None: ...

    async def fetch_sent_messages(
        self, session_id: str, begin_seq: int, end_seq: int
    ) -> list[tuple[int, bytes]]: ...

    async def reset_fix_session(self, session_id: str, reset_ns: int = 0) -> None: ...

    async def fix_session_last_reset_ns(self, session_id: str) -> int: ...


# Rows <-> entries, shared by both backends -------------------------------------------------------

ENTRY_COLUMNS = ("sequence", "kind", "transfer_id", "hold_id", "account_id", "asset", "amount_minor", "ts_ns")
# Holds and releases are in ``ledger_holds`` (schema migration 10); older ones in ``ledger_entries``.
HOLD_COLUMNS = ("sequence", "kind", "hold_id", "account_id", "asset", "amount_minor")
# ``ledger_holds`` rows as ``ledger_entries`` rows (``entry_from_row``); a range condition follows.
HOLD_ENTRIES_SQL = (
    "SELECT sequence, kind, NULL AS transfer_id, hold_id, account_id, asset, amount_minor, 0 AS ts_ns "
    "FROM ledger_holds"
)
TRADE_COLUMNS = (
    "sequence",
    "symbol",
    "trade_id",
    "base",
    "quote",
    "price_minor",
    "quantity_minor",
    "quote_quantity_minor",
    "buyer_account_id",
    "seller_account_id",
    "buyer_order_id",
    "seller_order_id",
    "buyer_is_maker",
    "buyer_fee_minor",
    "seller_fee_minor",
    "ts_ns",
)


def entry_row(entry: TransferEntry) -> tuple:
    """A transfer's ``ledger_entries`` row (``ENTRY_COLUMNS``)."""
    return (
        entry.sequence,
        entry.kind.value,
        entry.transfer_id,
        None,
        entry.account_id,
        entry.asset,
        entry.amount_minor,
        entry.ts_ns,
    )


def hold_row(entry: HoldEntry) -> tuple:
    """A hold's or release's ``ledger_holds`` row (``HOLD_COLUMNS``)."""
    return (
        entry.sequence,
        entry.kind.value,
        entry.hold_id,
        entry.account_id,
        entry.asset,
        entry.amount_minor,
    )


def trade_row(entry: TradeEntry) -> tuple:
    return (
        entry.sequence,
        entry.symbol,
        entry.trade_id,
        entry.base,
        entry.quote,
        entry.price_minor,
        entry.quantity_minor,
        entry.quote_quantity_minor,
        entry.buyer_account_id,
        entry.seller_account_id,
        entry.buyer_order_id,
        entry.seller_order_id,
        entry.buyer_is_maker,
        entry.buyer_fee_minor,
        entry.seller_fee_minor,
        entry.ts_ns,
    )


def entry_from_row(row: tuple) -> TransferEntry | HoldEntry:
    sequence, kind, transfer_id, hold_id, account_id, asset, amount, ts_ns = row
    entry_kind = EntryKind(kind)
    if entry_kind in (EntryKind.HOLD, EntryKind.RELEASE):
        return HoldEntry(
            sequence=sequence,
            kind=entry_kind,
            hold_id=hold_id,
            account_id=account_id,
            asset=asset,
            amount_minor=amount,
        )
    return TransferEntry(
        sequence=sequence,
        kind=entry_kind,
        transfer_id=transfer_id,
        account_id=account_id,
        asset=asset,
        amount_minor=amount,
        ts_ns=ts_ns,
    )


def trade_from_row(row: tuple) -> TradeEntry:
    values = dict(zip(TRADE_COLUMNS, row, strict=True))
    values["buyer_is_maker"] = bool(values["buyer_is_maker"])
    return TradeEntry(**values)


def merge_journal(
    entries: list[TransferEntry | HoldEntry], trades: list[TradeEntry], holds: list[TransferEntry | HoldEntry]
) -> list[JournalEntry]:
    """The journal tables in one sequence order."""
    merged: list[JournalEntry] = [*entries, *holds, *trades]
    merged.sort(key=lambda entry: entry.sequence)
    return merged


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryQuery:
    """A page of an account's orders or trades on one symbol, oldest first: those from ``from_id`` on,
    or updated (orders) or executed (trades) within ``since_ns``..``until_ns`` (both inclusive), or with
    neither the newest ``limit``. ``order_id`` keeps only the trades of that order."""

    account_id: int
    symbol: str
    limit: int
    from_id: int | None = None
    since_ns: int | None = None
    until_ns: int | None = None
    order_id: int | None = None

    @property
    def newest_first(self) -> bool:
        return self.from_id is None and self.since_ns is None


class AccountTrade(NamedTuple):
    """A trade as one side of it saw it (a self-trade is two: the buyer's and the seller's)."""

    trade: TradeEntry
    is_buyer: bool


def _and_where(conditions: tuple[tuple[str, int | None], ...]) -> tuple[str, list]:
    """`` AND``-joined SQL of the conditions whose value is given, and those values."""
    given = [(condition, value) for condition, value in conditions if value is not None]
    return "".join(f" AND {condition}" for condition, _ in given), [value for _, value in given]


def account_orders_sql(query: HistoryQuery) -> tuple[str, list]:
    """The SQL (``?`` placeholders) and parameters of ``query`` over orders, on ``orders_by_account``."""
    where, values = _and_where(
        (
            ("order_id >= ?", query.from_id),
            ("updated_ns >= ?", query.since_ns),
            ("updated_ns <= ?", query.until_ns),
        )
    )
    direction = "DESC" if query.newest_first else "ASC"
    return (
        f"SELECT {', '.join(ORDER_COLUMNS)} FROM orders WHERE account_id = ? AND symbol = ?{where} "
        f"ORDER BY order_id {direction} LIMIT ?",
        [query.account_id, query.symbol, *values, query.limit],
    )


def account_trades_sql(query: HistoryQuery) -> tuple[str, list]:
    """The SQL (``?`` placeholders) and parameters of ``query`` over trades: each side from its own
    index (``trades_by_buyer``, ``trades_by_seller``), each cut to ``limit`` before they are merged."""
    direction = "DESC" if query.newest_first else "ASC"
    sides, parameters = [], []
    for side, is_buyer in (("buyer", 1), ("seller", 0)):
        where, values = _and_where(
            (
                (f"{side}_order_id = ?", query.order_id),
                ("trade_id >= ?", query.from_id),
                ("ts_ns >= ?", query.since_ns),
                ("ts_ns <= ?", query.until_ns),
            )
        )
        sides.append(
            f"SELECT * FROM (SELECT {', '.join(TRADE_COLUMNS)}, {is_buyer} AS is_buyer FROM trades "
            f"WHERE {side}_account_id = ? AND symbol = ?{where} ORDER BY trade_id {direction} LIMIT ?) "
            f"AS {side}_side"
        )
        parameters += [query.account_id, query.symbol, *values, query.limit]
    union = " UNION ALL ".join(sides)
    buyer_first = "ASC" if query.newest_first else "DESC"  # of a self-trade, once oldest first
    return (
        f"SELECT * FROM ({union}) AS sides ORDER BY trade_id {direction}, is_buyer {buyer_first} LIMIT ?",
        [*parameters, query.limit],
    )


def oldest_first(query: HistoryQuery, rows: list) -> list:
    return rows[::-1] if query.newest_first else rows


def account_trade_from_row(row: tuple) -> AccountTrade:
    return AccountTrade(trade_from_row(row[:-1]), bool(row[-1]))


class TradeSecond(NamedTuple):
    """The trades of one symbol in one second (``TRADE_SECONDS_SQL``)."""

    symbol: str
    second: int
    first_trade_id: int
    last_trade_id: int
    open_minor: int
    close_minor: int
    last_quantity_minor: int
    high_minor: int
    low_minor: int
    volume_minor: int
    quote_volume_minor: int
    taker_buy_volume_minor: int
    taker_buy_quote_volume_minor: int
    count: int


def trade_second(trade: TradeEntry) -> TradeSecond:
    """One trade as the second it happened in, alone."""
    taker_buy_minor, taker_buy_quote_minor = (
        (0, 0) if trade.buyer_is_maker else (trade.quantity_minor, trade.quote_quantity_minor)
    )
    price = trade.price_minor
    return TradeSecond(
        trade.symbol,
        trade.ts_ns // 10**9,
        trade.trade_id,
        trade.trade_id,
        price,
        price,
        trade.quantity_minor,
        price,
        price,
        trade.quantity_minor,
        trade.quote_quantity_minor,
        taker_buy_minor,
        taker_buy_quote_minor,
        1,
    )


def _trade_buckets_sql(bucket: str, where: str) -> str:
    """Portable SQL (``?`` placeholders, as the other shared builders): the trades ``where`` selects,
    aggregated per symbol and ``bucket`` (an integer expression of ``ts_ns``), with the price of each
    bucket's first and last trade, in time order."""
    return f"""
SELECT b.symbol, b.bucket, b.first_id, b.last_id, f.price_minor, l.price_minor, l.quantity_minor,
       b.high, b.low, b.volume, b.quote_volume, b.taker_volume, b.taker_quote_volume, b.n
FROM (SELECT symbol, {bucket} AS bucket, MIN(trade_id) AS first_id, MAX(trade_id) AS last_id,
             MAX(price_minor) AS high, MIN(price_minor) AS low,
             CAST(SUM(quantity_minor) AS BIGINT) AS volume,
             CAST(SUM(quote_quantity_minor) AS BIGINT) AS quote_volume,
             CAST(SUM(CASE WHEN buyer_is_maker THEN 0 ELSE quantity_minor END) AS BIGINT) AS taker_volume,
             CAST(SUM(CASE WHEN buyer_is_maker THEN 0 ELSE quote_quantity_minor END) AS BIGINT)
                 AS taker_quote_volume,
             COUNT(*) AS n
      FROM trades WHERE {where} GROUP BY symbol, bucket) b
JOIN trades f ON f.symbol = b.symbol AND f.trade_id = b.first_id
JOIN trades l ON l.symbol = b.symbol AND l.trade_id = b.last_id
ORDER BY b.symbol, b.bucket
"""


# Parameter: the first time (ns).
TRADE_SECONDS_SQL = _trade_buckets_sql("ts_ns / 1000000000", "ts_ns >= ?")
_TRADE_CANDLES_SQL = _trade_buckets_sql(
    "(ts_ns / 1000000 + CAST(? AS BIGINT)) / CAST(? AS BIGINT)", "symbol = ? AND ts_ns >= ? AND ts_ns < ?"
)


def trade_candles_sql(
    symbol: str, length_ms: int, shift_ms: int, since_ns: int, until_ns: int
) -> tuple[str, tuple]:
    """The SQL and parameters of ``Store.trade_candles``: a bucket is ``(ts_ms + shift_ms) / length_ms``
    and starts at bucket x length - shift (``candle_from_row``)."""
    return _TRADE_CANDLES_SQL, (shift_ms, length_ms, symbol, since_ns, until_ns)


def candle_from_row(row: tuple, length_ms: int, shift_ms: int) -> Candle:
    """A ``trade_candles_sql`` row as the candle of its bucket."""
    _, bucket, first_id, last_id, open_minor, close_minor, _, high, low, *volumes, count = row
    return Candle(
        bucket * length_ms - shift_ms, open_minor, high, low, close_minor, *volumes, count, first_id, last_id
    )


@dataclass(frozen=True, slots=True)
class PreventedMatchQuery:
    """One prevented match by id, or those of an order (as maker or taker) from an id on."""

    prevented_match_id: int | None = None
    order_id: int | None = None
    from_prevented_match_id: int = 0
    limit: int = 500


def prevented_matches_sql(account_id: int, symbol: str, query: PreventedMatchQuery) -> tuple[str, tuple]:
    """The SQL and parameters of ``query`` over the account's prevented matches on ``symbol``."""
    sql = (
        f"SELECT {', '.join(PREVENTED_MATCH_COLUMNS)} FROM prevented_matches "
        "WHERE (maker_account_id = ? OR taker_account_id = ?) AND symbol = ? "
    )
    if query.prevented_match_id is not None:
        return sql + "AND prevented_match_id = ?", (account_id, account_id, symbol, query.prevented_match_id)
    sql += (
        "AND (maker_order_id = ? OR taker_order_id = ?) AND prevented_match_id >= ? "
        "ORDER BY prevented_match_id LIMIT ?"
    )
    order_id, from_id = query.order_id, query.from_prevented_match_id
    return sql, (account_id, account_id, symbol, order_id, order_id, from_id, query.limit)


# Parameters: symbol, order id, account id, first execution id, limit.
ORDER_AMENDMENTS_SQL = (
    f"SELECT {', '.join(AMENDMENT_COLUMNS)} FROM order_amendments WHERE symbol = ? AND order_id = ? "
    "AND account_id = ? AND execution_id >= ? ORDER BY execution_id LIMIT ?"
)


def closed_in_order(records: list[OrderRecord]) -> list[OrderRecord]:
    """Closed orders in the order they closed (their last update), as a book retains them."""
    return sorted(records, key=lambda record: (record.updated_ns, record.order_id))


def order_from_row(row: tuple) -> OrderRecord:
    return OrderRecord._make(row)
