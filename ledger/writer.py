"""The group-commit writer: what the loop produced since the last commit, made durable in one transaction.

Producers record synchronously (journal entries from the ledger, order states, book numbering) and ask
``commit_point()`` for a future that completes when the transaction holding everything recorded so far
has committed. Recording starts no transaction, asking for a commit point does: a FIX sequence number
recorded as a message is read then rides with the order that message places, instead of costing a
commit of its own that the order would wait behind. One transaction runs at a time; while it runs,
the next batch fills, so a busy loop commits many turns at once and an idle one commits each turn on
its own. Commits complete in order.
A failed commit fails the futures of its batch and every later one: the process must stop, since
clients may not be told about what is not durable.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import structlog

from book.reports import OrderAmendment
from book.types import MatchPrevented
from config.settings import LimitSettings
from ledger.journal import JournalEntry
from ledger.store import (
    BookNumbering,
    CheckpointChanges,
    CommitBatch,
    OrderRecord,
    Store,
    prevented_match_row,
)

log = structlog.get_logger("ledger.writer")
FIX_PRUNE_STEP_MESSAGES = 1000


class GroupCommitWriter:
    """Collects records and commits everything recorded since the last transaction began as one transaction.

    A batch is never split: a transaction holds whole loop turns, so the ledger, the order states and
    the book numbering on disk always agree. Its size is bounded by what the producers may do per turn
    (book queue bounds) times the turns that fit in one commit's duration.
    """

    def __init__(
        self,
        store: Store,
        *,
        checkpoint: Callable[[], CheckpointChanges] | None = None,
        checkpoint_interval_s: float = 60.0,
        checkpoint_rows_pending: Callable[[], int] | None = None,
        checkpoint_rows_max: int = LimitSettings().checkpoint_rows_max,
        observe_commit_s: Callable[[float], None] | None = None,
        order_record_of: Callable[[Any], OrderRecord] | None = None,
        fix_messages_retained_max: int = LimitSettings().fix_messages_retained_max,
    ) -> None:
        self._store = store
        self._fix_messages_retained_max = fix_messages_retained_max
        self._batch = CommitBatch()
        self._batch_done: asyncio.Future[None] | None = None
        # What ``run`` awaits while there is nothing to commit: a future of its own, which the first
        # ``commit_point`` (or ``close``) completes, costs less per commit than an ``asyncio.Event``.
        self._wakeup: asyncio.Future[None] | None = None
        self._failure: BaseException | None = None
        self._closing = False
        self._checkpoint = checkpoint
        self._checkpoint_interval_s = checkpoint_interval_s
        self._checkpoint_rows_pending = checkpoint_rows_pending
        self._checkpoint_rows_max = checkpoint_rows_max
        self._last_checkpoint_s = time.monotonic()
        self._observe_commit_s = observe_commit_s
        self._order_record_of = order_record_of
        self._stopped = asyncio.Event()
        self._next_order_id_recorded: int | None = None
        self.commits = 0

    # Recording (synchronous, from the loop) ---------------------------------------------------------

    def journal(self, entry: JournalEntry) -> None:
        self._batch.journal.append(entry)

    def record_order(self, order: Any) -> None:
        """Record an order's latest state: an ``OrderRecord``, or with ``order_record_of`` the live order.

        A live order is converted when its batch is taken, once per commit however often it changed,
        and as of the same moment as the journal entries taken with it (turns run whole in between).
        """
        self._batch.orders[order.order_id] = order

    def record_numbering(self, numbering: BookNumbering) -> None:
        self._batch.numbering[numbering.symbol] = numbering

    def record_amendment(self, amendment: OrderAmendment) -> None:
        self._batch.amendments.append(amendment)

    def record_prevented_match(self, symbol: str, match: MatchPrevented) -> None:
        self._batch.prevented_matches.append(prevented_match_row(symbol, match))

    def record_symbol_halted(self, symbol: str, halted: bool) -> None:
        """A symbol's halt or resume, so that it outlives a restart."""
        self._batch.symbol_halted[symbol] = halted

    def record_fix_session(
        self, session_id: str, next_incoming_seq: int, next_outgoing_seq: int, sent: list[tuple[int, bytes]]
    ) -> None:
        """A FIX session's sequence numbers and the frames it is about to send (persist before send).

        Every ``FIX_PRUNE_STEP_MESSAGES`` frames the session's frames older than the retained window go,
        a step's worth at a time, so no commit carries a large delete.
        """
        self._batch.fix_sessions[session_id] = (next_incoming_seq, next_outgoing_seq)
        messages = self._batch.fix_messages
        for seq, frame in sent:  # most calls carry one frame: a loop, not a generator's frame
            messages.append((session_id, seq, frame))
        if sent and sent[-1][0] // FIX_PRUNE_STEP_MESSAGES > (sent[0][0] - 1) // FIX_PRUNE_STEP_MESSAGES:
            kept_from = next_outgoing_seq - self._fix_messages_retained_max
            if kept_from > 1:
                self._batch.fix_messages_kept_from[session_id] = kept_from

    def discard_fix_session(self, session_id: str) -> None:
        """Drop what the open batch holds for a FIX session that is about to be reset.

        Its frames, sequence numbers and prune are in the numbering the reset ends; committed after
        the reset they would bring old numbers back, and a prune from the old numbering would delete
        frames of the new one. Batches already taken commit before the reset (the store's lock is
        first come, first served), so only the open batch needs this.
        """
        batch = self._batch
        batch.fix_sessions.pop(session_id, None)
        batch.fix_messages_kept_from.pop(session_id, None)
        batch.fix_messages = [message for message in batch.fix_messages if message[0] != session_id]

    def record_next_order_id(self, next_order_id: int) -> None:
        """Recorded every turn, put in the batch only when it changed.

        The batch holding the value last recorded commits before any later batch, or no later one
        commits (failures are sticky), so what is on disk after any commit is still the latest value
        (SQLite keeps it in the batch's numbering rows, each the largest it was given: ids only grow).
        """
        if next_order_id != self._next_order_id_recorded:
            self._next_order_id_recorded = next_order_id
            self._batch.next_order_id = next_order_id

    def commit_point(self) -> asyncio.Future[None]:
        """A future for the commit of everything recorded so far."""
        if self._batch_done is None:
            self._batch_done = asyncio.get_running_loop().create_future()
            if self._failure is not None:
                self._batch_done.set_exception(self._failure)
            self._wake()
        return self._batch_done

    def _wake(self) -> None:
        wakeup = self._wakeup
        if wakeup is not None:
            self._wakeup = None
            if not wakeup.done():
                wakeup.set_result(None)

    # The writer task ------------------------------------------------------------------------------

    async def run(self) -> None:
        """Commit batches until ``close``; never returns early on a failed commit (futures carry it)."""
        try:
            while True:
                if self._batch_done is not None or (self._closing and self._batch):
                    await self._commit_once()
                elif self._closing:
                    if self._checkpoint is not None and self._failure is None:
                        await self._store.commit(CommitBatch(), self._checkpoint())
                    return
                else:
                    self._wakeup = asyncio.get_running_loop().create_future()
                    await self._wakeup
        finally:
            self._stopped.set()

    async def _commit_once(self) -> None:
        batch, done = self._take()
        checkpoint = None
        if self._checkpoint is not None and self._checkpoint_due():
            checkpoint = self._checkpoint_after(batch)
        started = time.perf_counter()
        try:
            if self._failure is not None:
                raise self._failure
            await self._store.commit(batch, checkpoint)
        except BaseException as error:
            self._failure = error
            log.critical("commit failed", error=repr(error), entries=len(batch.journal))
            if done is not None and not done.done():
                done.set_exception(error)
            if isinstance(error, asyncio.CancelledError):
                raise
            return
        self.commits += 1
        if checkpoint is not None:
            self._last_checkpoint_s = time.monotonic()
        if self._observe_commit_s is not None:
            self._observe_commit_s(time.perf_counter() - started)
        if done is not None and not done.done():
            done.set_result(None)

    def _take(self) -> tuple[CommitBatch, asyncio.Future[None] | None]:
        """Take everything recorded so far, with the future its producers wait on."""
        batch = self._batch
        done = self._batch_done
        self._batch, self._batch_done = CommitBatch(), None
        convert = self._order_record_of
        if convert is not None and batch.orders:
            batch.orders = {order_id: convert(order) for order_id, order in batch.orders.items()}
        return batch, done

    def _checkpoint_due(self) -> bool:
        """Every ``checkpoint_interval_s``, or sooner once it would write ``checkpoint_rows_max`` rows. In
        bench_gateway's mix about 0.4 changed holds outlive each order, so at 5,000 orders/s a minute's
        checkpoint would write some 115,000 rows, a pause of about 80 ms, and more with the rate."""
        if time.monotonic() - self._last_checkpoint_s >= self._checkpoint_interval_s:
            return True
        pending = self._checkpoint_rows_pending
        return pending is not None and pending() >= self._checkpoint_rows_max

    def _checkpoint_after(self, batch: CommitBatch) -> CheckpointChanges:
        """What changed up to right after ``batch``: nothing newer was recorded since it was taken."""
        assert self._checkpoint is not None and not self._batch
        return self._checkpoint()

    async def close(self) -> None:
        """Let ``run`` commit what is left, write a checkpoint and stop; wait for it."""
        self._closing = True
        self._wake()
        await self._stopped.wait()
