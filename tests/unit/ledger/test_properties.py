"""Random sequences of deposits, holds, fills, releases and withdrawals keep every ledger invariant.

Checkpoints taken at random points (changes since the previous one, applied to a stored copy) always
equal the whole state, and restoring from the last one plus the journal after it rebuilds the ledger.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from book.types import Side, TradeExecuted
from config import load_settings
from config.settings import FeeSettings
from ledger.ledger import InsufficientFunds, Ledger

SYMBOL = load_settings("config/demo.toml").symbols["ETHBTC"]
ACCOUNTS = st.integers(1, 4)
AMOUNTS = st.integers(1, 10**9)

deposits = st.tuples(st.just("deposit"), ACCOUNTS, st.sampled_from(["ETH", "BTC"]), AMOUNTS)
buys = st.tuples(st.just("buy"), ACCOUNTS, st.integers(1, 50), st.integers(1, 10**5))
sells = st.tuples(st.just("sell"), ACCOUNTS, st.integers(1, 50))
fills = st.tuples(st.just("fill"), st.integers(0, 30), st.integers(0, 30), st.integers(1, 50), st.booleans())
operations = st.lists(
    st.one_of(
        deposits,
        deposits,
        buys,
        sells,
        fills,
        fills,
        st.tuples(st.just("withdraw"), ACCOUNTS, st.sampled_from(["ETH", "BTC"]), AMOUNTS),
        st.tuples(st.just("release"), st.integers(0, 30), st.integers(1, 10**8)),
        st.tuples(st.just("rehold"), st.integers(0, 30), st.integers(1, 10**8)),
        st.tuples(st.just("checkpoint")),
    ),
    min_size=30,
    max_size=150,
)


@settings(max_examples=300, deadline=None)
@given(operations, st.integers(0, 50), st.integers(0, 50))
def test_invariants_hold_after_every_operation(steps: list[tuple], maker_bps: int, taker_bps: int) -> None:
    journal: list = []
    ledger = Ledger(fees=FeeSettings(maker_bps=maker_bps, taker_bps=taker_bps), journal=journal.append)
    step_minor = SYMBOL.step_size_minor
    buys: list[tuple[int, int]] = []  # (order id, price per whole ETH)
    sells: list[int] = []
    orders: dict[int, int] = {}
    owners: dict[int, tuple[int, str]] = {}
    stored_sequence, stored_accounts, stored_holds = 0, {}, {}
    for index, step in enumerate(steps):
        kind = step[0]
        if kind == "deposit":
            ledger.deposit(f"t{index}", step[1], step[2], step[3])
        elif kind == "withdraw":
            before = ledger.balance(step[1], step[2])
            try:
                ledger.withdraw(f"t{index}", step[1], step[2], step[3])
            except InsufficientFunds:
                assert step[3] > before.available_minor
                assert ledger.balance(step[1], step[2]) == before
        elif kind == "buy":
            price = step[3] * SYMBOL.tick_size_minor
            amount = SYMBOL.notional_minor(price, step[2] * step_minor)
            if ledger.hold(index, step[1], "BTC", amount):
                buys.append((index, price))
                orders[index] = amount
                owners[index] = (step[1], "BTC")
        elif kind == "sell":
            if ledger.hold(index, step[1], "ETH", step[2] * step_minor):
                sells.append(index)
                orders[index] = step[2] * step_minor
                owners[index] = (step[1], "ETH")
        elif kind == "fill" and buys and sells:
            buy_id, price = buys[step[1] % len(buys)]
            sell_id = sells[step[2] % len(sells)]
            affordable = (
                ledger.hold_remaining(buy_id) * 10**SYMBOL.base_scale // price // step_minor * step_minor
            )
            quantity = min(step[3] * step_minor, ledger.hold_remaining(sell_id), affordable)
            quote = SYMBOL.notional_minor(price, quantity)
            if quantity and quote <= ledger.hold_remaining(buy_id):
                trade = TradeExecuted(
                    sequence=index,
                    trade_id=index,
                    price_minor=price,
                    quantity_minor=quantity,
                    quote_quantity_minor=quote,
                    aggressor_side=Side.BUY if step[4] else Side.SELL,
                    maker_order_id=0,
                    maker_account_id=0,
                    maker_leaves_minor=0,
                    taker_order_id=0,
                    taker_account_id=0,
                    taker_leaves_minor=0,
                    ts_ns=index,
                )
                ledger.settle_trade(trade, symbol=SYMBOL, buyer_hold_id=buy_id, seller_hold_id=sell_id)
                orders[buy_id] -= quote
                orders[sell_id] -= quantity
        elif kind == "release" and orders:
            order_id = sorted(orders)[step[1] % len(orders)]
            amount = min(step[2], ledger.hold_remaining(order_id))
            if amount:
                ledger.release(order_id, amount)
                orders[order_id] -= amount
        elif kind == "rehold" and orders:
            order_id = sorted(orders)[step[1] % len(orders)]
            if ledger.hold(order_id, *owners[order_id], step[2]):
                orders[order_id] += step[2]
        elif kind == "checkpoint":
            stored_sequence, accounts, holds = ledger.checkpoint_changes()
            stored_accounts.update(accounts)
            for hold_id, hold in holds.items():
                if hold is None:
                    assert hold_id in stored_holds, f"hold {hold_id} removed but never stored"
                    del stored_holds[hold_id]
                else:
                    stored_holds[hold_id] = hold
            assert stored_accounts == ledger.accounts()
            assert stored_holds == {
                hold_id: (h.account_id, h.asset, h.remaining_minor) for hold_id, h in ledger.holds().items()
            }
        assert ledger.verify({order_id: spend for order_id, spend in orders.items() if spend}) == []
    rebuilt = Ledger(fees=ledger.fees)
    rebuilt.replay(journal)
    assert ledger.differences(rebuilt) == []
    restored = Ledger.restore(
        fees=ledger.fees,
        checkpoint_sequence=stored_sequence,
        accounts=stored_accounts,
        holds=stored_holds,
        transfers=[],
        journal_after_checkpoint=[entry for entry in journal if entry.sequence > stored_sequence],
    )
    assert ledger.differences(restored) == []
