"""Group commit: one transaction per batch of turns, futures after their commit, failures are sticky."""

from __future__ import annotations

import asyncio

import pytest

from config.settings import FeeSettings
from ledger.ledger import Ledger
from ledger.store import CheckpointChanges, CommitBatch
from ledger.writer import FIX_PRUNE_STEP_MESSAGES, GroupCommitWriter


class RecordingStore:
    """Store stand-in: keeps each committed batch; ``fail_at`` makes that commit raise."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.batches: list[tuple[CommitBatch, CheckpointChanges | None]] = []
        self.fail_at = fail_at
        self.release = asyncio.Event()
        self.release.set()

    async def commit(self, batch: CommitBatch, checkpoint: CheckpointChanges | None = None) -> None:
        await self.release.wait()
        if self.fail_at == len(self.batches):
            raise OSError("disk full")
        self.batches.append((batch, checkpoint))


async def test_turns_recorded_during_a_commit_go_into_the_next_transaction() -> None:
    store = RecordingStore()
    writer = GroupCommitWriter(store)
    ledger = Ledger(fees=FeeSettings(), journal=writer.journal)
    task = asyncio.create_task(writer.run())
    ledger.deposit("a", 1, "BTC", 1)
    first = writer.commit_point()
    await asyncio.sleep(0)
    store.release.clear()
    await asyncio.sleep(0)
    ledger.deposit("b", 1, "BTC", 1)
    second = writer.commit_point()
    ledger.deposit("c", 1, "BTC", 1)
    assert writer.commit_point() is second
    assert not second.done()
    store.release.set()
    await second
    assert first.done()
    assert [[e.transfer_id for e in batch.journal] for batch, _ in store.batches] == [["a"], ["b", "c"]]
    await writer.close()
    await task


async def test_a_failed_commit_fails_its_waiters_and_every_later_one() -> None:
    store = RecordingStore(fail_at=0)
    writer = GroupCommitWriter(store)
    ledger = Ledger(fees=FeeSettings(), journal=writer.journal)
    task = asyncio.create_task(writer.run())
    ledger.deposit("a", 1, "BTC", 1)
    with pytest.raises(OSError, match="disk full"):
        await writer.commit_point()
    ledger.deposit("b", 1, "BTC", 1)
    with pytest.raises(OSError, match="disk full"):
        await writer.commit_point()
    assert store.batches == []
    await writer.close()
    await task


async def test_close_commits_the_rest_with_a_checkpoint() -> None:
    store = RecordingStore()
    ledger_box: list[Ledger] = []
    writer = GroupCommitWriter(
        store, checkpoint=lambda: CheckpointChanges(*ledger_box[0].checkpoint_changes())
    )
    ledger = Ledger(fees=FeeSettings(), journal=writer.journal)
    ledger_box.append(ledger)
    task = asyncio.create_task(writer.run())
    ledger.deposit("a", 1, "BTC", 7)
    await writer.close()
    await task
    (batch, none), (empty, checkpoint) = store.batches
    assert [e.transfer_id for e in batch.journal] == ["a"] and none is None
    assert not empty and checkpoint.sequence == 1 and checkpoint.accounts[(1, "BTC")] == (7, 0, 0, 0)


async def test_a_checkpoint_is_taken_early_once_it_would_write_its_bound_of_rows() -> None:
    """Its rows are written on the loop thread: a minute's worth under load would pause every client."""
    store = RecordingStore()
    ledger_box: list[Ledger] = []
    writer = GroupCommitWriter(
        store,
        checkpoint=lambda: CheckpointChanges(*ledger_box[0].checkpoint_changes()),
        checkpoint_interval_s=3600,
        checkpoint_rows_pending=lambda: ledger_box[0].checkpoint_rows_pending(),
        checkpoint_rows_max=3,
    )
    ledger = Ledger(fees=FeeSettings(), journal=writer.journal)
    ledger_box.append(ledger)
    task = asyncio.create_task(writer.run())
    ledger.deposit("a", 1, "BTC", 7)  # the account and the operator's: two rows
    await writer.commit_point()
    assert ledger.hold(10, 1, "BTC", 2) and ledger.hold(11, 1, "BTC", 3)
    await writer.commit_point()
    ledger.deposit("b", 2, "BTC", 1)
    await writer.commit_point()
    assert [checkpoint is not None for _, checkpoint in store.batches] == [False, True, False]
    checkpoint = store.batches[1][1]
    assert checkpoint is not None and set(checkpoint.holds) == {10, 11}
    assert ledger.checkpoint_rows_pending() == 2
    await writer.close()
    await task


async def test_live_orders_are_converted_once_per_batch_as_of_when_it_is_taken() -> None:
    class LiveOrder:
        def __init__(self, order_id: int) -> None:
            self.order_id, self.filled = order_id, 0

    store = RecordingStore()
    conversions: list[int] = []

    def snapshot(order: LiveOrder) -> tuple[int, int]:
        conversions.append(order.order_id)
        return order.order_id, order.filled

    writer = GroupCommitWriter(store, order_record_of=snapshot)  # type: ignore[arg-type]
    task = asyncio.create_task(writer.run())
    order = LiveOrder(7)
    writer.record_order(order)
    order.filled = 3
    writer.record_order(order)
    first = writer.commit_point()
    await first
    order.filled = 5
    writer.record_order(order)
    await writer.commit_point()
    assert [batch.orders for batch, _ in store.batches] == [{7: (7, 3)}, {7: (7, 5)}]
    assert conversions == [7, 7]
    await writer.close()
    await task


async def test_recording_alone_starts_no_transaction() -> None:
    """A commit starts only when someone waits for one, so a turn's records ride together."""
    store = RecordingStore()
    writer = GroupCommitWriter(store)
    ledger = Ledger(fees=FeeSettings(), journal=writer.journal)
    task = asyncio.create_task(writer.run())
    ledger.deposit("a", 1, "BTC", 1)
    writer.record_fix_session("S", 2, 1, [])
    for _ in range(5):
        await asyncio.sleep(0)
    assert store.batches == []
    ledger.deposit("b", 1, "BTC", 1)
    await writer.commit_point()
    ((batch, _),) = store.batches
    assert [e.transfer_id for e in batch.journal] == ["a", "b"] and batch.fix_sessions == {"S": (2, 1)}
    await writer.close()
    await task


async def test_close_commits_records_nobody_waited_for() -> None:
    store = RecordingStore()
    writer = GroupCommitWriter(store)
    task = asyncio.create_task(writer.run())
    writer.record_fix_session("S", 5, 3, [])
    await writer.close()
    await task
    ((batch, _),) = store.batches
    assert batch.fix_sessions == {"S": (5, 3)}


async def test_fix_frames_past_the_retained_window_are_pruned_every_step() -> None:
    store = RecordingStore()
    writer = GroupCommitWriter(store, fix_messages_retained_max=2_500)
    task = asyncio.create_task(writer.run())
    for seq in range(1, 2 * FIX_PRUNE_STEP_MESSAGES):
        writer.record_fix_session("S", 1, seq + 1, [(seq, b"frame")])
    await writer.commit_point()
    assert store.batches[-1][0].fix_messages_kept_from == {}  # nothing is older than the window yet
    last = 5 * FIX_PRUNE_STEP_MESSAGES
    writer.record_fix_session(
        "S", 1, last + 2, [(seq, b"frame") for seq in range(2 * FIX_PRUNE_STEP_MESSAGES, last + 2)]
    )
    writer.record_fix_session("T", 1, 3, [(2, b"frame")])
    await writer.commit_point()
    assert store.batches[-1][0].fix_messages_kept_from == {"S": last + 2 - 2_500}
    await writer.close()
    await task


async def test_a_reset_fix_session_leaves_nothing_of_its_old_numbering_in_the_open_batch() -> None:
    store = RecordingStore()
    writer = GroupCommitWriter(store, fix_messages_retained_max=10)
    task = asyncio.create_task(writer.run())
    store.release.clear()
    writer.record_fix_session("S", 1, 1, [(1, b"first")])
    writer.commit_point()
    await asyncio.sleep(0)  # the first batch is taken: it commits before any reset
    old = range(FIX_PRUNE_STEP_MESSAGES - 5, FIX_PRUNE_STEP_MESSAGES + 5)
    writer.record_fix_session("S", 40, old[-1] + 1, [(seq, b"old") for seq in old])
    writer.record_fix_session("T", 3, 3, [(2, b"other")])
    writer.discard_fix_session("S")
    writer.record_fix_session("S", 2, 2, [(1, b"new logon")])
    store.release.set()
    await writer.commit_point()
    await writer.close()
    await task
    (taken, _), (reset, _) = store.batches[:2]
    assert taken.fix_messages == [("S", 1, b"first")]
    assert reset.fix_sessions == {"T": (3, 3), "S": (2, 2)}
    assert reset.fix_messages == [("T", 2, b"other"), ("S", 1, b"new logon")]
    assert reset.fix_messages_kept_from == {}


async def test_a_next_order_id_already_in_a_batch_is_not_written_again() -> None:
    """Recorded every turn, the counter goes to the store only when it changed: the batch that
    carried the value commits before any later one, or none of the later ones commit."""
    store = RecordingStore()
    writer = GroupCommitWriter(store)
    task = asyncio.create_task(writer.run())
    store.release.clear()
    writer.record_next_order_id(5)
    writer.commit_point()
    await asyncio.sleep(0)  # taken with 5, not yet committed
    writer.record_next_order_id(5)
    writer.record_fix_session("S", 2, 2, [])
    second = writer.commit_point()
    store.release.set()
    await second
    writer.record_next_order_id(5)
    writer.record_next_order_id(6)
    writer.record_next_order_id(6)
    await writer.commit_point()
    writer.record_next_order_id(6)  # nothing new: close has no batch left to commit
    await writer.close()
    await task
    assert [batch.next_order_id for batch, _ in store.batches] == [5, None, 6]
