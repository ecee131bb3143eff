"""The production store: PostgreSQL through an asyncpg pool.

A commit is one statement (arrays per column, ``unnest``): one round trip, where a statement per
table cost one loop round trip each while the loop was busy trading. Every statement is
parameterised. ``schema`` selects a PostgreSQL schema (tests give each run its own).
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg

from book.reports import OrderAmendment
from book.trade_stats import Candle
from config.settings import StoreSettings
from ledger.journal import EntryKind, HoldEntry, JournalEntry, TradeEntry, TransferEntry
from ledger.schema import CHECKPOINT_SEQUENCE, MIGRATIONS, NEXT_ORDER_ID, SCHEMA_VERSION_TABLE
from ledger.store import (
    AMENDMENT_COLUMNS,
    CHECKPOINT_ACCOUNT_COLUMNS,
    CHECKPOINT_ACCOUNTS_SQL,
    CLOSED_ORDERS_SQL,
    ENTRY_COLUMNS,
    FIX_SESSION_RECORD_COLUMNS,
    HOLD_COLUMNS,
    HOLD_ENTRIES_SQL,
    LAST_SEQUENCE_SQL,
    NUMBERING_NEXT_ORDER_ID_SQL,
    NUMBERING_SQL,
    OPEN_ORDERS_SQL,
    ORDER_AMENDMENTS_SQL,
    ORDER_COLUMNS,
    PREVENTED_MATCH_COLUMNS,
    SEQUENCE_MAX,
    SYMBOL_STATUS_SQL,
    TIME_NS_MAX,
    TRADE_COLUMNS,
    TRADE_SECONDS_SQL,
    AccountTrade,
    ApiKeyRecord,
    BookNumbering,
    Checkpoint,
    CheckpointChanges,
    CommitBatch,
    FixSessionRecord,
    HistoryQuery,
    LoadedState,
    OrderRecord,
    PreventedMatchQuery,
    PreventedMatchRecord,
    StoreSnapshot,
    TradeSecond,
    account_orders_sql,
    account_trade_from_row,
    account_trades_sql,
    candle_from_row,
    closed_in_order,
    entry_from_row,
    entry_row,
    hold_row,
    merge_journal,
    oldest_first,
    order_from_row,
    prevented_matches_sql,
    trade_candles_sql,
    trade_from_row,
    trade_row,
)


def _numbered(sql: str) -> str:
    """``?`` placeholders (as the shared SQL builders write them) as PostgreSQL's ``$1, $2, ...``."""
    pieces = sql.split("?")
    return "".join(f"{piece}${number}" for number, piece in enumerate(pieces[:-1], 1)) + pieces[-1]


TYPE_NAMES = {"BIG": "BIGINT", "COUNTER": "NUMERIC", "BYTES": "BYTEA"}
_TEXT_COLUMNS = {
    "kind",
    "transfer_id",
    "asset",
    "symbol",
    "base",
    "quote",
    "client_order_id",
    "original_client_order_id",
    "side",
    "order_type",
    "time_in_force",
    "self_trade_prevention",
    "status",
    "commission_asset",
    "origin",
    "strategy",
    "name",
    "session_id",
}
_COLUMN_TYPES = {
    "buyer_is_maker": "boolean",
    "halted": "boolean",
    "message": "bytea",
    "credits_posted": "numeric",
    "debits_posted": "numeric",
} | {name: "text" for name in _TEXT_COLUMNS}
# (table, columns, conflict key or None for plain inserts), in the order of the commit's parameters.
_COMMIT_TABLES: tuple[tuple[str, tuple[str, ...], tuple[str, ...] | None], ...] = (
    ("ledger_entries", ENTRY_COLUMNS, None),
    ("ledger_holds", HOLD_COLUMNS, None),
    ("trades", TRADE_COLUMNS, None),
    ("orders", ORDER_COLUMNS, ("order_id",)),
    ("book_numbering", ("symbol", "sequence", "next_trade_id"), ("symbol",)),
    ("symbol_status", ("symbol", "halted"), ("symbol",)),
    ("order_amendments", AMENDMENT_COLUMNS, None),
    ("prevented_matches", PREVENTED_MATCH_COLUMNS, None),
    ("counters", ("name", "value"), ("name",)),
    ("fix_sessions", ("session_id", "next_incoming_seq", "next_outgoing_seq"), ("session_id",)),
    ("fix_messages", ("session_id", "seq", "message"), ("session_id", "seq")),
    (
        "checkpoint_accounts",
        CHECKPOINT_ACCOUNT_COLUMNS,
        ("account_id", "asset"),
    ),
    ("checkpoint_holds", ("hold_id", "account_id", "asset", "remaining_minor"), ("hold_id",)),
)


def _commit_statement() -> str:
    """One statement for a whole commit: an ``INSERT ... SELECT FROM unnest(arrays)`` per table as a
    data-modifying CTE, then the checkpoint's removed holds and the FIX frames past their sessions'
    retained windows. One round trip, and in autocommit one transaction; a table with nothing to write
    gets empty arrays."""
    parts = []
    parameter = 0
    for index, (table, columns, key) in enumerate(_COMMIT_TABLES):
        arrays = []
        for column in columns:
            parameter += 1
            arrays.append(f"${parameter}::{_COLUMN_TYPES.get(column, 'bigint')}[]")
        sql = f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM unnest({', '.join(arrays)})"
        if key is not None:
            updates = ", ".join(f"{column} = excluded.{column}" for column in columns if column not in key)
            sql += f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"
        parts.append(f"part{index} AS ({sql})")
    parts.append(f"gone AS (DELETE FROM checkpoint_holds WHERE hold_id = ANY(${parameter + 1}::bigint[]))")
    parts.append(
        "pruned AS (DELETE FROM fix_messages AS m "
        f"USING unnest(${parameter + 2}::text[], ${parameter + 3}::bigint[]) AS k(session_id, kept_from) "
        "WHERE m.session_id = k.session_id AND m.seq < k.kept_from)"
    )
    return f"WITH {', '.join(parts)} SELECT 1"


_COMMIT = _commit_statement()


def _columns(rows: list[tuple], width: int) -> list[list]:
    """Rows as one list per column (what ``unnest`` takes)."""
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """``StoreSnapshot`` over one connection's read-only transaction."""

    store: PostgresStore
    connection: asyncpg.Connection

    async def load(self) -> LoadedState:
        return await self.store._load(self.connection, journal_after_checkpoint=False)

    async def last_sequence(self) -> int:
        return await self.connection.fetchval(LAST_SEQUENCE_SQL)

    async def journal_range(self, after_sequence: int, until_sequence: int) -> list[JournalEntry]:
        return await self.store._journal(self.connection, after_sequence, until_sequence)


class PostgresStore:
    """``Store`` on PostgreSQL."""

    def __init__(self, settings: StoreSettings, *, schema: str = "public") -> None:
        if not schema.replace("_", "").isalnum():
            raise ValueError(f"schema name {schema!r} must be letters, digits and underscores")
        self._dsn = settings.postgres_dsn
        self._pool_size_max = settings.postgres_pool_size_max
        self._schema = schema
        self._pool: asyncpg.Pool | None = None

    @property
    def pool(self) -> asyncpg.Pool:
        assert self._pool is not None, "store is not open"
        return self._pool

    async def open(self) -> None:
        connection = await asyncpg.connect(self._dsn)
        try:
            await connection.execute(f'CREATE SCHEMA IF NOT EXISTS "{self._schema}"')
        finally:
            await connection.close()
        self._pool = await asyncpg.create_pool(
            self._dsn, min_size=1, max_size=self._pool_size_max, server_settings={"search_path": self._schema}
        )
        await self._migrate()

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def _migrate(self) -> None:
        async with self.pool.acquire() as connection, connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock(hashtext($1))", self._schema)
            await connection.execute(SCHEMA_VERSION_TABLE.format(**TYPE_NAMES))
            current = await connection.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_version")
            for version, statements in MIGRATIONS:
                if version <= current:
                    continue
                for statement in statements:
                    await connection.execute(statement.format(**TYPE_NAMES))
                await connection.execute(
                    "INSERT INTO schema_version (version, applied_ns) VALUES ($1, $2)",
                    version,
                    time.time_ns(),
                )

    async def _counter(self, connection: asyncpg.Connection, name: str, default: int) -> int:
        value = await connection.fetchval("SELECT value FROM counters WHERE name = $1", name)
        return default if value is None else value

    # Commit -------------------------------------------------------------------------------------

    async def commit(self, batch: CommitBatch, checkpoint: CheckpointChanges | None = None) -> None:
        """Write ``batch`` (and the checkpoint changes taken right after it) in one statement."""
        counters = [] if batch.next_order_id is None else [(NEXT_ORDER_ID, batch.next_order_id)]
        accounts: list[tuple] = []
        holds: list[tuple] = []
        gone: list[int] = []
        if checkpoint is not None:
            counters.append((CHECKPOINT_SEQUENCE, checkpoint.sequence))
            accounts = [(owner, asset, *values) for (owner, asset), values in checkpoint.accounts.items()]
            for hold_id, hold in checkpoint.holds.items():
                if hold is None:
                    gone.append(hold_id)
                else:
                    holds.append((hold_id, *hold))
        # A frame resent under the same number replaces the earlier one (one row per key per statement).
        messages = {(sid, seq): frame for sid, seq, frame in batch.fix_messages}
        tables = (
            [entry_row(e) for e in batch.journal if type(e) is TransferEntry],
            [hold_row(e) for e in batch.journal if type(e) is HoldEntry],
            [trade_row(e) for e in batch.journal if type(e) is TradeEntry],
            list(batch.orders.values()),
            list(batch.numbering.values()),
            list(batch.symbol_halted.items()),
            batch.amendments,
            batch.prevented_matches,
            counters,
            [(sid, seqs[0], seqs[1]) for sid, seqs in batch.fix_sessions.items()],
            [(sid, seq, frame) for (sid, seq), frame in messages.items()],
            accounts,
            holds,
        )
        arguments = []
        for rows, (_, columns, _) in zip(tables, _COMMIT_TABLES, strict=True):
            arguments += _columns(rows, len(columns))
        async with self.pool.acquire() as connection:
            kept_from = batch.fix_messages_kept_from
            await connection.execute(_COMMIT, *arguments, gone, list(kept_from), list(kept_from.values()))

    # Load ---------------------------------------------------------------------------------------

    async def load(self) -> LoadedState:
        async with self.pool.acquire() as connection, connection.transaction(isolation="repeatable_read"):
            return await self._load(connection)

    async def _load(
        self, connection: asyncpg.Connection, *, journal_after_checkpoint: bool = True
    ) -> LoadedState:
        sequence = await self._counter(connection, CHECKPOINT_SEQUENCE, 0)
        accounts = {
            (row[0], row[1]): (int(row[2]), int(row[3]), row[4], row[5])
            for row in await connection.fetch(CHECKPOINT_ACCOUNTS_SQL)
        }
        holds = {
            row[0]: (row[1], row[2], row[3])
            for row in await connection.fetch("SELECT * FROM checkpoint_holds")
        }
        transfer_rows = await connection.fetch(
            f"SELECT {', '.join(ENTRY_COLUMNS)} FROM ledger_entries WHERE kind = ANY($1::text[]) "
            "ORDER BY sequence",
            [EntryKind.DEPOSIT.value, EntryKind.WITHDRAWAL.value],
        )
        order_rows = await connection.fetch(OPEN_ORDERS_SQL)
        numbering_rows = await connection.fetch(NUMBERING_SQL)
        status_rows = await connection.fetch(SYMBOL_STATUS_SQL)
        account_rows = await connection.fetch("SELECT account_id, name FROM accounts")
        transfers = [entry_from_row(tuple(row)) for row in transfer_rows]
        return LoadedState(
            checkpoint=Checkpoint(sequence, accounts, holds),
            journal_after_checkpoint=(
                await self._journal(connection, sequence) if journal_after_checkpoint else []
            ),
            transfers=[t for t in transfers if type(t) is TransferEntry],
            open_orders=[order_from_row(tuple(row)) for row in order_rows],
            numbering={row[0]: BookNumbering(*row) for row in numbering_rows},
            symbol_halted={row[0]: row[1] for row in status_rows},
            # This store keeps it in its counter; the numbering rows' (schema migration 9) stay 0 here.
            next_order_id=max(
                await self._counter(connection, NEXT_ORDER_ID, 1),
                await connection.fetchval(NUMBERING_NEXT_ORDER_ID_SQL),
            ),
            accounts={name: account_id for account_id, name in account_rows},
        )

    async def _journal(
        self, connection: asyncpg.Connection, after_sequence: int, until_sequence: int = SEQUENCE_MAX
    ) -> list[JournalEntry]:
        """Entries and trades with ``after_sequence < sequence <= until_sequence``, in sequence order."""
        range_sql = "WHERE sequence > $1 AND sequence <= $2 ORDER BY sequence"
        entries = await connection.fetch(
            f"SELECT {', '.join(ENTRY_COLUMNS)} FROM ledger_entries {range_sql}",
            after_sequence,
            until_sequence,
        )
        holds = await connection.fetch(f"{HOLD_ENTRIES_SQL} {range_sql}", after_sequence, until_sequence)
        trades = await connection.fetch(
            f"SELECT {', '.join(TRADE_COLUMNS)} FROM trades {range_sql}", after_sequence, until_sequence
        )
        return merge_journal(
            [entry_from_row(tuple(row)) for row in entries],
            [trade_from_row(tuple(row)) for row in trades],
            [entry_from_row(tuple(row)) for row in holds],
        )

    async def journal(self, after_sequence: int = 0) -> list[JournalEntry]:
        async with self.pool.acquire() as connection, connection.transaction(isolation="repeatable_read"):
            return await self._journal(connection, after_sequence)

    @contextlib.asynccontextmanager
    async def snapshot(self) -> AsyncIterator[StoreSnapshot]:
        """One read-only repeatable-read transaction: every read sees the same moment, commits go on."""
        async with (
            self.pool.acquire() as connection,
            connection.transaction(isolation="repeatable_read", readonly=True),
        ):
            yield _Snapshot(self, connection)

    async def trades(
        self,
        since_ns: int,
        until_ns: int,
        symbol: str | None = None,
        *,
        after: tuple[int, int] | None = None,
        limit: int | None = None,
    ) -> list[TradeEntry]:
        after_ts_ns, after_sequence = after if after is not None else (since_ns, 0)
        rows = await self.pool.fetch(
            f"SELECT {', '.join(TRADE_COLUMNS)} FROM trades WHERE ts_ns >= $1 AND ts_ns < $2 "
            "AND ($3::text IS NULL OR symbol = $3) "
            "AND (ts_ns > $4 OR (ts_ns = $4 AND sequence > $5)) ORDER BY ts_ns, sequence LIMIT $6",
            since_ns,
            until_ns,
            symbol,
            after_ts_ns,
            after_sequence,
            limit,
        )
        return [trade_from_row(tuple(row)) for row in rows]

    async def order_amendments(
        self, account_id: int, symbol: str, order_id: int, from_execution_id: int, limit: int
    ) -> list[OrderAmendment]:
        rows = await self.pool.fetch(
            _numbered(ORDER_AMENDMENTS_SQL), symbol, order_id, account_id, from_execution_id, limit
        )
        return [OrderAmendment(*row) for row in rows]

    async def prevented_matches(
        self, account_id: int, symbol: str, query: PreventedMatchQuery
    ) -> list[PreventedMatchRecord]:
        sql, parameters = prevented_matches_sql(account_id, symbol, query)
        rows = await self.pool.fetch(_numbered(sql), *parameters)
        return [PreventedMatchRecord(*row) for row in rows]

    async def latest_trades(self, symbol: str, limit: int, before_ns: int | None = None) -> list[TradeEntry]:
        rows = await self.pool.fetch(
            f"SELECT {', '.join(TRADE_COLUMNS)} FROM trades WHERE symbol = $1 AND ts_ns < $2 "
            "ORDER BY sequence DESC LIMIT $3",
            symbol,
            TIME_NS_MAX if before_ns is None else before_ns,
            limit,
        )
        return [trade_from_row(tuple(row)) for row in reversed(rows)]

    async def trades_from_id(self, symbol: str, from_trade_id: int, limit: int) -> list[TradeEntry]:
        rows = await self.pool.fetch(
            f"SELECT {', '.join(TRADE_COLUMNS)} FROM trades WHERE symbol = $1 AND trade_id >= $2 "
            "ORDER BY trade_id LIMIT $3",
            symbol,
            from_trade_id,
            limit,
        )
        return [trade_from_row(tuple(row)) for row in rows]

    async def last_trade_before(self, symbol: str, before_ns: int) -> TradeEntry | None:
        row = await self.pool.fetchrow(
            f"SELECT {', '.join(TRADE_COLUMNS)} FROM trades WHERE symbol = $1 AND ts_ns < $2 "
            "ORDER BY sequence DESC LIMIT 1",
            symbol,
            before_ns,
        )
        return trade_from_row(tuple(row)) if row is not None else None

    async def trade_seconds(self, since_ns: int) -> list[TradeSecond]:
        rows = await self.pool.fetch(_numbered(TRADE_SECONDS_SQL), since_ns)
        return [TradeSecond(*row) for row in rows]

    async def trade_candles(
        self, symbol: str, length_ms: int, shift_ms: int, since_ns: int, until_ns: int
    ) -> list[Candle]:
        sql, parameters = trade_candles_sql(symbol, length_ms, shift_ms, since_ns, until_ns)
        rows = await self.pool.fetch(_numbered(sql), *parameters)
        return [candle_from_row(tuple(row), length_ms, shift_ms) for row in rows]

    async def orders(self, account_id: int) -> list[OrderRecord]:
        rows = await self.pool.fetch(
            f"SELECT {', '.join(ORDER_COLUMNS)} FROM orders WHERE account_id = $1 ORDER BY order_id",
            account_id,
        )
        return [order_from_row(tuple(row)) for row in rows]

    async def account_orders(self, query: HistoryQuery) -> list[OrderRecord]:
        sql, parameters = account_orders_sql(query)
        rows = await self.pool.fetch(_numbered(sql), *parameters)
        return oldest_first(query, [order_from_row(tuple(row)) for row in rows])

    async def account_trades(self, query: HistoryQuery) -> list[AccountTrade]:
        sql, parameters = account_trades_sql(query)
        rows = await self.pool.fetch(_numbered(sql), *parameters)
        return oldest_first(query, [account_trade_from_row(tuple(row)) for row in rows])

    async def closed_orders(self, symbol: str, limit: int) -> list[OrderRecord]:
        rows = await self.pool.fetch(_numbered(CLOSED_ORDERS_SQL), symbol, limit)
        return closed_in_order([order_from_row(tuple(row)) for row in rows])

    # Accounts and API keys ----------------------------------------------------------------------

    async def create_account(self, name: str, created_ns: int) -> int:
        async with self.pool.acquire() as connection, connection.transaction():
            await connection.execute("LOCK TABLE accounts IN SHARE ROW EXCLUSIVE MODE")
            account_id = await connection.fetchval("SELECT COALESCE(MAX(account_id), 0) + 1 FROM accounts")
            await connection.execute(
                "INSERT INTO accounts (account_id, name, created_ns) VALUES ($1, $2, $3)",
                account_id,
                name,
                created_ns,
            )
        return account_id

    async def accounts(self) -> dict[str, int]:
        rows = await self.pool.fetch("SELECT account_id, name FROM accounts")
        return {name: account_id for account_id, name in rows}

    async def add_api_key(self, record: ApiKeyRecord) -> None:
        await self.pool.execute(
            "INSERT INTO api_keys (api_key, account_id, key_type, secret, public_key_pem, permissions, "
            "revoked) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7)",
            record.api_key,
            record.account_id,
            record.key_type,
            record.secret,
            record.public_key_pem,
            record.permissions,
            record.revoked,
        )

    async def api_keys(self) -> list[ApiKeyRecord]:
        rows = await self.pool.fetch(
            "SELECT api_key, account_id, key_type, secret, public_key_pem, permissions, revoked "
            "FROM api_keys "
            "ORDER BY api_key"
        )
        return [ApiKeyRecord(*row) for row in rows]

    async def add_fix_session_settings(self, record: FixSessionRecord) -> None:
        columns = FIX_SESSION_RECORD_COLUMNS
        await self.pool.execute(
            f"INSERT INTO fix_session_settings ({', '.join(columns)}) "
            f"VALUES ({', '.join(f'${index}' for index in range(1, len(columns) + 1))})",
            *dataclasses.astuple(record),
        )

    async def fix_session_settings(self) -> list[FixSessionRecord]:
        rows = await self.pool.fetch(
            f"SELECT {', '.join(FIX_SESSION_RECORD_COLUMNS)} FROM fix_session_settings ORDER BY created_ns"
        )
        return [FixSessionRecord(*row) for row in rows]

    async def revoke_api_key(self, api_key: str) -> bool:
        status = await self.pool.execute("UPDATE api_keys SET revoked = TRUE WHERE api_key = $1", api_key)
        return status == "UPDATE 1"

    # FIX session store --------------------------------------------------------------------------

    async def load_fix_session(self, session_id: str) -> tuple[int, int] | None:
        row = await self.pool.fetchrow(
            "SELECT next_incoming_seq, next_outgoing_seq FROM fix_sessions WHERE session_id = $1", session_id
        )
        return None if row is None else (row[0], row[1])

    async def save_fix_session(
        self,
        session_id: str,
        *,
        next_incoming_seq: int,
        next_outgoing_seq: int,
        sent_messages: list[tuple[int, bytes]],
    ) -> None:
        await self.commit(
            CommitBatch(
                fix_sessions={session_id: (next_incoming_seq, next_outgoing_seq)},
                fix_messages=[(session_id, seq, message) for seq, message in sent_messages],
            )
        )

    async def fetch_sent_messages(
        self, session_id: str, begin_seq: int, end_seq: int
    ) -> list[tuple[int, bytes]]:
        rows = await self.pool.fetch(
            "SELECT seq, message FROM fix_messages "
            "WHERE session_id = $1 AND seq >= $2 AND seq <= $3 ORDER BY seq",
            session_id,
            begin_seq,
            end_seq,
        )
        return [(row[0], bytes(row[1])) for row in rows]

    async def reset_fix_session(self, session_id: str, reset_ns: int = 0) -> None:
        """Start the session over at 1/1 and forget its frames; ``reset_ns`` records when (daily resets)."""
        async with self.pool.acquire() as connection, connection.transaction():
            await connection.execute("DELETE FROM fix_messages WHERE session_id = $1", session_id)
            await connection.execute(
                "INSERT INTO fix_sessions (session_id, next_incoming_seq, next_outgoing_seq, last_reset_ns) "
                "VALUES ($1, 1, 1, $2) "
                "ON CONFLICT (session_id) DO UPDATE SET next_incoming_seq = 1, next_outgoing_seq = 1, "
                "last_reset_ns = $2",
                session_id,
                reset_ns,
            )

    async def fix_session_last_reset_ns(self, session_id: str) -> int:
        value = await self.pool.fetchval(
            "SELECT last_reset_ns FROM fix_sessions WHERE session_id = $1", session_id
        )
        return value or 0
