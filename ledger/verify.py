"""``ledger verify``: every invariant of the ledger, checked against what the store holds.

Works on a running server's store and on a stopped one: it reads the checkpoint and the journal,
rebuilds the balances twice (from the checkpoint plus the journal after it, and from the whole journal
alone) and compares them, then checks the holds against the open orders. Everything is read from one
snapshot, so commits made meanwhile cannot look like differences, and the whole journal is replayed a
page at a time, yielding to the loop between pages, so a long history neither fills memory nor stalls
a running server.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping

from config.settings import FeeSettings, SymbolSettings
from ledger.ledger import Ledger
from ledger.store import OrderRecord, Store, StoreSnapshot

JOURNAL_PAGE_ENTRIES = 2_000  # journal entries replayed between two yields to the loop (a few ms)


def open_order_spend(orders: list[OrderRecord], symbols: Mapping[str, SymbolSettings]) -> dict[int, int]:
    """What each open order on a configured symbol can still spend: quote for a resting buy, base for a
    resting sell (see ``unlisted_symbol_problems`` for the others)."""
    spend = {}
    for order in orders:
        if order.symbol not in symbols:
            continue
        leaves = order.quantity_minor - order.filled_minor
        if order.side == "BUY":
            spend[order.order_id] = symbols[order.symbol].notional_minor(order.price_minor, leaves)
        else:
            spend[order.order_id] = leaves
    return spend


def unlisted_symbol_problems(orders: list[OrderRecord], symbols: Mapping[str, SymbolSettings]) -> list[str]:
    """Open orders on symbols the configuration no longer lists: without a symbol's scales their spend
    is unknown, so their holds read as orphaned; this says why."""
    counts = Counter(order.symbol for order in orders if order.symbol not in symbols)
    return [
        f"{count} open order{'s are' if count > 1 else ' is'} on {symbol}, which the configuration does "
        "not list: their holds cannot be checked"
        for symbol, count in sorted(counts.items())
    ]


def open_order_problems(
    ledger: Ledger, orders: list[OrderRecord], symbols: Mapping[str, SymbolSettings]
) -> list[str]:
    """The ledger's invariants, its holds checked against ``orders``, and first the open orders whose
    symbol the configuration no longer lists (whose holds it cannot check)."""
    return unlisted_symbol_problems(orders, symbols) + ledger.verify(open_order_spend(orders, symbols))


async def _replay_in_pages(ledger: Ledger, snapshot: StoreSnapshot, after: int, until: int) -> None:
    """Replay the journal ``after < sequence <= until`` a page at a time, yielding between pages."""
    for start in range(after, until, JOURNAL_PAGE_ENTRIES):
        ledger.replay(await snapshot.journal_range(start, min(start + JOURNAL_PAGE_ENTRIES, until)))
        await asyncio.sleep(0)


async def verify_store(store: Store, fees: FeeSettings, symbols: Mapping[str, SymbolSettings]) -> list[str]:
    """Every problem found, in words; an empty list means the ledger on disk is sound."""
    async with store.snapshot() as snapshot:
        state = await snapshot.load()
        checkpoint = state.checkpoint
        restored = Ledger.restore(
            fees=fees,
            checkpoint_sequence=checkpoint.sequence,
            accounts=checkpoint.accounts,
            holds=checkpoint.holds,
            transfers=state.transfers,
            journal_after_checkpoint=(),
        )
        last_sequence = await snapshot.last_sequence()
        await _replay_in_pages(restored, snapshot, checkpoint.sequence, last_sequence)
        from_postings = Ledger(fees=fees)
        await _replay_in_pages(from_postings, snapshot, 0, last_sequence)
    problems = open_order_problems(restored, state.open_orders, symbols)
    problems += restored.differences(from_postings)
    return problems
