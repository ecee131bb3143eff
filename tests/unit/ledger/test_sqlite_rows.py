"""Rows in chunks: every row once, in order, within SQLite's parameter limit, few statement texts."""

from __future__ import annotations

import sqlite3
from typing import NamedTuple

import pytest

from ledger.journal import EntryKind, HoldEntry, TransferEntry
from ledger.sqlite_store import (
    _INSERT_HOLD_ENTRY,
    _INSERT_TRANSFER_ENTRY,
    _PARAMETERS_MAX,
    _UPSERT_ORDER,
    _commit,
    _insert,
    _journal_rows,
    _write_statements,
)
from ledger.store import ORDER_COLUMNS, ORDER_IDENTITY_COLUMNS


def test_chunks_cover_every_row_in_order_within_the_parameter_limit() -> None:
    statement = _insert("t", ("a", "b", "c"), ("a",))
    texts = set()
    for count in range(0, 1_200):
        rows = [(index, f"b{index}", None) for index in range(count)]
        flat: list = []
        for sql, parameters in statement.chunks(rows):
            assert len(parameters) <= _PARAMETERS_MAX
            assert sql.count("?") == len(parameters)
            assert sql.endswith("ON CONFLICT (a) DO UPDATE SET b = excluded.b, c = excluded.c")
            texts.add(sql)
            flat += parameters
        assert flat == [value for row in rows for value in row]
    assert len(texts) == 9


class _Row(NamedTuple):
    a: int
    b: str


class _RecordingCursor:
    """A commit's cursor: the statements a transaction ran, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def execute(self, sql: str, parameters: object = ()) -> None:
        self.calls.append((sql, parameters))


def test_rows_are_bound_as_exact_tuples_or_lists() -> None:
    """sqlite3 reads a tuple subclass's items (a NamedTuple's) one ``__getitem__`` call at a time."""
    statement = _insert("t", ("a", "b"))
    for count in (1, 3):
        cursor = _RecordingCursor()
        _write_statements(cursor, [(statement, [_Row(index, "x") for index in range(count)])])  # type: ignore[arg-type]
        begin, *calls = cursor.calls
        assert begin == ("BEGIN IMMEDIATE", ())
        assert [type(parameters) for _, parameters in calls] == ([tuple] if count == 1 else [list, tuple])
        assert [value for _, parameters in calls for value in parameters] == [
            value for index in range(count) for value in (index, "x")
        ]


def test_a_failed_statement_rolls_the_whole_commit_back_and_raises_its_own_error() -> None:
    connection = sqlite3.connect(":memory:", isolation_level=None)
    connection.execute("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT NOT NULL)")
    statement = _insert("t", ("a", "b"))
    with pytest.raises(sqlite3.IntegrityError, match="NOT NULL"):
        _write_statements(connection.cursor(), [(statement, [(1, "x")]), (statement, [(2, None)])])
    assert not connection.in_transaction
    assert connection.execute("SELECT COUNT(*) FROM t").fetchone() == (0,)
    cursor = connection.cursor()
    _write_statements(cursor, [(statement, [(1, "x"), (2, "y")])])
    _commit(cursor)
    assert not connection.in_transaction
    assert connection.execute("SELECT a, b FROM t ORDER BY a").fetchall() == [(1, "x"), (2, "y")]


def test_a_failed_commit_is_rolled_back_and_raises_its_own_error() -> None:
    """A deferred foreign key fails at COMMIT, which leaves the transaction open: it is rolled back."""
    connection = sqlite3.connect(":memory:", isolation_level=None)
    connection.execute("PRAGMA foreign_keys = ON")
    connection.execute("CREATE TABLE p (a INTEGER PRIMARY KEY)")
    connection.execute("CREATE TABLE c (a INTEGER REFERENCES p (a) DEFERRABLE INITIALLY DEFERRED)")
    cursor = connection.cursor()
    _write_statements(cursor, [(_insert("c", ("a",)), [(1,)])])
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        _commit(cursor)
    assert not connection.in_transaction
    assert connection.execute("SELECT COUNT(*) FROM c").fetchone() == (0,)


def test_journal_rows_hold_only_values_sqlite_binds_without_an_adapter_lookup() -> None:
    """No None, bool or bytes in entry rows: each such value cost an adapter lookup (about 0.5 us)."""
    journal = [
        TransferEntry(
            sequence=1,
            kind=EntryKind.DEPOSIT,
            transfer_id="d1",
            account_id=1,
            asset="USDT",
            amount_minor=5,
            ts_ns=9,
        ),
        HoldEntry(sequence=2, kind=EntryKind.HOLD, hold_id=7, account_id=1, asset="USDT", amount_minor=3),
        HoldEntry(sequence=3, kind=EntryKind.RELEASE, hold_id=7, account_id=1, asset="USDT", amount_minor=1),
    ]
    holds, transfers, trades = _journal_rows(journal)
    assert holds == [(2, "hold", 7, 1, "USDT", 3), (3, "release", 7, 1, "USDT", 1)]
    assert transfers == [(1, "deposit", "d1", 1, "USDT", 5, 9)]
    assert trades == []
    assert {type(value) for row in holds + transfers for value in row} == {int, str}
    assert _INSERT_HOLD_ENTRY.group.count("?") == len(holds[0])
    assert _INSERT_TRANSFER_ENTRY.group.count("?") == len(transfers[0])


def test_an_orders_later_records_rewrite_no_index_of_its_identity() -> None:
    """``orders_by_account`` is (account_id, symbol, order_id): SQLite rewrites the entry of every index
    with a column in the upsert's SET list, even set to the value it held, so those stay out of it."""
    updates = _UPSERT_ORDER.one_row_sql.split(" DO UPDATE SET ")[1]
    assigned = {assignment.split(" = ")[0] for assignment in updates.split(", ")}
    assert assigned == set(ORDER_COLUMNS) - {"order_id", *ORDER_IDENTITY_COLUMNS}
    assert {"account_id", "symbol"} <= set(ORDER_IDENTITY_COLUMNS)
