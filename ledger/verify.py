"""``ledger verify``: every invariant of the ledger, checked against what the store holds.

Works on a running server's store and on a stopped one: it reads the checkpoint and the journal,
rebuilds the balances twice (from the checkpoint plus the journal after it, and from the whole journal
alone) and compares them, then checks the holds against the open orders.
"""

from __future__ import annotations

from collections.abc import Mapping

from config.settings import FeeSettings, SymbolSettings
from ledger.ledger import Ledger
from ledger.store import OrderRecord, Store


def open_order_spend(orders: list[OrderRecord], symbols: Mapping[str, SymbolSettings]) -> dict[int, int]:
    """What each open order can still spend: quote for a resting buy, base for a resting sell."""
    spend = {}
    for order in orders:
        leaves = order.quantity_minor - order.filled_minor
        if order.side == "BUY":
            spend[order.order_id] = symbols[order.symbol].notional_minor(order.price_minor, leaves)
        else:
            spend[order.order_id] = leaves
    return spend


async def verify_store(store: Store, fees: FeeSettings, symbols: Mapping[str, SymbolSettings]) -> list[str]:
    """Every problem found, in words; an empty list means the ledger on disk is sound."""
    state = await store.load()
    checkpoint = state.checkpoint
    restored = Ledger.restore(
        fees=fees,
        checkpoint_sequence=checkpoint.sequence,
        accounts=checkpoint.accounts,
        holds=checkpoint.holds,
        transfers=state.transfers,
        journal_after_checkpoint=state.journal_after_checkpoint,
    )
    from_postings = Ledger(fees=fees)
    from_postings.replay(await store.journal(0))
    problems = restored.verify(open_order_spend(state.open_orders, symbols))
    problems += restored.differences(from_postings)
    return problems
