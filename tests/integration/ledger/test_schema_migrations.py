"""A database made by an older gateway is brought up to date at open and keeps what it held."""

from __future__ import annotations

import sqlite3

import asyncpg

from config.settings import FeeSettings
from ledger.journal import JournalEntry
from ledger.ledger import Ledger
from ledger.postgres_store import TYPE_NAMES as POSTGRES_TYPE_NAMES
from ledger.schema import MIGRATIONS, SCHEMA_VERSION_TABLE
from ledger.sqlite_store import TYPE_NAMES as SQLITE_TYPE_NAMES
from ledger.store import (
    CHECKPOINT_ACCOUNT_COLUMNS,
    ENTRY_COLUMNS,
    OPEN_ORDERS_SQL,
    ORDER_COLUMNS,
    BookNumbering,
    CheckpointChanges,
    CommitBatch,
)
from tests.integration.conftest import POSTGRES_DSN
from tests.integration.ledger.test_stores import order

VERSION_BEFORE_PARTIAL_INDEX = 3
VERSION_BEFORE_SYMBOL_STATUS = 4
VERSION_BEFORE_WIDE_COUNTERS = 5
ORDERS = [order(1, "NEW", priority=5), order(2, "CANCELED"), order(3, "PARTIALLY_FILLED", priority=1)]
# The orders' columns before migration 13 added the strategy labels ("" in the rows migrated: none).
OLD_ORDER_COLUMNS = ORDER_COLUMNS[: ORDER_COLUMNS.index("strategy")]
OLD_ORDERS = [row[: len(OLD_ORDER_COLUMNS)] for row in ORDERS]
CHECKPOINT_ACCOUNTS = [(-1, "USDT", 2**63 - 1, 2**63 - 5, 4, 0), (1, "USDT", 10, 6, 0, 4)]


def _statements_up_to(version: int, types: dict[str, str]) -> list[str]:
    statements = [SCHEMA_VERSION_TABLE.format(**types)]
    for number, migration in MIGRATIONS:
        if number <= version:
            statements += [statement.format(**types) for statement in migration]
            statements.append(f"INSERT INTO schema_version VALUES ({number}, 0)")
    return statements


def _insert_sql(table: str, columns: tuple[str, ...], placeholder: str) -> str:
    values = ", ".join(placeholder.format(index + 1) for index in range(len(columns)))
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values})"


def _sqlite_at(path: str, version: int) -> None:
    connection = sqlite3.connect(path)
    with connection:
        for statement in _statements_up_to(version, SQLITE_TYPE_NAMES):
            connection.execute(statement)
        connection.executemany(_insert_sql("orders", OLD_ORDER_COLUMNS, "?"), OLD_ORDERS)
        connection.executemany(
            _insert_sql("checkpoint_accounts", CHECKPOINT_ACCOUNT_COLUMNS, "?"), CHECKPOINT_ACCOUNTS
        )
    connection.close()


async def _postgres_at(schema: str, version: int) -> None:
    connection = await asyncpg.connect(POSTGRES_DSN, server_settings={"search_path": schema})
    try:
        await connection.execute(f'CREATE SCHEMA "{schema}"')
        async with connection.transaction():
            for statement in _statements_up_to(version, POSTGRES_TYPE_NAMES):
                await connection.execute(statement)
            await connection.executemany(_insert_sql("orders", OLD_ORDER_COLUMNS, "${}"), OLD_ORDERS)
            await connection.executemany(
                _insert_sql("checkpoint_accounts", CHECKPOINT_ACCOUNT_COLUMNS, "${}"), CHECKPOINT_ACCOUNTS
            )
    finally:
        await connection.close()


async def _open_orders_index(store_factory) -> str:
    if store_factory.backend == "sqlite":
        connection = sqlite3.connect(store_factory.settings.sqlite_path)
        try:
            (definition,) = connection.execute(
                "SELECT sql FROM sqlite_master WHERE name = 'open_orders'"
            ).fetchone()
            plan = " ".join(row[3] for row in connection.execute("EXPLAIN QUERY PLAN " + OPEN_ORDERS_SQL))
        finally:
            connection.close()
        assert "open_orders" in plan and "TEMP B-TREE" not in plan, plan
        return definition
    connection = await asyncpg.connect(POSTGRES_DSN)
    try:
        return await connection.fetchval(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname = 'open_orders'",
            store_factory.schema,
        )
    finally:
        await connection.close()


async def test_open_orders_survive_the_move_to_a_partial_index(store_factory) -> None:
    if store_factory.backend == "sqlite":
        _sqlite_at(store_factory.settings.sqlite_path, VERSION_BEFORE_PARTIAL_INDEX)
    else:
        await _postgres_at(store_factory.schema, VERSION_BEFORE_PARTIAL_INDEX)
    store = await store_factory()
    state = await store.load()
    assert [o.order_id for o in state.open_orders] == [3, 1]
    assert [o.status for o in await store.orders(1)] == ["NEW", "CANCELED", "PARTIALLY_FILLED"]
    assert "WHERE" in (await _open_orders_index(store_factory)).upper()


async def test_a_new_database_indexes_only_open_orders(store_factory) -> None:
    await store_factory()
    definition = await _open_orders_index(store_factory)
    assert "WHERE" in definition.upper() and "status" not in definition.split("(")[1].split(")")[0]


async def test_a_store_from_before_symbol_status_keeps_its_orders_and_records_halts(store_factory) -> None:
    if store_factory.backend == "sqlite":
        _sqlite_at(store_factory.settings.sqlite_path, VERSION_BEFORE_SYMBOL_STATUS)
    else:
        await _postgres_at(store_factory.schema, VERSION_BEFORE_SYMBOL_STATUS)
    store = await store_factory()
    state = await store.load()
    assert ([o.order_id for o in state.open_orders], state.symbol_halted) == ([3, 1], {})
    await store.commit(CommitBatch(symbol_halted={"BTCUSDT": True}))
    assert (await store.load()).symbol_halted == {"BTCUSDT": True}


async def test_checkpointed_balances_survive_the_move_to_counters_wider_than_64_bits(store_factory) -> None:
    if store_factory.backend == "sqlite":
        _sqlite_at(store_factory.settings.sqlite_path, VERSION_BEFORE_WIDE_COUNTERS)
    else:
        await _postgres_at(store_factory.schema, VERSION_BEFORE_WIDE_COUNTERS)
    store = await store_factory()
    state = await store.load()
    assert state.checkpoint.accounts == {(row[0], row[1]): row[2:] for row in CHECKPOINT_ACCOUNTS}
    assert [o.order_id for o in state.open_orders] == [3, 1]
    escrow = (2**63 + 9, 2**63 + 5, 4, 0)
    await store.commit(CommitBatch(), CheckpointChanges(1, {(-1, "USDT"): escrow}, {}))
    assert (await (await store_factory()).load()).checkpoint.accounts[(-1, "USDT")] == escrow


VERSION_BEFORE_ORDER_ID_IN_NUMBERING = 8
VERSION_BEFORE_HOLDS_TABLE = 9
OLD_ENTRIES = [
    (1, "deposit", "d1", None, 1, "USDT", 500, 7),
    (2, "hold", None, 10, 1, "USDT", 300, 0),
    (3, "release", None, 10, 1, "USDT", 100, 0),
]


async def _store_at(store_factory, version: int, rows: dict[str, tuple[tuple[str, ...], list[tuple]]]):
    """The store opened on a database made at ``version`` that holds ``rows`` (table -> columns, rows)."""
    if store_factory.backend == "sqlite":
        _sqlite_at(store_factory.settings.sqlite_path, version)
        connection = sqlite3.connect(store_factory.settings.sqlite_path)
        with connection:
            for table, (columns, values) in rows.items():
                connection.executemany(_insert_sql(table, columns, "?"), values)
        connection.close()
    else:
        await _postgres_at(store_factory.schema, version)
        search_path = {"search_path": store_factory.schema}
        connection = await asyncpg.connect(POSTGRES_DSN, server_settings=search_path)
        try:
            for table, (columns, values) in rows.items():
                await connection.executemany(_insert_sql(table, columns, "${}"), values)
        finally:
            await connection.close()
    return await store_factory()


async def test_the_next_order_id_of_a_store_from_before_it_rode_the_numbering_is_kept(store_factory) -> None:
    store = await _store_at(
        store_factory,
        VERSION_BEFORE_ORDER_ID_IN_NUMBERING,
        {
            "counters": (("name", "value"), [("next_order_id", 42)]),
            "book_numbering": (("symbol", "sequence", "next_trade_id"), [("BTCUSDT", 9, 4)]),
        },
    )
    state = await store.load()
    assert (state.next_order_id, state.numbering) == (42, {"BTCUSDT": BookNumbering("BTCUSDT", 9, 4)})
    await store.commit(CommitBatch(numbering={"ETHUSDT": BookNumbering("ETHUSDT", 3, 1)}))
    assert (await (await store_factory()).load()).next_order_id == 42
    await store.commit(CommitBatch(numbering={"BTCUSDT": BookNumbering("BTCUSDT", 10, 4)}, next_order_id=43))
    # A later turn of another book, with no new order: the largest value still counts.
    await store.commit(CommitBatch(numbering={"ETHUSDT": BookNumbering("ETHUSDT", 4, 1)}))
    state = await (await store_factory()).load()
    assert state.next_order_id == 43
    assert state.numbering == {
        "BTCUSDT": BookNumbering("BTCUSDT", 10, 4),
        "ETHUSDT": BookNumbering("ETHUSDT", 4, 1),
    }


async def test_holds_from_before_their_own_table_stay_in_the_journal(store_factory) -> None:
    store = await _store_at(
        store_factory, VERSION_BEFORE_HOLDS_TABLE, {"ledger_entries": (ENTRY_COLUMNS, OLD_ENTRIES)}
    )
    state = await store.load()
    assert [entry.sequence for entry in state.journal_after_checkpoint] == [1, 2, 3]
    store_journal: list[JournalEntry] = []
    ledger = Ledger.restore(
        fees=FeeSettings(),
        checkpoint_sequence=0,
        accounts={},
        holds={},
        transfers=state.transfers,
        journal_after_checkpoint=state.journal_after_checkpoint,
        sink=store_journal.append,
    )
    ledger.hold(11, 1, "USDT", 50)
    ledger.release(10, 200)
    await store.commit(CommitBatch(journal=store_journal))
    journal = await (await store_factory()).journal()
    assert [(entry.sequence, entry.kind.value) for entry in journal] == [
        (1, "deposit"),
        (2, "hold"),
        (3, "release"),
        (4, "hold"),
        (5, "release"),
    ]
    assert [entry.hold_id for entry in journal[1:]] == [10, 10, 11, 10]
    rebuilt = Ledger(fees=FeeSettings())
    rebuilt.replay(journal)
    assert rebuilt.differences(ledger) == [] and rebuilt.hold_remaining(10) == 0
    async with store.snapshot() as snapshot:
        assert await snapshot.last_sequence() == 5
        assert [entry.sequence for entry in await snapshot.journal_range(2, 4)] == [3, 4]
