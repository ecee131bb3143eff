"""SQLite's write-ahead log is copied into the database file off the commit path; temporary data stays
in memory.

Left to SQLite, the commit that took the log past 1,000 pages also copied the whole log into the
database file and synced it: measured here, that doubled the p99 of a commit (15.8 ms against 7.8 ms),
and every order in that commit and behind it waited.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path

import pytest

from config.settings import StoreSettings
from ledger import sqlite_store
from ledger.sqlite_store import PAGE_CACHE_KIB, WAL_AUTOCHECKPOINT_PAGES, SqliteStore
from ledger.store import CommitBatch
from tests.integration.ledger.test_stores import order, trading_day

WAIT_POLLS = 500  # every 0.01 s


async def _store(tmp_path: Path) -> SqliteStore:
    store = SqliteStore(StoreSettings(sqlite_path=str(tmp_path / "wal.sqlite3")))
    await store.open()
    return store


async def _commit_orders(
    store: SqliteStore, first: int, count: int, *, per_commit: int, pause_s: float
) -> None:
    """Commit orders ``first`` to ``first + count - 1``, ``per_commit`` at a time, ``pause_s`` apart (a
    pause of 0 is one loop turn: what the checkpoint connection gets between commits)."""
    for start in range(first, first + count, per_commit):
        await store.commit(CommitBatch(orders={i: order(i) for i in range(start, start + per_commit)}))
        await asyncio.sleep(pause_s)


async def test_committed_pages_reach_the_database_file_without_the_committer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_store, "WAL_CHECKPOINT_INTERVAL_S", 0.01)
    store = await _store(tmp_path)
    try:
        database = tmp_path / "wal.sqlite3"
        size_before = database.stat().st_size
        await store.commit(CommitBatch(orders={i: order(i) for i in range(1, 2001)}))
        for _ in range(WAIT_POLLS):
            if database.stat().st_size > size_before:
                break
            await asyncio.sleep(0.01)
        assert database.stat().st_size > size_before
        async with store.db.execute("PRAGMA wal_autocheckpoint") as cursor:
            assert (await cursor.fetchone())[0] == WAL_AUTOCHECKPOINT_PAGES
    finally:
        await store.close()
    with sqlite3.connect(database) as reader:
        assert reader.execute("SELECT count(*) FROM orders").fetchone()[0] == 2000


@pytest.mark.parametrize(
    ("restart_pages", "autocheckpoint_pages"),
    [(10**9, 200), (200, 0)],
    ids=["by-the-writer", "by-the-checkpoint-connection"],
)
async def test_the_log_starts_over_under_steady_commits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, restart_pages: int, autocheckpoint_pages: int
) -> None:
    """A checkpoint that never catches up with the writer would let the log grow without end. The
    checkpoint connection's passes run beside commits and so never reach the end of a growing log; once
    the log is long, one more with commits held does, and the next commit starts the log over. The
    writer's own checkpoint (0: none) is the bound should that connection be gone."""
    monkeypatch.setattr(sqlite_store, "WAL_CHECKPOINT_INTERVAL_S", 0.01)
    monkeypatch.setattr(sqlite_store, "WAL_RESTART_PAGES", restart_pages)
    monkeypatch.setattr(sqlite_store, "WAL_AUTOCHECKPOINT_PAGES", autocheckpoint_pages)
    store = await _store(tmp_path)
    try:
        await _commit_orders(store, 1, 20_000, per_commit=100, pause_s=0)
        log_bytes = os.path.getsize(tmp_path / "wal.sqlite3-wal")
        assert log_bytes < 4 * 200 * 4096
    finally:
        await store.close()


async def test_commits_are_not_held_for_a_copy_a_readers_snapshot_keeps_from_finishing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_store, "WAL_CHECKPOINT_INTERVAL_S", 0.01)
    monkeypatch.setattr(sqlite_store, "WAL_RESTART_PAGES", 200)
    monkeypatch.setattr(sqlite_store, "WAL_RESTART_REMAINDER_PAGES_MAX", 100)
    monkeypatch.setattr(sqlite_store, "WAL_AUTOCHECKPOINT_PAGES", 0)
    store = await _store(tmp_path)
    held_by_checkpoint: list[bool] = []
    acquire = store._lock.acquire

    async def recording_acquire() -> bool:
        held_by_checkpoint.append(asyncio.current_task() is store._checkpointer)
        return await acquire()

    store._lock.acquire = recording_acquire  # type: ignore[method-assign]
    try:
        await _commit_orders(store, 1, 1_000, per_commit=100, pause_s=0.002)
        async with store.snapshot() as snapshot:
            await snapshot.last_sequence()  # a read transaction on the log as it is now
            # Past it now: more than 100 pages the copy cannot reach.
            await _commit_orders(store, 1_001, 2_000, per_commit=100, pause_s=0.002)
            held_by_checkpoint.clear()
            await _commit_orders(store, 3_001, 4_000, per_commit=100, pause_s=0.002)
            assert not any(held_by_checkpoint)
        await _commit_orders(store, 7_001, 4_000, per_commit=100, pause_s=0.002)
        assert any(held_by_checkpoint)
    finally:
        await store.close()


async def test_statement_journals_and_the_pages_a_commit_reads_stay_in_memory(tmp_path: Path) -> None:
    """Statement journals were temporary files, created and deleted on the loop thread by every
    multi-row upsert, and index pages past SQLite's 2 MiB cache were read back from the file there."""
    store = await _store(tmp_path)
    try:
        async with store.db.execute("PRAGMA temp_store") as cursor:
            assert (await cursor.fetchone())[0] == 2  # MEMORY
        async with store.db.execute("PRAGMA cache_size") as cursor:
            assert (await cursor.fetchone())[0] == -PAGE_CACHE_KIB
    finally:
        await store.close()


async def test_candles_are_read_beside_the_writer_not_behind_it(tmp_path: Path) -> None:
    """``klines`` may aggregate years of trades; on the writer's connection that would hold every commit."""
    store = await _store(tmp_path)
    try:
        await trading_day(store)
        async with store._lock:  # what a commit holds while it runs
            candles = await asyncio.wait_for(store.trade_candles("BTCUSDT", 60_000, 0, 0, 10**18), 5)
        assert [candle.count for candle in candles] == [2]
    finally:
        await store.close()
