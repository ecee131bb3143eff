"""Worked examples of every kind of transfer, fee rounding and idempotency, and the invariants."""

from __future__ import annotations

import pytest

from book.types import Side, TradeExecuted
from config import load_settings
from config.settings import FeeSettings
from ledger.journal import EntryKind, HoldEntry, TradeEntry
from ledger.ledger import (
    AMOUNT_MINOR_MAX,
    ESCROW,
    FEES,
    OPERATOR,
    AccountBalance,
    InsufficientFunds,
    Ledger,
    LedgerError,
    TransferRequest,
    fee_minor,
    statement,
)

SETTINGS = load_settings("config/demo.toml")
BTCUSDT = SETTINGS.symbols["BTCUSDT"]
ALICE, BOB = 1, 2
COIN = 10**8


def trade(quantity: int, price: int, aggressor: Side, trade_id: int = 1) -> TradeExecuted:
    return TradeExecuted(
        sequence=1,
        trade_id=trade_id,
        price_minor=price,
        quantity_minor=quantity,
        quote_quantity_minor=price * quantity // COIN,
        aggressor_side=aggressor,
        maker_order_id=0,
        maker_account_id=0,
        maker_leaves_minor=0,
        taker_order_id=0,
        taker_account_id=0,
        taker_leaves_minor=0,
        ts_ns=5,
    )


@pytest.fixture
def ledger() -> tuple[Ledger, list]:
    journal: list = []
    return Ledger(fees=FeeSettings(maker_bps=10, taker_bps=20), journal=journal.append), journal


def test_deposit_and_withdrawal_move_money_against_the_operator(ledger) -> None:
    book, _ = ledger
    book.deposit("d1", ALICE, "USDT", 100 * COIN)
    book.withdraw("w1", ALICE, "USDT", 30 * COIN)
    assert book.balance(ALICE, "USDT") == AccountBalance(70 * COIN, 70 * COIN, 0)
    assert book.accounts()[(OPERATOR, "USDT")] == (30 * COIN, 100 * COIN, 0, 0)
    with pytest.raises(InsufficientFunds):
        book.withdraw("w2", ALICE, "USDT", 71 * COIN)
    assert book.balance(ALICE, "USDT").total_minor == 70 * COIN
    assert book.verify() == []


def test_transfers_are_idempotent_by_id(ledger) -> None:
    book, journal = ledger
    first = book.deposit("d1", ALICE, "USDT", 5)
    assert book.deposit("d1", ALICE, "USDT", 5) == first
    assert book.balance(ALICE, "USDT").total_minor == 5
    assert len(journal) == 1
    with pytest.raises(LedgerError, match="different contents"):
        book.deposit("d1", ALICE, "USDT", 6)


def test_linked_transfers_apply_all_or_nothing(ledger) -> None:
    book, journal = ledger
    book.deposit("d0", ALICE, "BTC", 10)
    batch = [
        TransferRequest(EntryKind.DEPOSIT, "d1", BOB, "BTC", 5),
        TransferRequest(EntryKind.WITHDRAWAL, "w1", ALICE, "BTC", 6),
        TransferRequest(EntryKind.WITHDRAWAL, "w2", ALICE, "BTC", 6),
    ]
    with pytest.raises(InsufficientFunds):
        book.transfer(batch)
    assert book.balance(BOB, "BTC").total_minor == 0
    assert len(journal) == 1
    book.transfer(batch[:2])
    assert (book.balance(ALICE, "BTC").total_minor, book.balance(BOB, "BTC").total_minor) == (4, 5)


def test_bad_transfers_are_refused(ledger) -> None:
    book, _ = ledger
    for request in (
        TransferRequest(EntryKind.DEPOSIT, "a", ALICE, "BTC", 0),
        TransferRequest(EntryKind.DEPOSIT, "b", OPERATOR, "BTC", 1),
        TransferRequest(EntryKind.HOLD, "c", ALICE, "BTC", 1),
    ):
        with pytest.raises(LedgerError):
            book.transfer([request])


def test_holds_reserve_and_release(ledger) -> None:
    book, _ = ledger
    book.deposit("d1", ALICE, "USDT", 100)
    assert book.hold(7, ALICE, "USDT", 60)
    assert not book.hold(8, ALICE, "USDT", 41)
    assert book.hold(7, ALICE, "USDT", 10)
    assert book.balance(ALICE, "USDT") == AccountBalance(100, 30, 70)
    book.release(7, 25)
    assert book.hold_remaining(7) == 45
    assert book.verify({7: 45}) == []
    assert book.verify({7: 40}) == ["hold 7 is 45 but its order can spend 40"]
    assert book.verify({}) != []
    book.release(7, 45)
    assert book.hold_remaining(7) == 0
    assert book.accounts()[(ESCROW, "USDT")] == (0, 0, 0, 0)


def test_a_fill_posts_both_legs_and_both_fees(ledger) -> None:
    book, journal = ledger
    book.deposit("d1", ALICE, "USDT", 60_000 * COIN)
    book.deposit("d2", BOB, "BTC", 2 * COIN)
    price = 50_000 * COIN
    assert book.hold(10, ALICE, "USDT", price)  # buy 1 BTC at 50,000
    assert book.hold(20, BOB, "BTC", COIN)
    fees = book.settle_trade(
        trade(COIN // 2, price, Side.BUY), symbol=BTCUSDT, buyer_hold_id=10, seller_hold_id=20
    )
    # Alice took (taker, 20 bps of 0.5 BTC), Bob made (maker, 10 bps of 25,000 USDT).
    assert fees == (100_000, 25 * COIN)
    assert book.balance(ALICE, "BTC").total_minor == COIN // 2 - 100_000
    assert book.balance(ALICE, "USDT") == AccountBalance(35_000 * COIN, 10_000 * COIN, 25_000 * COIN)
    assert book.balance(BOB, "USDT").total_minor == 25_000 * COIN - 25 * COIN
    assert book.balance(BOB, "BTC") == AccountBalance(COIN + COIN // 2, COIN, COIN // 2)
    assert book.accounts()[(FEES, "BTC")][0] == 100_000
    entry = journal[-1]
    assert type(entry) is TradeEntry and not entry.buyer_is_maker
    assert book.verify({10: 25_000 * COIN, 20: COIN // 2}) == []


def test_fees_round_up_in_the_exchanges_favour() -> None:
    assert fee_minor(1, 10) == 1
    assert fee_minor(10_000, 10) == 10
    assert fee_minor(10_001, 10) == 11
    assert fee_minor(0, 10) == 0
    assert fee_minor(999, 0) == 0


def test_a_buy_filled_below_its_limit_releases_the_difference(ledger) -> None:
    book, _ = ledger
    book.deposit("d1", ALICE, "USDT", 1_000 * COIN)
    book.deposit("d2", BOB, "BTC", COIN)
    book.hold(10, ALICE, "USDT", 600 * COIN)  # limit 600 for 1 BTC (a tiny market)
    book.hold(20, BOB, "BTC", COIN)
    book.settle_trade(trade(COIN, 500 * COIN, Side.BUY), symbol=BTCUSDT, buyer_hold_id=10, seller_hold_id=20)
    assert book.hold_remaining(10) == 100 * COIN
    book.release(10, 100 * COIN)
    assert book.balance(ALICE, "USDT") == AccountBalance(500 * COIN, 500 * COIN, 0)
    assert book.verify({}) == []


def test_replaying_the_journal_rebuilds_the_same_ledger(ledger) -> None:
    book, journal = ledger
    book.deposit("d1", ALICE, "USDT", 60_000 * COIN)
    book.deposit("d2", BOB, "BTC", 2 * COIN)
    book.hold(10, ALICE, "USDT", 50_000 * COIN)
    book.hold(20, BOB, "BTC", COIN)
    book.settle_trade(
        trade(COIN, 50_000 * COIN, Side.SELL), symbol=BTCUSDT, buyer_hold_id=10, seller_hold_id=20
    )
    book.withdraw("w1", BOB, "USDT", 100 * COIN)
    rebuilt = Ledger(fees=book.fees)
    rebuilt.replay(journal)
    assert book.differences(rebuilt) == []
    assert rebuilt.sequence == book.sequence
    assert rebuilt.deposit("d1", ALICE, "USDT", 60_000 * COIN) == journal[0]


def test_statement_shows_postings_with_a_running_balance(ledger) -> None:
    book, journal = ledger
    book.deposit("d1", ALICE, "USDT", 60_000 * COIN)
    book.deposit("d2", BOB, "BTC", 2 * COIN)
    book.hold(10, ALICE, "USDT", 50_000 * COIN)
    book.hold(20, BOB, "BTC", COIN)
    book.settle_trade(
        trade(COIN, 50_000 * COIN, Side.SELL), symbol=BTCUSDT, buyer_hold_id=10, seller_hold_id=20
    )
    lines = statement(journal, ALICE, "USDT")
    assert [(line.change_minor, line.balance_minor) for line in lines] == [
        (60_000 * COIN, 60_000 * COIN),
        (-50_000 * COIN, 10_000 * COIN),
    ]
    btc = statement(journal, ALICE, "BTC")
    assert btc[-1].balance_minor == book.balance(ALICE, "BTC").total_minor


def test_a_hold_of_zero_reserves_and_records_nothing(ledger) -> None:
    """A market order that can fill nothing now reserves 0: a hold of 0 would outlive its order."""
    book, journal = ledger
    book.deposit("d1", ALICE, "USDT", 100)
    entries = len(journal)
    assert book.hold(7, ALICE, "USDT", 0)
    assert (book.hold_remaining(7), len(journal)) == (0, entries)
    assert book.verify({}) == []


def test_zero_holds_of_an_older_journal_or_checkpoint_are_dropped_at_restore() -> None:
    zero = HoldEntry(
        sequence=2, kind=EntryKind.HOLD, hold_id=8, account_id=ALICE, asset="USDT", amount_minor=0
    )
    restored = Ledger.restore(
        fees=FeeSettings(maker_bps=10, taker_bps=20),
        checkpoint_sequence=1,
        accounts={(ALICE, "USDT"): (100, 0, 0, 0), (OPERATOR, "USDT"): (0, 100, 0, 0)},
        holds={7: (ALICE, "USDT", 0)},
        transfers=[],
        journal_after_checkpoint=[zero],
    )
    assert restored.verify({}) == []
    assert restored.checkpoint_changes()[2] == {7: None}


def test_what_is_in_circulation_is_bounded_not_what_was_ever_deposited(ledger) -> None:
    """A balance must fit the store's 64-bit columns; money deposited and withdrawn again takes no room."""
    book, _ = ledger
    book.deposit("d1", ALICE, "USDT", AMOUNT_MINOR_MAX)
    with pytest.raises(LedgerError, match="circulation"):
        book.deposit("d2", BOB, "USDT", 1)
    book.withdraw("w1", ALICE, "USDT", AMOUNT_MINOR_MAX)
    book.deposit("d3", BOB, "USDT", AMOUNT_MINOR_MAX)
    assert book.balance(BOB, "USDT").total_minor == AMOUNT_MINOR_MAX


def test_deposits_of_one_batch_count_together_against_the_bound(ledger) -> None:
    book, journal = ledger
    half = AMOUNT_MINOR_MAX // 2 + 1
    batch = [
        TransferRequest(EntryKind.DEPOSIT, "d1", ALICE, "USDT", half),
        TransferRequest(EntryKind.DEPOSIT, "d2", BOB, "USDT", half),
    ]
    with pytest.raises(LedgerError, match="circulation"):
        book.transfer(batch)
    assert journal == [] and book.balance(ALICE, "USDT").total_minor == 0
