"""Where a SQLite commit waits for its disk sync: on the loop thread for a small commit, on aiosqlite's
thread for a large one, and on that thread for a while after a sync held the loop too long."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from config.settings import StoreSettings
from ledger import sqlite_store
from ledger.sqlite_store import COMMIT_ON_THREAD_ORDERS_MIN, SLOW_SYNC_S, SqliteStore
from ledger.store import CommitBatch
from tests.integration.ledger.test_stores import order


class _Syncs:
    """Where each COMMIT ran (True: the loop thread), with a pause before the next ones where asked."""

    def __init__(self) -> None:
        self.on_loop_thread: list[bool] = []
        self.pauses_s: list[float] = []


@pytest.fixture
def syncs(monkeypatch: pytest.MonkeyPatch) -> _Syncs:
    recorded = _Syncs()
    commit = sqlite_store._commit

    def paused_commit(cursor) -> None:
        if recorded.pauses_s:
            time.sleep(recorded.pauses_s.pop(0))  # a disk that takes this long to sync
        recorded.on_loop_thread.append(threading.current_thread() is threading.main_thread())
        commit(cursor)

    monkeypatch.setattr(sqlite_store, "_commit", paused_commit)
    return recorded


async def _commit_orders(store: SqliteStore, first: int, count: int) -> None:
    await store.commit(CommitBatch(orders={i: order(i) for i in range(first, first + count)}))


async def test_a_small_commit_syncs_on_the_loop_thread_and_a_large_one_on_aiosqlites(
    tmp_path: Path, syncs: _Syncs
) -> None:
    store = SqliteStore(StoreSettings(sqlite_path=str(tmp_path / "commits.sqlite3")))
    await store.open()
    try:
        await _commit_orders(store, 1, 3)
        await _commit_orders(store, 4, COMMIT_ON_THREAD_ORDERS_MIN)
        await _commit_orders(store, 1_000, 3)
    finally:
        await store.close()
    assert syncs.on_loop_thread == [True, False, True]


async def test_after_a_slow_sync_on_the_loop_thread_commits_sync_on_aiosqlites_for_a_while(
    tmp_path: Path, syncs: _Syncs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_store, "SLOW_SYNC_THREAD_S", 1.0)
    store = SqliteStore(StoreSettings(sqlite_path=str(tmp_path / "commits.sqlite3")))
    await store.open()
    try:
        syncs.pauses_s = [0.0, SLOW_SYNC_S * 1.5]
        await _commit_orders(store, 1, 3)  # a quick sync on the loop thread
        await _commit_orders(store, 4, 3)  # a slow one there: it held the loop
        await _commit_orders(store, 7, 3)
        await _commit_orders(store, 10, 3)
        time.sleep(1.0)
        await _commit_orders(store, 13, 3)
    finally:
        await store.close()
    assert syncs.on_loop_thread == [True, True, False, False, True]
