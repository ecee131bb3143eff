"""The embedded store: SQLite in WAL mode through aiosqlite.

``synchronous`` comes from the settings (FULL by default: a commit survives power loss, not only a
process crash). Transactions are explicit (``BEGIN IMMEDIATE`` ... ``COMMIT``); every statement is
parameterised.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

import aiosqlite
import structlog

from book.reports import OrderAmendment
from book.trade_stats import Candle
from config.settings import StoreSettings
from ledger.journal import EntryKind, HoldEntry, JournalEntry, TradeEntry, TransferEntry
from ledger.schema import (
    CHECKPOINT_SEQUENCE,
    MIGRATIONS,
    NEXT_ORDER_ID,
    SCHEMA_VERSION_TABLE,
)
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
    ORDER_IDENTITY_COLUMNS,
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
    merge_journal,
    oldest_first,
    order_from_row,
    prevented_matches_sql,
    trade_candles_sql,
    trade_from_row,
    trade_row,
)

log = structlog.get_logger("ledger.sqlite_store")
SYNCHRONOUS_MODES = ("OFF", "NORMAL", "FULL", "EXTRA")
# The write-ahead log is copied into the database file by a connection of its own this often, off the
# commit path (``_checkpoint_wal_every``).
WAL_CHECKPOINT_INTERVAL_S = 0.5
# Past this many log pages (4 KiB each) that connection copies the log to its end with commits held, so
# the next commit starts the log over: the bound on the log.
WAL_RESTART_PAGES = 10_000
# ... if the pass without the lock left at most this many to copy: more means a reader's snapshot (an
# export, say) holds the log, and holding commits would not let the copy finish.
WAL_RESTART_REMAINDER_PAGES_MAX = 2_000
# Past this many a commit copies what that connection has not yet copied itself, as SQLite does at 1,000
# by default: the bound if that connection is gone.
WAL_AUTOCHECKPOINT_PAGES = 40_000
PAGE_CACHE_KIB = 65_536
# A commit of this many orders or more, or with a ledger checkpoint (the balances and holds changed
# since the last), syncs on aiosqlite's thread while the loop trades on; a smaller one syncs on the loop
# thread, which waits (0.5-2.5 ms). Handing the GIL to the thread and back costs about 8 futex calls a
# commit, more than the wait in small commits: at 5,000 orders/s (12-19 orders a commit, p99 under 100)
# all on the thread cost 212-215 us of CPU per order against 183-185 us, ack p99 78-91 ms against
# 30-64 ms. The closed loop's commits (p50 about 200 orders) overlap their sync with the next turns'
# work: 8,979 orders/s on average against 8,636 all on the loop thread.
COMMIT_ON_THREAD_ORDERS_MIN = 128
# A sync on the loop thread that took this long sends every commit of the next ``SLOW_SYNC_THREAD_S`` to
# aiosqlite's thread: a disk that stalled once may stall again, and on the loop thread a stall stops every
# session (their heartbeats and ``/healthz`` too), not only the acks waiting for it. A persistently slow
# disk so holds the loop once per period. Here a sync takes 0.2-3 ms.
SLOW_SYNC_S = 0.020
SLOW_SYNC_THREAD_S = 10.0
TYPE_NAMES = {"BIG": "INTEGER", "COUNTER": "TEXT", "BYTES": "BLOB"}
# SQLite's smallest limit on parameters per statement (SQLITE_MAX_VARIABLE_NUMBER before 3.32).
_PARAMETERS_MAX = 999
_ACCOUNTS_SQL = "SELECT account_id, name FROM accounts"


class _ManyRows:
    """A statement over many rows at once: ``head``, then ``group`` once per row (joined by
    ``separator``), then ``tail``.

    Python's sqlite3 gives up the GIL around every step and takes it back, and binds and steps a
    statement per call: ``executemany`` does that once per row, this once per chunk of rows. Chunks
    are powers of two, so few statement texts are ever prepared; they are built once, here, since
    most commits carry one row or a few per statement.
    """

    __slots__ = ("_texts", "group", "one_row_sql")

    def __init__(self, head: str, group: str, tail: str = "", separator: str = ", ") -> None:
        self.group = group
        rows_max = _PARAMETERS_MAX // group.count("?")
        # ``_texts[k]`` is the statement over 2**k rows.
        self._texts = [
            f"{head}{separator.join([group] * (1 << k))}{tail}" for k in range(rows_max.bit_length())
        ]
        self.one_row_sql = self._texts[0]

    def chunks(self, rows: list[tuple]) -> Iterator[tuple[str, tuple | list]]:
        """(sql, parameters) for each chunk of ``rows``; a chunk of one row is that row as a tuple."""
        k_max = len(self._texts) - 1
        start = 0
        while start < len(rows):
            k = min(k_max, (len(rows) - start).bit_length() - 1)
            if k == 0:
                yield self.one_row_sql, tuple(rows[start])
            else:
                yield self._texts[k], list(chain.from_iterable(rows[start : start + (1 << k)]))
            start += 1 << k


def _insert(
    table: str, columns: tuple[str, ...], key: tuple[str, ...] = (), fixed: tuple[str, ...] = ()
) -> _ManyRows:
    """Insert rows of ``columns``; with ``key``, a row whose key exists replaces the other columns but
    ``fixed`` ones: columns a row never changes, so no index over them alone is rewritten (SQLite updates
    every index that has a column of the SET list, even to the value it held)."""
    tail = ""
    if key:
        kept = set(key) | set(fixed)
        updates = ", ".join(f"{column} = excluded.{column}" for column in columns if column not in kept)
        tail = f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"
    return _ManyRows(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ", f"({', '.join('?' * len(columns))})", tail
    )


# A journal entry's row leaves out the column its kind has no value for (NULL by default): sqlite3 binds
# an exact int, float, str or bytearray at once, and first looks anything else (None, bool, bytes) up
# among its adapters, about 0.5 us a value here (a failed attribute lookup that formats its error).
_INSERT_HOLD_ENTRY = _insert("ledger_holds", HOLD_COLUMNS)
_INSERT_TRANSFER_ENTRY = _insert(
    "ledger_entries", ("sequence", "kind", "transfer_id", "account_id", "asset", "amount_minor", "ts_ns")
)
_INSERT_TRADE = _insert("trades", TRADE_COLUMNS)
# ``orders_by_account`` (account_id, symbol, order_id) is then left alone when an order's state changes.
_UPSERT_ORDER = _insert("orders", ORDER_COLUMNS, ("order_id",), ORDER_IDENTITY_COLUMNS)
# A book's numbering with the exchange's next order id as of that turn (0: none recorded since the last
# one): a row keeps the larger, so the largest of all rows is the latest (schema migration 9).
_UPSERT_NUMBERING = _ManyRows(
    "INSERT INTO book_numbering (symbol, sequence, next_trade_id, next_order_id) VALUES ",
    "(?, ?, ?, ?)",
    " ON CONFLICT (symbol) DO UPDATE SET sequence = excluded.sequence, "
    "next_trade_id = excluded.next_trade_id, "
    "next_order_id = MAX(book_numbering.next_order_id, excluded.next_order_id)",
)
_INSERT_AMENDMENT = _insert("order_amendments", AMENDMENT_COLUMNS)
_INSERT_PREVENTED_MATCH = _insert("prevented_matches", PREVENTED_MATCH_COLUMNS)
_UPSERT_SYMBOL_STATUS = _insert("symbol_status", ("symbol", "halted"), ("symbol",))
_SET_COUNTER = _insert("counters", ("name", "value"), ("name",))
_UPSERT_FIX_SESSION = _insert(
    "fix_sessions", ("session_id", "next_incoming_seq", "next_outgoing_seq"), ("session_id",)
)
_UPSERT_FIX_MESSAGE = _insert("fix_messages", ("session_id", "seq", "message"), ("session_id", "seq"))
# Each term is a range of the primary key, so SQLite deletes through the index, not by a scan.
_PRUNE_FIX_MESSAGES = _ManyRows("DELETE FROM fix_messages WHERE ", "(session_id = ? AND seq < ?)", "", " OR ")
_UPSERT_CHECKPOINT_ACCOUNT = _insert(
    "checkpoint_accounts",
    CHECKPOINT_ACCOUNT_COLUMNS,
    ("account_id", "asset"),
)
_UPSERT_CHECKPOINT_HOLD = _insert(
    "checkpoint_holds", ("hold_id", "account_id", "asset", "remaining_minor"), ("hold_id",)
)
_INSERT_FIX_SESSION_SETTINGS = (
    f"INSERT INTO fix_session_settings ({', '.join(FIX_SESSION_RECORD_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(FIX_SESSION_RECORD_COLUMNS))})"
)
_FIX_SESSION_SETTINGS_SQL = (
    f"SELECT {', '.join(FIX_SESSION_RECORD_COLUMNS)} FROM fix_session_settings ORDER BY created_ns"
)
_DELETE_CHECKPOINT_HOLDS = _ManyRows("DELETE FROM checkpoint_holds WHERE hold_id IN (", "?", ")")


def _journal_rows(journal: list[JournalEntry]) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """The rows of the journal's holds and releases, transfers and trades, in one pass.

    ``_value_`` is ``kind.value`` without the call of the Python-level ``Enum.value`` property.
    """
    holds: list[tuple] = []
    transfers: list[tuple] = []
    trades: list[tuple] = []
    for entry in journal:
        if type(entry) is HoldEntry:
            holds.append(
                (
                    entry.sequence,
                    entry.kind._value_,
                    entry.hold_id,
                    entry.account_id,
                    entry.asset,
                    entry.amount_minor,
                )
            )
        elif type(entry) is TradeEntry:
            trades.append(trade_row(entry))
        else:
            transfers.append(
                (
                    entry.sequence,
                    entry.kind._value_,
                    entry.transfer_id,
                    entry.account_id,
                    entry.asset,
                    entry.amount_minor,
                    entry.ts_ns,
                )
            )
    return holds, transfers, trades


def _write_statements(cursor: sqlite3.Cursor, statements: list[tuple[_ManyRows, list]]) -> None:
    """Open the transaction and run its statements here, on the loop thread (the store's lock is held).

    Python's sqlite3 gives up the GIL around every step and then waits to win it back; on aiosqlite's
    thread that wait lasts until the busy loop thread next gives the GIL up, so a commit of ten
    statements took 2.3 ms (p50, 5,000 orders/s) for 0.4 ms of SQLite's work.

    Most statements of a small commit carry one row: such a statement runs without a generator, its
    row as an exact tuple, since sqlite3 reads a subclass's items (``OrderRecord``'s) one
    ``__getitem__`` call at a time, about 0.8 k instructions each.
    """
    cursor.execute("BEGIN IMMEDIATE")
    try:
        for statement, rows in statements:
            if len(rows) == 1:
                cursor.execute(statement.one_row_sql, tuple(rows[0]))
            else:
                for sql, parameters in statement.chunks(rows):
                    cursor.execute(sql, parameters)
    except BaseException:
        if cursor.connection.in_transaction:  # some errors (a full disk, say) end it themselves
            cursor.execute("ROLLBACK")
        raise


def _commit(cursor: sqlite3.Cursor) -> None:
    """The COMMIT, which writes the log and syncs it to disk; a failed one is rolled back if still open."""
    try:
        cursor.execute("COMMIT")
    except BaseException:
        if cursor.connection.in_transaction:
            cursor.execute("ROLLBACK")
        raise


_Fetch = Callable[..., Awaitable[list[tuple]]]


async def _load(fetch: _Fetch, *, journal_after_checkpoint: bool = True) -> LoadedState:
    sequence = await _counter(fetch, CHECKPOINT_SEQUENCE, 0)
    accounts = {
        (row[0], row[1]): (int(row[2]), int(row[3]), row[4], row[5])
        for row in await fetch(CHECKPOINT_ACCOUNTS_SQL)
    }
    holds = {row[0]: (row[1], row[2], row[3]) for row in await fetch("SELECT * FROM checkpoint_holds")}
    transfers = [
        entry_from_row(row)
        for row in await fetch(
            f"SELECT {', '.join(ENTRY_COLUMNS)} FROM ledger_entries WHERE kind IN (?, ?) ORDER BY sequence",
            (EntryKind.DEPOSIT.value, EntryKind.WITHDRAWAL.value),
        )
    ]
    open_orders = [order_from_row(row) for row in await fetch(OPEN_ORDERS_SQL)]
    numbering = {row[0]: BookNumbering(*row) for row in await fetch(NUMBERING_SQL)}
    return LoadedState(
        checkpoint=Checkpoint(sequence, accounts, holds),
        journal_after_checkpoint=await _journal(fetch, sequence) if journal_after_checkpoint else [],
        transfers=[t for t in transfers if type(t) is TransferEntry],
        open_orders=open_orders,
        numbering=numbering,
        symbol_halted={symbol: bool(halted) for symbol, halted in await fetch(SYMBOL_STATUS_SQL)},
        next_order_id=max(
            await _counter(fetch, NEXT_ORDER_ID, 1), (await fetch(NUMBERING_NEXT_ORDER_ID_SQL))[0][0]
        ),
        accounts={name: account_id for account_id, name in await fetch(_ACCOUNTS_SQL)},
    )


async def _journal(
    fetch: _Fetch, after_sequence: int, until_sequence: int = SEQUENCE_MAX
) -> list[JournalEntry]:
    """Entries and trades with ``after_sequence < sequence <= until_sequence``, in sequence order."""
    bounds = (after_sequence, until_sequence)
    range_sql = "WHERE sequence > ? AND sequence <= ? ORDER BY sequence"
    entries = await fetch(f"SELECT {', '.join(ENTRY_COLUMNS)} FROM ledger_entries {range_sql}", bounds)
    holds = await fetch(f"{HOLD_ENTRIES_SQL} {range_sql}", bounds)
    trades = await fetch(f"SELECT {', '.join(TRADE_COLUMNS)} FROM trades {range_sql}", bounds)
    return merge_journal(
        [entry_from_row(row) for row in entries],
        [trade_from_row(row) for row in trades],
        [entry_from_row(row) for row in holds],
    )


async def _counter(fetch: _Fetch, name: str, default: int) -> int:
    rows = await fetch("SELECT value FROM counters WHERE name = ?", (name,))
    return rows[0][0] if rows else default


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """``StoreSnapshot`` over one read transaction."""

    fetch: _Fetch

    async def load(self) -> LoadedState:
        return await _load(self.fetch, journal_after_checkpoint=False)

    async def last_sequence(self) -> int:
        rows = await self.fetch(LAST_SEQUENCE_SQL)
        return rows[0][0]

    async def journal_range(self, after_sequence: int, until_sequence: int) -> list[JournalEntry]:
        return await _journal(self.fetch, after_sequence, until_sequence)


class SqliteStore:
    """``Store`` on one SQLite file; one connection, one writer."""

    def __init__(self, settings: StoreSettings) -> None:
        if settings.sqlite_synchronous not in SYNCHRONOUS_MODES:
            raise ValueError(f"store.sqlite_synchronous must be one of {SYNCHRONOUS_MODES}")
        self._path = settings.sqlite_path
        self._synchronous = settings.sqlite_synchronous
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._checkpointer: asyncio.Task[None] | None = None
        # Commits run on a cursor of their own, made once (``execute`` makes and frees one per call).
        self._write_cursor: sqlite3.Cursor | None = None
        # Aggregations over many trades (``trade_candles``) read on a connection of their own, opened when
        # first needed: WAL lets them run while the writer commits, and they never hold its lock.
        self._reader: aiosqlite.Connection | None = None
        self._reader_opening = asyncio.Lock()
        self._sync_on_thread_until_s = 0.0  # monotonic time; see SLOW_SYNC_S

    @property
    def db(self) -> aiosqlite.Connection:
        assert self._db is not None, "store is not open"
        return self._db

    async def open(self) -> None:
        Path(self._path).parent.mkdir(parents=True, exist_ok=True)
        # The loop thread runs a commit's statements itself (``_write_statements``), always under the lock.
        self._db = await aiosqlite.connect(self._path, isolation_level=None, check_same_thread=False)
        await self.db.execute("PRAGMA journal_mode = WAL")
        await self.db.execute(f"PRAGMA synchronous = {self._synchronous}")
        await self.db.execute("PRAGMA foreign_keys = ON")
        await self.db.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
        # A multi-row upsert inside a transaction keeps a statement journal to undo itself alone; in a
        # file, that was a temporary file created, written and deleted on the loop thread, some 2,400
        # system calls a second at 4,000 orders/s (strace).
        await self.db.execute("PRAGMA temp_store = MEMORY")
        # The pages a commit's statements descend through stay in memory (SQLite's default is 2 MiB): a
        # page read from the file is a system call on the loop thread.
        await self.db.execute(f"PRAGMA cache_size = -{PAGE_CACHE_KIB}")
        await self._migrate()
        self._write_cursor = self.db._conn.cursor()
        self._checkpointer = asyncio.get_running_loop().create_task(self._checkpoint_wal_every())

    async def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpointer
            self._checkpointer = None
        self._write_cursor = None
        if self._reader is not None:
            await self._reader.close()
            self._reader = None
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def _checkpoint_wal_every(self) -> None:
        """Copy the committed log into the database file on a connection and thread of its own.

        Left to SQLite, the commit that took the log past 1,000 pages copied the whole log and synced
        the database file before it completed, so that commit and every one queued behind it waited
        (p99 of a commit 15.8 ms against 7.8 ms without, measured here). A PASSIVE checkpoint never
        waits for the writer and the writer never waits for it.

        Under steady commits such a pass never reaches the end of the log (commits go on meanwhile), and
        the log starts over only after one that does. So once the log is long a second pass runs with
        the store's lock held: it copies what came during the first and syncs the database file while
        commits wait (8-15 ms), but the loop goes on. Left to the writer's own checkpoint at 10,000
        pages, that copy and sync ran in a COMMIT on the loop thread, about once a second at 5,000
        orders/s, and held the whole loop. While a reader's snapshot keeps part of the log from being
        copied, that second pass is left out: it could not finish, and commits would wait for nothing.
        """
        try:
            connection = await aiosqlite.connect(self._path, isolation_level=None)
        except sqlite3.Error as error:
            log.warning("no wal checkpoint connection; commits will copy the log", error=repr(error))
            return
        try:
            while True:
                await asyncio.sleep(WAL_CHECKPOINT_INTERVAL_S)
                try:
                    async with connection.execute("PRAGMA wal_checkpoint(PASSIVE)") as cursor:
                        _, log_pages, copied_pages = await cursor.fetchone()
                    remainder_pages = log_pages - copied_pages
                    if log_pages >= WAL_RESTART_PAGES and remainder_pages <= WAL_RESTART_REMAINDER_PAGES_MAX:
                        async with self._lock:
                            await connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error as error:
                    log.warning("wal checkpoint failed; commits will copy the log", error=repr(error))
        finally:
            await connection.close()

    async def _migrate(self) -> None:
        await self.db.execute(SCHEMA_VERSION_TABLE.format(**TYPE_NAMES))
        async with self.db.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version") as cursor:
            (current,) = await cursor.fetchone()
        for version, statements in MIGRATIONS:
            if version <= current:
                continue
            async with self._transaction() as db:
                for statement in statements:
                    await db.execute(statement.format(**TYPE_NAMES))
                await db.execute(
                    "INSERT INTO schema_version (version, applied_ns) VALUES (?, ?)",
                    (version, time.time_ns()),
                )

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One transaction at a time on the one connection; rolled back on any error."""
        async with self._lock:
            await self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                await self.db.execute("ROLLBACK")
                raise
            await self.db.execute("COMMIT")

    async def _fetch(self, sql: str, parameters: tuple = ()) -> list[tuple]:
        async with self._lock:
            return await self._fetch_in_transaction(sql, parameters)

    async def _fetch_in_transaction(self, sql: str, parameters: tuple = ()) -> list[tuple]:
        async with self.db.execute(sql, parameters) as cursor:
            return list(await cursor.fetchall())

    # Commit -------------------------------------------------------------------------------------

    async def commit(self, batch: CommitBatch, checkpoint: CheckpointChanges | None = None) -> None:
        """Write ``batch`` (and a checkpoint taken right after it) in one transaction."""
        statements: list[tuple[_ManyRows, list]] = []
        holds, transfers, trades = _journal_rows(batch.journal)
        if holds:
            statements.append((_INSERT_HOLD_ENTRY, holds))
        if transfers:
            statements.append((_INSERT_TRANSFER_ENTRY, transfers))
        if trades:
            statements.append((_INSERT_TRADE, trades))
        if batch.orders:
            statements.append((_UPSERT_ORDER, list(batch.orders.values())))
        next_order_id = batch.next_order_id
        if batch.numbering:
            # The next order id rides the numbering rows; only without them does it need its counter.
            with_order_id = 0 if next_order_id is None else next_order_id
            numbering = [(*row, with_order_id) for row in batch.numbering.values()]
            statements.append((_UPSERT_NUMBERING, numbering))
        elif next_order_id is not None:
            statements.append((_SET_COUNTER, [(NEXT_ORDER_ID, next_order_id)]))
        if batch.amendments:
            statements.append((_INSERT_AMENDMENT, batch.amendments))
        if batch.prevented_matches:
            statements.append((_INSERT_PREVENTED_MATCH, batch.prevented_matches))
        if batch.symbol_halted:
            statements.append((_UPSERT_SYMBOL_STATUS, list(batch.symbol_halted.items())))
        if batch.fix_sessions:
            statements.append(
                (_UPSERT_FIX_SESSION, [(sid, seqs[0], seqs[1]) for sid, seqs in batch.fix_sessions.items()])
            )
        if batch.fix_messages:
            # A frame as bytearray: bound as the same BLOB, without the adapter lookup of bytes.
            frames = [(sid, seq, bytearray(frame)) for sid, seq, frame in batch.fix_messages]
            statements.append((_UPSERT_FIX_MESSAGE, frames))
        if batch.fix_messages_kept_from:
            statements.append((_PRUNE_FIX_MESSAGES, list(batch.fix_messages_kept_from.items())))
        if checkpoint is not None:
            statements += [
                (
                    _UPSERT_CHECKPOINT_ACCOUNT,
                    [
                        (owner, asset, str(credits_posted), str(debits_posted), *pending)
                        for (owner, asset), (credits_posted, debits_posted, *pending) in (
                            checkpoint.accounts.items()
                        )
                    ],
                ),
                (
                    _UPSERT_CHECKPOINT_HOLD,
                    [(hold_id, *hold) for hold_id, hold in checkpoint.holds.items() if hold is not None],
                ),
                (
                    _DELETE_CHECKPOINT_HOLDS,
                    [(hold_id,) for hold_id, hold in checkpoint.holds.items() if hold is None],
                ),
                (_SET_COUNTER, [(CHECKPOINT_SEQUENCE, checkpoint.sequence)]),
            ]
        async with self._lock:
            _write_statements(self._write_cursor, statements)
            if (
                checkpoint is None
                and len(batch.orders) < COMMIT_ON_THREAD_ORDERS_MIN
                and time.monotonic() >= self._sync_on_thread_until_s
            ):
                self._commit_on_loop_thread()
            else:
                # aiosqlite offers no public call for "run this on the connection's thread"; its
                # ``_execute`` (the queue behind every public method) is that, pinned in pyproject.toml.
                await self.db._execute(_commit, self._write_cursor)

    def _commit_on_loop_thread(self) -> None:
        """COMMIT here, waiting for the disk; a slow sync sends the next commits to the thread."""
        started_s = time.monotonic()
        _commit(self._write_cursor)
        sync_s = time.monotonic() - started_s
        if sync_s >= SLOW_SYNC_S:
            self._sync_on_thread_until_s = started_s + sync_s + SLOW_SYNC_THREAD_S
            log.warning(
                "slow disk sync held the loop; commits sync on a thread for a while",
                sync_ms=round(sync_s * 1000, 1),
                thread_s=SLOW_SYNC_THREAD_S,
            )

    # Load ---------------------------------------------------------------------------------------

    async def load(self) -> LoadedState:
        return await _load(self._fetch)

    async def journal(self, after_sequence: int = 0) -> list[JournalEntry]:
        return await _journal(self._fetch, after_sequence)

    @contextlib.asynccontextmanager
    async def snapshot(self) -> AsyncIterator[StoreSnapshot]:
        """A read transaction on a connection of its own: WAL gives it one moment's data while the writer
        goes on committing, and it never takes the writer's lock. Closing the connection ends the read."""
        connection = await aiosqlite.connect(self._path, isolation_level=None)
        try:
            await connection.execute("BEGIN")

            async def fetch(sql: str, parameters: tuple = ()) -> list[tuple]:
                async with connection.execute(sql, parameters) as cursor:
                    return list(await cursor.fetchall())

            yield _Snapshot(fetch)
        finally:
            await connection.close()

    async def trades(
        self,
        since_ns: int,
        until_ns: int,
        symbol: str | None = None,
        *,
        after: tuple[int, int] | None = None,
        limit: int | None = None,
    ) -> list[TradeEntry]:
        sql = f"SELECT {', '.join(TRADE_COLUMNS)} FROM trades WHERE ts_ns >= ? AND ts_ns < ?"
        parameters: tuple = (since_ns, until_ns)
        if symbol is not None:
            sql += " AND symbol = ?"
            parameters += (symbol,)
        if after is not None:
            sql += " AND (ts_ns > ? OR (ts_ns = ? AND sequence > ?))"
            parameters += (after[0], after[0], after[1])
        sql += " ORDER BY ts_ns, sequence"
        if limit is not None:
            sql += " LIMIT ?"
            parameters += (limit,)
        return [trade_from_row(row) for row in await self._fetch(sql, parameters)]

    async def latest_trades(self, symbol: str, limit: int, before_ns: int | None = None) -> list[TradeEntry]:
        rows = await self._fetch(
            f"SELECT {', '.join(TRADE_COLUMNS)} FROM trades WHERE symbol = ? AND ts_ns < ? "
            "ORDER BY sequence DESC LIMIT ?",
            (symbol, TIME_NS_MAX if before_ns is None else before_ns, limit),
        )
        return [trade_from_row(row) for row in reversed(rows)]

    async def trades_from_id(self, symbol: str, from_trade_id: int, limit: int) -> list[TradeEntry]:
        rows = await self._fetch(
            f"SELECT {', '.join(TRADE_COLUMNS)} FROM trades WHERE symbol = ? AND trade_id >= ? "
            "ORDER BY trade_id LIMIT ?",
            (symbol, from_trade_id, limit),
        )
        return [trade_from_row(row) for row in rows]

    async def order_amendments(
        self, account_id: int, symbol: str, order_id: int, from_execution_id: int, limit: int
    ) -> list[OrderAmendment]:
        rows = await self._fetch(
            ORDER_AMENDMENTS_SQL, (symbol, order_id, account_id, from_execution_id, limit)
        )
        return [OrderAmendment(*row) for row in rows]

    async def prevented_matches(
        self, account_id: int, symbol: str, query: PreventedMatchQuery
    ) -> list[PreventedMatchRecord]:
        rows = await self._fetch(*prevented_matches_sql(account_id, symbol, query))
        return [PreventedMatchRecord(*row) for row in rows]

    async def last_trade_before(self, symbol: str, before_ns: int) -> TradeEntry | None:
        rows = await self._fetch(
            f"SELECT {', '.join(TRADE_COLUMNS)} FROM trades WHERE symbol = ? AND ts_ns < ? "
            "ORDER BY sequence DESC LIMIT 1",
            (symbol, before_ns),
        )
        return trade_from_row(rows[0]) if rows else None

    async def trade_seconds(self, since_ns: int) -> list[TradeSecond]:
        rows = await self._fetch(TRADE_SECONDS_SQL, (since_ns,))
        return [TradeSecond(*row) for row in rows]

    async def trade_candles(
        self, symbol: str, length_ms: int, shift_ms: int, since_ns: int, until_ns: int
    ) -> list[Candle]:
        async with self._reader_opening:
            if self._reader is None:
                self._reader = await aiosqlite.connect(self._path, isolation_level=None)
                await self._reader.execute("PRAGMA query_only = ON")
        sql, parameters = trade_candles_sql(symbol, length_ms, shift_ms, since_ns, until_ns)
        async with self._reader.execute(sql, parameters) as cursor:
            rows = await cursor.fetchall()
        return [candle_from_row(row, length_ms, shift_ms) for row in rows]

    async def orders(self, account_id: int) -> list[OrderRecord]:
        rows = await self._fetch(
            f"SELECT {', '.join(ORDER_COLUMNS)} FROM orders WHERE account_id = ? ORDER BY order_id",
            (account_id,),
        )
        return [order_from_row(row) for row in rows]

    async def account_orders(self, query: HistoryQuery) -> list[OrderRecord]:
        sql, parameters = account_orders_sql(query)
        return oldest_first(query, [order_from_row(row) for row in await self._fetch(sql, tuple(parameters))])

    async def account_trades(self, query: HistoryQuery) -> list[AccountTrade]:
        sql, parameters = account_trades_sql(query)
        rows = await self._fetch(sql, tuple(parameters))
        return oldest_first(query, [account_trade_from_row(row) for row in rows])

    async def closed_orders(self, symbol: str, limit: int) -> list[OrderRecord]:
        rows = await self._fetch(CLOSED_ORDERS_SQL, (symbol, limit))
        return closed_in_order([order_from_row(row) for row in rows])

    # Accounts and API keys ----------------------------------------------------------------------

    async def create_account(self, name: str, created_ns: int) -> int:
        async with self._transaction() as db:
            rows = await self._fetch_in_transaction("SELECT COALESCE(MAX(account_id), 0) + 1 FROM accounts")
            account_id = rows[0][0]
            await db.execute(
                "INSERT INTO accounts (account_id, name, created_ns) VALUES (?, ?, ?)",
                (account_id, name, created_ns),
            )
        return account_id

    async def accounts(self) -> dict[str, int]:
        return {name: account_id for account_id, name in await self._fetch(_ACCOUNTS_SQL)}

    async def add_api_key(self, record: ApiKeyRecord) -> None:
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO api_keys (api_key, account_id, key_type, secret, public_key_pem, permissions, "
                "revoked) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    record.api_key,
                    record.account_id,
                    record.key_type,
                    record.secret,
                    record.public_key_pem,
                    record.permissions,
                    record.revoked,
                ),
            )

    async def api_keys(self) -> list[ApiKeyRecord]:
        rows = await self._fetch(
            "SELECT api_key, account_id, key_type, secret, public_key_pem, permissions, revoked "
            "FROM api_keys "
            "ORDER BY api_key"
        )
        return [ApiKeyRecord(*row[:6], bool(row[6])) for row in rows]

    async def add_fix_session_settings(self, record: FixSessionRecord) -> None:
        async with self._transaction() as db:
            await db.execute(_INSERT_FIX_SESSION_SETTINGS, dataclasses.astuple(record))

    async def fix_session_settings(self) -> list[FixSessionRecord]:
        return [FixSessionRecord(*row) for row in await self._fetch(_FIX_SESSION_SETTINGS_SQL)]

    async def revoke_api_key(self, api_key: str) -> bool:
        async with self._transaction() as db:
            cursor = await db.execute("UPDATE api_keys SET revoked = ? WHERE api_key = ?", (True, api_key))
            return cursor.rowcount == 1

    # FIX session store --------------------------------------------------------------------------

    async def load_fix_session(self, session_id: str) -> tuple[int, int] | None:
        rows = await self._fetch(
            "SELECT next_incoming_seq, next_outgoing_seq FROM fix_sessions WHERE session_id = ?",
            (session_id,),
        )
        return (rows[0][0], rows[0][1]) if rows else None

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
        rows = await self._fetch(
            "SELECT seq, message FROM fix_messages "
            "WHERE session_id = ? AND seq >= ? AND seq <= ? ORDER BY seq",
            (session_id, begin_seq, end_seq),
        )
        return [(seq, bytes(message)) for seq, message in rows]

    async def reset_fix_session(self, session_id: str, reset_ns: int = 0) -> None:
        """Start the session over at 1/1 and forget its frames; ``reset_ns`` records when (daily resets)."""
        async with self._transaction() as db:
            await db.execute("DELETE FROM fix_messages WHERE session_id = ?", (session_id,))
            await db.execute(
                "INSERT INTO fix_sessions (session_id, next_incoming_seq, next_outgoing_seq, last_reset_ns) "
                "VALUES (?, 1, 1, ?) "
                "ON CONFLICT (session_id) DO UPDATE SET next_incoming_seq = 1, next_outgoing_seq = 1, "
                "last_reset_ns = excluded.last_reset_ns",
                (session_id, reset_ns),
            )

    async def fix_session_last_reset_ns(self, session_id: str) -> int:
        rows = await self._fetch("SELECT last_reset_ns FROM fix_sessions WHERE session_id = ?", (session_id,))
        return rows[0][0] if rows else 0
