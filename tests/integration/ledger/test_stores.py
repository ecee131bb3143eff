"""The same suite on SQLite and PostgreSQL: commit, load, recover, idempotency, FIX session state."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from book.order_book import OrderBook
from book.reports import OrderAmendment, PreventedMatchRecord
from book.types import (
    OrderStatus,
    OrderType,
    SelfTradePrevention,
    Side,
    SubmitOrder,
    TimeInForce,
    TradeExecuted,
)
from config import load_settings
from config.settings import FeeSettings
from gateway.book_task import BookTask, Request, TurnOutput
from gateway.orders import OrderState
from gateway.recovery import order_record, order_state, restore_ledger
from ledger import verify
from ledger.journal import EntryKind, HoldEntry
from ledger.ledger import AMOUNT_MINOR_MAX, OPERATOR, Ledger
from ledger.store import (
    ApiKeyRecord,
    BookNumbering,
    CheckpointChanges,
    CommitBatch,
    FixSessionRecord,
    HistoryQuery,
    OrderRecord,
    PreventedMatchQuery,
)
from ledger.verify import verify_store
from ledger.writer import GroupCommitWriter

SETTINGS = load_settings("config/demo.toml")
BTCUSDT = SETTINGS.symbols["BTCUSDT"]
COIN = 10**8
FEES = FeeSettings(maker_bps=10, taker_bps=20)


def order(order_id: int, status: str = "NEW", priority: int = 0, **changes) -> OrderRecord:
    values = dict(
        order_id=order_id,
        symbol="BTCUSDT",
        account_id=1,
        client_order_id=f"c{order_id}",
        original_client_order_id="",
        side="BUY",
        order_type="LIMIT",
        time_in_force="GTC",
        self_trade_prevention="NONE",
        price_minor=50_000 * COIN,
        quantity_minor=COIN,
        quote_quantity_minor=0,
        status=status,
        filled_minor=0,
        cumulative_quote_minor=0,
        commission_minor=0,
        commission_asset="",
        created_ns=1,
        updated_ns=1,
        origin="test",
        priority_sequence=priority or order_id,
        strategy="",
    )
    values.update(changes)
    return OrderRecord(**values)


def trade(trade_id: int, quantity: int, price: int) -> TradeExecuted:
    return TradeExecuted(
        sequence=trade_id,
        trade_id=trade_id,
        price_minor=price,
        quantity_minor=quantity,
        quote_quantity_minor=price * quantity // COIN,
        aggressor_side=Side.BUY,
        maker_order_id=0,
        maker_account_id=0,
        maker_leaves_minor=0,
        taker_order_id=0,
        taker_account_id=0,
        taker_leaves_minor=0,
        ts_ns=1_000 + trade_id,
    )


async def trading_day(store) -> Ledger:
    """Deposits, holds, two fills and a release, committed through the writer."""
    writer = GroupCommitWriter(store)
    ledger = Ledger(fees=FEES, journal=writer.journal)
    task = asyncio.create_task(writer.run())
    alice = await store.create_account("alice", 1)
    bob = await store.create_account("bob", 1)
    ledger.deposit("d1", alice, "USDT", 100_000 * COIN)
    ledger.deposit("d2", bob, "BTC", 3 * COIN)
    ledger.hold(10, alice, "USDT", 100_000 * COIN)
    ledger.hold(20, bob, "BTC", 2 * COIN)
    ledger.settle_trade(trade(1, COIN, 40_000 * COIN), symbol=BTCUSDT, buyer_hold_id=10, seller_hold_id=20)
    ledger.settle_trade(
        trade(2, COIN // 2, 41_000 * COIN), symbol=BTCUSDT, buyer_hold_id=10, seller_hold_id=20
    )
    ledger.release(10, 10_000 * COIN)
    writer.record_order(order(10, "PARTIALLY_FILLED", filled_minor=3 * COIN // 2))
    writer.record_order(order(20, "NEW", account_id=bob, side="SELL"))
    writer.record_numbering(BookNumbering("BTCUSDT", 57, 3))
    writer.record_next_order_id(21)
    await writer.commit_point()
    await writer.close()
    await task
    return ledger


async def test_what_was_committed_is_loaded_and_rebuilds_the_ledger(store_factory) -> None:
    store = await store_factory()
    ledger = await trading_day(store)
    reopened = await store_factory()
    state = await reopened.load()
    rebuilt = Ledger(fees=FEES)
    rebuilt.replay(state.journal_after_checkpoint)
    assert ledger.differences(rebuilt) == []
    assert rebuilt.verify({10: ledger.hold_remaining(10), 20: ledger.hold_remaining(20)}) == []
    assert [o.order_id for o in state.open_orders] == [10, 20]
    assert state.open_orders[0].filled_minor == 3 * COIN // 2
    assert state.numbering == {"BTCUSDT": BookNumbering("BTCUSDT", 57, 3)}
    assert state.next_order_id == 21
    assert state.accounts == {"alice": 1, "bob": 2}
    assert [t.transfer_id for t in state.transfers] == ["d1", "d2"]


async def test_recovery_from_a_checkpoint_plus_the_journal_after_it(store_factory) -> None:
    store = await store_factory()
    ledger = await trading_day(store)
    await store.commit(CommitBatch(), CheckpointChanges(*ledger.checkpoint_changes()))
    writer = GroupCommitWriter(store)
    ledger_after = Ledger(fees=FEES, journal=writer.journal, sequence=ledger.sequence)
    state = await store.load()
    assert state.journal_after_checkpoint == []
    ledger_after.deposit("d3", 1, "BTC", 5)
    task = asyncio.create_task(writer.run())
    await writer.commit_point()
    await writer.close()
    await task
    state = await (await store_factory()).load()
    assert state.checkpoint.sequence == ledger.sequence
    assert [e.sequence for e in state.journal_after_checkpoint] == [ledger.sequence + 1]


async def test_checkpoint_changes_bring_the_stored_checkpoint_up_to_date(store_factory) -> None:
    store = await store_factory()
    ledger = await trading_day(store)
    await store.commit(CommitBatch(), CheckpointChanges(*ledger.checkpoint_changes()))
    ledger.release(10, ledger.hold_remaining(10))
    ledger.hold(30, 2, "BTC", COIN // 4)
    ledger.hold(31, 2, "BTC", 1)
    ledger.release(31, 1)
    changes = CheckpointChanges(*ledger.checkpoint_changes())
    assert changes.holds == {10: None, 30: (2, "BTC", COIN // 4)}
    assert set(changes.accounts) == {(1, "USDT"), (2, "BTC"), (-1, "USDT"), (-1, "BTC")}
    await store.commit(CommitBatch(), changes)
    checkpoint = (await (await store_factory()).load()).checkpoint
    assert checkpoint.sequence == ledger.sequence
    assert checkpoint.accounts == ledger.accounts()
    assert checkpoint.holds == {20: (2, "BTC", COIN // 2), 30: (2, "BTC", COIN // 4)}


async def test_a_store_with_holds_of_zero_from_an_older_version_recovers_and_sheds_them(
    store_factory,
) -> None:
    """Older versions kept a hold of 0 for a market order that could fill nothing, and never removed it."""
    store = await store_factory()
    deposit = Ledger(fees=FEES).deposit("d1", 1, "BTC", 5)
    zero = HoldEntry(sequence=2, kind=EntryKind.HOLD, hold_id=7, account_id=1, asset="BTC", amount_minor=0)
    later = HoldEntry(sequence=3, kind=EntryKind.HOLD, hold_id=8, account_id=1, asset="BTC", amount_minor=0)
    accounts = {(1, "BTC"): (5, 0, 0, 0), (0, "BTC"): (0, 5, 0, 0), (-1, "BTC"): (0, 0, 0, 0)}
    await store.commit(
        CommitBatch(journal=[deposit, zero]), CheckpointChanges(2, accounts, {7: (1, "BTC", 0)})
    )
    await store.commit(CommitBatch(journal=[later]))
    state = await store.load()
    assert state.checkpoint.holds == {7: (1, "BTC", 0)}
    ledger = restore_ledger(state, FEES, lambda entry: None)
    assert ledger.holds() == {}
    assert ledger.verify({}) == []
    assert await verify_store(store, FEES, SETTINGS.symbols) == []
    await store.commit(CommitBatch(), CheckpointChanges(*ledger.checkpoint_changes()))
    assert (await store.load()).checkpoint.holds == {}


async def test_orders_refused_for_amounts_too_large_to_store_leave_the_commits_going(store_factory) -> None:
    """Recorded, a rejected order naming 10**29 failed its commit (OverflowError, DataError) and all later."""
    store = await store_factory()
    writer = GroupCommitWriter(store, order_record_of=order_record)
    ledger = Ledger(fees=FEES, journal=writer.journal)
    task = BookTask(
        symbol=BTCUSDT,
        book=OrderBook(BTCUSDT),
        funds=ledger,
        record_order=writer.record_order,
        record_amendment=writer.record_amendment,
        record_prevented_match=writer.record_prevented_match,
        queue_max=10,
        open_orders_per_account_max=10,
        default_stp=lambda account_id: SelfTradePrevention.NONE,
        closed_orders_retained_max=10,
        forget_order=lambda state: None,
    )
    running = asyncio.create_task(writer.run())
    ledger.deposit("d1", 1, "USDT", 10**6 * COIN)
    huge = 10**29
    for order_id, amounts in enumerate(
        (
            {"order_type": OrderType.MARKET, "quote_quantity_minor": huge},
            {"order_type": OrderType.LIMIT, "price_minor": huge, "quantity_minor": COIN},
            {"order_type": OrderType.LIMIT, "price_minor": 50_000 * COIN, "quantity_minor": COIN},
        ),
        start=1,
    ):
        command = SubmitOrder(order_id=order_id, account_id=1, side=Side.BUY, **amounts)
        task.process(Request(command=command), TurnOutput())
    await writer.commit_point()
    await writer.close()
    await running
    assert [o.order_id for o in await store.orders(1)] == [3]


async def test_an_order_state_is_stored_and_loaded_field_for_field(store_factory) -> None:
    """``order_record`` builds the row by position: every field lands in its own column and comes back."""
    state = OrderState(
        order_id=7,
        symbol="BTCUSDT",
        account_id=3,
        client_order_id="new-id",
        original_client_order_id="old-id",
        side=Side.SELL,
        order_type=OrderType.LIMIT_MAKER,
        time_in_force=TimeInForce.GTC,
        self_trade_prevention=SelfTradePrevention.EXPIRE_MAKER,
        price_minor=11,
        quantity_minor=13,
        quote_quantity_minor=17,
        status=OrderStatus.PARTIALLY_FILLED,
        filled_minor=5,
        cumulative_quote_minor=19,
        commission_minor=23,
        commission_asset="USDT",
        created_ns=29,
        updated_ns=31,
        origin="fix",
        priority_sequence=37,
        strategy_id=41,
        strategy_type=1_000_043,
    )
    store = await store_factory()
    await store.commit(CommitBatch(orders={state.order_id: order_record(state)}))
    (loaded,) = (await (await store_factory()).load()).open_orders
    assert order_state(loaded) == state
    assert loaded == order_record(state)


async def test_a_symbols_halt_is_committed_and_loaded(store_factory) -> None:
    store = await store_factory()
    assert (await store.load()).symbol_halted == {}
    await store.commit(CommitBatch(symbol_halted={"BTCUSDT": True, "ETHUSDT": True}))
    await store.commit(CommitBatch(symbol_halted={"ETHUSDT": False}))
    halted = (await (await store_factory()).load()).symbol_halted
    assert halted == {"BTCUSDT": True, "ETHUSDT": False}
    assert all(type(value) is bool for value in halted.values())


async def test_a_large_batch_is_written_whole(store_factory) -> None:
    """More rows than one statement takes (SQLite writes them in chunks of many rows)."""
    store = await store_factory()
    rows = 1_000
    frames = [("S", seq, b"8=FIX.4.4\x01" + bytes([seq % 256])) for seq in range(1, rows + 1)]
    await store.commit(
        CommitBatch(
            orders={order_id: order(order_id, priority=order_id) for order_id in range(1, rows + 1)},
            fix_messages=frames,
        )
    )
    state = await store.load()
    assert [o.order_id for o in state.open_orders] == list(range(1, rows + 1))
    assert await store.fetch_sent_messages("S", 1, rows) == [(seq, frame) for _, seq, frame in frames]
    holds = {hold_id: (1, "BTC", hold_id) for hold_id in range(1, rows + 1)}
    await store.commit(CommitBatch(), CheckpointChanges(1, {}, holds))
    await store.commit(CommitBatch(), CheckpointChanges(2, {}, dict.fromkeys(range(1, rows, 2))))
    assert (await store.load()).checkpoint.holds == {
        h: v for h, v in holds.items() if h % 2 == 0 or h == rows
    }


async def test_orders_upsert_and_closed_orders_are_not_recovered(store_factory) -> None:
    store = await store_factory()
    await store.commit(CommitBatch(orders={1: order(1, priority=9), 2: order(2, priority=3)}))
    await store.commit(CommitBatch(orders={1: order(1, "FILLED", priority=9), 3: order(3, priority=5)}))
    state = await store.load()
    assert [o.order_id for o in state.open_orders] == [2, 3]
    assert [o.status for o in await store.orders(1)] == ["FILLED", "NEW", "NEW"]


async def test_the_newest_closed_orders_of_a_symbol_come_back_in_the_order_they_closed(store_factory) -> None:
    store = await store_factory()
    closed = {
        1: order(1, "FILLED", updated_ns=50),
        2: order(2, "CANCELED", updated_ns=40),
        3: order(3, "REJECTED", updated_ns=10),
        4: order(4, "EXPIRED", updated_ns=30),
        5: order(5, "PARTIALLY_FILLED", updated_ns=60),
        6: order(6, "CANCELED", symbol="ETHUSDT", updated_ns=70),
        7: order(7, updated_ns=80),
    }
    await store.commit(CommitBatch(orders=closed))
    # The newest by id (found on the primary key), then in the order they closed.
    assert [o.order_id for o in await store.closed_orders("BTCUSDT", 3)] == [3, 4, 2]
    assert [o.order_id for o in await store.closed_orders("BTCUSDT", 10)] == [3, 4, 2, 1]
    assert [o.order_id for o in await store.closed_orders("ETHUSDT", 10)] == [6]


async def test_a_failed_transaction_writes_nothing(store_factory) -> None:
    store = await store_factory()
    ledger = Ledger(fees=FEES)
    first = ledger.deposit("d1", 1, "BTC", 5)
    await store.commit(CommitBatch(journal=[first]))
    duplicate_sequence = ledger.deposit("d2", 1, "BTC", 5)
    clash = dataclasses.replace(duplicate_sequence, sequence=first.sequence, transfer_id="d3")
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        await store.commit(CommitBatch(journal=[duplicate_sequence, clash], orders={7: order(7)}))
    state = await store.load()
    assert [e.transfer_id for e in state.journal_after_checkpoint] == ["d1"]
    assert state.open_orders == []
    retried = ledger.deposit("d4", 1, "BTC", 5)
    await store.commit(CommitBatch(journal=[retried], orders={7: order(7)}))
    state = await store.load()
    assert [e.transfer_id for e in state.journal_after_checkpoint] == ["d1", "d4"]
    assert [o.order_id for o in state.open_orders] == [7]


async def test_trades_export_by_time_range(store_factory) -> None:
    store = await store_factory()
    await trading_day(store)
    assert [t.trade_id for t in await store.trades(0, 10**18)] == [1, 2]
    assert [t.trade_id for t in await store.trades(1_002, 10**18, "BTCUSDT")] == [2]
    assert await store.trades(0, 10**18, "ETHUSDT") == []
    assert [t.trade_id for t in await store.latest_trades("BTCUSDT", 1)] == [2]
    assert (await store.last_trade_before("BTCUSDT", 1_002)).trade_id == 1
    assert await store.last_trade_before("BTCUSDT", 1_001) is None
    assert await store.last_trade_before("ETHUSDT", 10**18) is None
    assert [t.trade_id for t in await store.latest_trades("BTCUSDT", 10)] == [1, 2]
    assert await store.latest_trades("ETHUSDT", 10) == []
    assert [t.trade_id for t in await store.trades_from_id("BTCUSDT", 0, 10)] == [1, 2]
    assert [t.trade_id for t in await store.trades_from_id("BTCUSDT", 2, 10)] == [2]
    assert [t.trade_id for t in await store.trades_from_id("BTCUSDT", 1, 1)] == [1]
    assert await store.trades_from_id("BTCUSDT", 3, 10) == []
    assert await store.trades_from_id("ETHUSDT", 0, 10) == []


async def test_trades_are_read_in_pages_ordered_by_time_then_sequence(store_factory) -> None:
    """An export of any range goes page by page, resuming after the last (ts_ns, sequence) it got."""
    store = await store_factory()
    journal: list = []
    ledger = Ledger(fees=FEES, journal=journal.append)
    ledger.deposit("d1", 1, "USDT", 10**6 * COIN)
    ledger.deposit("d2", 2, "BTC", COIN)
    ledger.hold(10, 1, "USDT", 10**6 * COIN)
    ledger.hold(20, 2, "BTC", COIN)
    for trade_id, ts_ns in enumerate((9, 5, 5, 7, 5), start=1):
        fill = trade(trade_id, COIN // 100, 40_000 * COIN)._replace(ts_ns=ts_ns)
        ledger.settle_trade(fill, symbol=BTCUSDT, buyer_hold_id=10, seller_hold_id=20)
    await store.commit(CommitBatch(journal=journal))
    pages, after = [], None
    while page := await store.trades(0, 10**18, after=after, limit=2):
        pages.append([t.trade_id for t in page])
        after = (page[-1].ts_ns, page[-1].sequence)
    assert pages == [[2, 3], [5, 4], [1]]
    assert [t.trade_id for t in await store.trades(6, 9, "BTCUSDT", limit=10)] == [4]
    assert [t.trade_id for t in await store.trades(0, 10**18, after=(5, 0))] == [2, 3, 5, 4, 1]


async def test_an_accounts_orders_are_read_by_id_by_update_time_or_newest(store_factory) -> None:
    store = await store_factory()
    orders = {
        1: order(1, "FILLED", updated_ns=30),
        2: order(2, "CANCELED", updated_ns=10),
        3: order(3, account_id=2, updated_ns=20),
        4: order(4, symbol="ETHUSDT", updated_ns=20),
        5: order(5, updated_ns=40),
        6: order(6, "PARTIALLY_FILLED", updated_ns=50),
    }
    await store.commit(CommitBatch(orders=orders))

    async def ids(**query) -> list[int]:
        found = await store.account_orders(HistoryQuery(account_id=1, symbol="BTCUSDT", **query))
        return [o.order_id for o in found]

    assert await ids(limit=500) == [1, 2, 5, 6]
    assert await ids(limit=2) == [5, 6]  # the newest, oldest first
    assert await ids(limit=2, from_id=2) == [2, 5]
    assert await ids(limit=10, since_ns=30) == [1, 5, 6]
    assert await ids(limit=10, since_ns=10, until_ns=40) == [1, 2, 5]
    assert await ids(limit=10, until_ns=30) == [1, 2]
    assert (await store.account_orders(HistoryQuery(account_id=1, symbol="BTCUSDT", limit=1)))[0] == orders[6]


async def test_an_accounts_trades_are_one_per_side_it_took(store_factory) -> None:
    store = await store_factory()
    journal: list = []
    ledger = Ledger(fees=FEES, journal=journal.append)
    ledger.deposit("d1", 1, "USDT", 10**6 * COIN)
    ledger.deposit("d2", 2, "BTC", COIN)
    ledger.deposit("d3", 1, "BTC", COIN)
    ledger.hold(10, 1, "USDT", 10**6 * COIN)
    ledger.hold(20, 2, "BTC", COIN)
    ledger.hold(30, 1, "BTC", COIN)
    for trade_id, seller_hold_id in ((1, 20), (2, 30), (3, 20), (4, 30)):
        fill = trade(trade_id, COIN // 100, 40_000 * COIN)
        ledger.settle_trade(fill, symbol=BTCUSDT, buyer_hold_id=10, seller_hold_id=seller_hold_id)
    await store.commit(CommitBatch(journal=journal))

    async def sides(account_id: int = 1, **query) -> list[tuple[int, bool]]:
        found = await store.account_trades(HistoryQuery(account_id=account_id, symbol="BTCUSDT", **query))
        return [(t.trade.trade_id, t.is_buyer) for t in found]

    everything = [(1, True), (2, True), (2, False), (3, True), (4, True), (4, False)]
    assert await sides(limit=500) == everything
    assert await sides(limit=3) == everything[3:]
    assert await sides(limit=3, from_id=2) == everything[1:4]
    assert await sides(limit=10, order_id=30) == [(2, False), (4, False)]
    assert await sides(limit=10, since_ns=1_002, until_ns=1_003) == everything[1:4]
    assert await sides(account_id=2, limit=10) == [(1, False), (3, False)]
    assert await store.account_trades(HistoryQuery(account_id=1, symbol="ETHUSDT", limit=10)) == []


async def test_api_keys(store_factory) -> None:
    store = await store_factory()
    account = await store.create_account("carol", 1)
    key = ApiKeyRecord("k1", account, "HMAC", "s3cret", "", "USER_DATA,TRADE", False)
    await store.add_api_key(key)
    assert await store.api_keys() == [key]
    assert await store.revoke_api_key("k1")
    assert not await store.revoke_api_key("nope")
    assert (await store.api_keys())[0].revoked


async def test_fix_sessions_added_at_run_time_are_kept(store_factory) -> None:
    store = await store_factory()
    account = await store.create_account("carol", 1)
    records = [
        FixSessionRecord("CAROL", "GATEWAY", account, "", "scrypt$aa$bb", "", 5, 120, "", 10),
        FixSessionRecord(
            "CAROL2", "GATEWAY", account, "carol", "", "-----BEGIN PUBLIC KEY-----", 1, 60, "22:00", 20
        ),
    ]
    for record in reversed(records):
        await store.add_fix_session_settings(record)
    assert await (await store_factory()).fix_session_settings() == records


async def test_fix_frames_before_a_sessions_kept_from_are_deleted(store_factory) -> None:
    store = await store_factory()
    frames = [(session, seq, f"{session}{seq}".encode()) for session in ("S", "T") for seq in range(1, 11)]
    await store.commit(CommitBatch(fix_messages=frames))
    await store.commit(CommitBatch(fix_messages=[("S", 11, b"S11")], fix_messages_kept_from={"S": 7}))
    assert [seq for seq, _ in await store.fetch_sent_messages("S", 1, 11)] == [7, 8, 9, 10, 11]
    assert len(await store.fetch_sent_messages("T", 1, 11)) == 10


async def test_fix_session_state_survives_a_restart(store_factory) -> None:
    store = await store_factory()
    assert await store.load_fix_session("ALICE-GATEWAY") is None
    await store.save_fix_session(
        "ALICE-GATEWAY",
        next_incoming_seq=5,
        next_outgoing_seq=4,
        sent_messages=[(1, b"a"), (2, b"b"), (3, b"c")],
    )
    reopened = await store_factory()
    assert await reopened.load_fix_session("ALICE-GATEWAY") == (5, 4)
    assert await reopened.fetch_sent_messages("ALICE-GATEWAY", 2, 3) == [(2, b"b"), (3, b"c")]
    await reopened.reset_fix_session("ALICE-GATEWAY")
    assert await reopened.load_fix_session("ALICE-GATEWAY") == (1, 1)
    assert await reopened.fetch_sent_messages("ALICE-GATEWAY", 1, 10) == []


async def test_a_restarted_ledger_remembers_transfer_ids(store_factory) -> None:
    store = await store_factory()
    await trading_day(store)
    state = await (await store_factory()).load()
    journal: list = []
    ledger = Ledger.restore(
        fees=FEES,
        checkpoint_sequence=state.checkpoint.sequence,
        accounts=state.checkpoint.accounts,
        holds=state.checkpoint.holds,
        transfers=state.transfers,
        journal_after_checkpoint=state.journal_after_checkpoint,
        sink=journal.append,
    )
    before = ledger.balance(1, "USDT")
    ledger.deposit("d1", 1, "USDT", 100_000 * COIN)
    assert journal == [] and ledger.balance(1, "USDT") == before


def orders_holding_trading_days_holds() -> dict[int, OrderRecord]:
    """The open orders whose remaining spend is exactly what ``trading_day`` leaves on hold."""
    return {
        10: order(
            10,
            "PARTIALLY_FILLED",
            price_minor=29_500 * COIN,
            quantity_minor=5 * COIN // 2,
            filled_minor=3 * COIN // 2,
        ),
        20: order(
            20,
            "PARTIALLY_FILLED",
            account_id=2,
            side="SELL",
            quantity_minor=2 * COIN,
            filled_minor=3 * COIN // 2,
        ),
    }


async def test_verify_checks_the_store_against_open_orders(store_factory) -> None:
    store = await store_factory()
    await trading_day(store)
    open_orders = orders_holding_trading_days_holds()
    await store.commit(CommitBatch(orders=open_orders))
    assert await verify_store(store, FEES, SETTINGS.symbols) == []
    await store.commit(CommitBatch(orders={20: order(20, "CANCELED", account_id=2, side="SELL")}))
    assert await verify_store(store, FEES, SETTINGS.symbols) == [
        f"hold 20 is {COIN // 2} but its order can spend 0"
    ]


async def test_verify_names_open_orders_on_a_symbol_the_config_no_longer_lists(store_factory) -> None:
    store = await store_factory()
    await trading_day(store)
    await store.commit(CommitBatch(orders=orders_holding_trading_days_holds()))
    symbols = {name: symbol for name, symbol in SETTINGS.symbols.items() if name != "BTCUSDT"}
    assert await verify_store(store, FEES, symbols) == [
        "2 open orders are on BTCUSDT, which the configuration does not list: their holds cannot be checked",
        f"hold 10 is {COIN * 29_500} but its order can spend 0",
        f"hold 20 is {COIN // 2} but its order can spend 0",
    ]


async def test_verify_reads_the_journal_in_pages_before_and_after_the_checkpoint(
    store_factory, monkeypatch
) -> None:
    monkeypatch.setattr(verify, "JOURNAL_PAGE_ENTRIES", 2)
    store = await store_factory()
    ledger = await trading_day(store)
    orders = orders_holding_trading_days_holds()
    await store.commit(CommitBatch(orders=orders), CheckpointChanges(*ledger.checkpoint_changes()))
    after = Ledger(fees=FEES, sequence=ledger.sequence)
    deposits = [after.deposit(f"late{index}", 1, "BTC", COIN) for index in range(5)]
    await store.commit(CommitBatch(journal=deposits))
    assert ledger.sequence > 2 and len(deposits) > 2  # both replays span several pages
    assert await verify_store(store, FEES, SETTINGS.symbols) == []


async def test_trades_aggregated_per_second(store_factory) -> None:
    store = await store_factory()
    await trading_day(store)
    (second,) = await store.trade_seconds(0)
    assert second.symbol == "BTCUSDT" and second.second == 0  # both trades at ts_ns 1,001 and 1,002
    assert (second.first_trade_id, second.last_trade_id, second.count) == (1, 2, 2)
    assert (second.open_minor, second.close_minor) == (40_000 * COIN, 41_000 * COIN)
    assert (second.high_minor, second.low_minor, second.last_quantity_minor) == (
        41_000 * COIN,
        40_000 * COIN,
        COIN // 2,
    )
    assert second.volume_minor == COIN + COIN // 2
    assert second.quote_volume_minor == 40_000 * COIN + 20_500 * COIN
    assert (second.taker_buy_volume_minor, second.taker_buy_quote_volume_minor) == (
        second.volume_minor,
        second.quote_volume_minor,
    )
    assert await store.trade_seconds(10**18) == []


async def test_order_amendments_are_committed_and_read_per_order_oldest_first(store_factory) -> None:
    store = await store_factory()
    amendments = [
        OrderAmendment(execution_id, "BTCUSDT", order_id, account_id, "a", "b", 10, 10 - execution_id, 5)
        for execution_id, order_id, account_id in ((3, 7, 1), (4, 8, 1), (5, 7, 1), (6, 7, 2))
    ]
    await store.commit(CommitBatch(amendments=amendments))
    assert [a.execution_id for a in await store.order_amendments(1, "BTCUSDT", 7, 0, 10)] == [3, 5]
    assert await store.order_amendments(1, "BTCUSDT", 7, 4, 10) == [amendments[2]]
    assert await store.order_amendments(1, "BTCUSDT", 7, 0, 1) == [amendments[0]]
    assert await store.order_amendments(2, "BTCUSDT", 7, 0, 10) == [amendments[3]]  # another account's
    assert await store.order_amendments(1, "ETHUSDT", 7, 0, 10) == []


async def test_prevented_matches_are_committed_and_read_by_id_or_by_order(store_factory) -> None:
    store = await store_factory()
    records = [
        PreventedMatchRecord("BTCUSDT", match_id, "EXPIRE_MAKER", 100, maker, 1, 5, taker, 1, 0, 9)
        for match_id, maker, taker in ((0, 7, 8), (1, 7, 9), (2, 10, 7), (3, 11, 12))
    ]
    await store.commit(CommitBatch(prevented_matches=records))
    by_order = PreventedMatchQuery(order_id=7)
    assert await store.prevented_matches(1, "BTCUSDT", by_order) == records[:3]  # as maker or taker
    later = PreventedMatchQuery(order_id=7, from_prevented_match_id=1, limit=1)
    assert await store.prevented_matches(1, "BTCUSDT", later) == [records[1]]
    by_id = PreventedMatchQuery(prevented_match_id=3)
    assert await store.prevented_matches(1, "BTCUSDT", by_id) == [records[3]]
    assert await store.prevented_matches(2, "BTCUSDT", by_order) == []  # another account's
    assert await store.prevented_matches(1, "ETHUSDT", by_id) == []


async def test_trades_aggregated_per_candle_of_any_length_and_start(store_factory) -> None:
    store = await store_factory()
    await trading_day(store)  # trades 1 and 2 at ts_ns 1,001 and 1,002: millisecond 0
    (minute,) = await store.trade_candles("BTCUSDT", 60_000, 0, 0, 10**18)
    assert (minute.start_ms, minute.first_trade_id, minute.last_trade_id, minute.count) == (0, 1, 2, 2)
    assert (minute.open_minor, minute.high_minor, minute.low_minor, minute.close_minor) == (
        40_000 * COIN,
        41_000 * COIN,
        40_000 * COIN,
        41_000 * COIN,
    )
    assert (minute.volume_minor, minute.taker_buy_volume_minor) == (COIN + COIN // 2, COIN + COIN // 2)
    assert minute.quote_volume_minor == minute.taker_buy_quote_volume_minor == 60_500 * COIN
    (shifted,) = await store.trade_candles("BTCUSDT", 60_000, 45_000, 0, 10**18)
    assert shifted.start_ms == -45_000  # buckets start where ts_ms + 45 s is a whole minute
    (later,) = await store.trade_candles("BTCUSDT", 1_000, 0, 1_002, 10**18)
    assert (later.first_trade_id, later.count, later.open_minor) == (2, 1, 41_000 * COIN)
    assert await store.trade_candles("BTCUSDT", 1_000, 0, 0, 1_001) == []
    assert await store.trade_candles("ETHUSDT", 1_000, 0, 0, 10**18) == []


async def test_a_snapshot_sees_one_moment_while_commits_go_on(store_factory) -> None:
    store = await store_factory()
    ledger = Ledger(fees=FEES)
    await store.commit(CommitBatch(journal=[ledger.deposit("d1", 1, "BTC", 5)], orders={7: order(7)}))
    async with store.snapshot() as snapshot:
        before = await snapshot.load()
        later = ledger.deposit("d2", 1, "BTC", 5)
        await store.commit(CommitBatch(journal=[later], orders={7: order(7, "CANCELED"), 8: order(8)}))
        again = await snapshot.load()
        assert [e.transfer_id for e in await snapshot.journal_range(0, later.sequence)] == ["d1"]
        assert await snapshot.last_sequence() == later.sequence - 1
    assert [o.order_id for o in again.open_orders] == [o.order_id for o in before.open_orders] == [7]
    assert again.journal_after_checkpoint == []  # read in pages with journal_range instead
    now = await store.load()
    assert [o.order_id for o in now.open_orders] == [8]
    assert [e.transfer_id for e in await store.journal(0)] == ["d1", "d2"]


async def test_journal_range_is_bounded_on_both_sides(store_factory) -> None:
    store = await store_factory()
    ledger = await trading_day(store)
    everything = await store.journal(0)
    assert ledger.sequence == everything[-1].sequence
    async with store.snapshot() as snapshot:
        middle = await snapshot.journal_range(2, 5)
        assert await snapshot.last_sequence() == ledger.sequence
    assert [e.sequence for e in middle] == [e.sequence for e in everything if 2 < e.sequence <= 5]


async def test_posted_counters_past_64_bits_are_checkpointed_and_recovered_exactly(store_factory) -> None:
    """Posted debits and credits only grow (escrow's by every trade's volume) while balances stay small."""
    store = await store_factory()
    ledger = Ledger(fees=FEES)
    journal = []
    amount = AMOUNT_MINOR_MAX // 2
    for cycle in range(10):
        journal.append(ledger.deposit(f"d{cycle}", 1, "USDT", amount))
        journal.append(ledger.withdraw(f"w{cycle}", 1, "USDT", amount - 7))
    credits_posted, debits_posted, _, _ = ledger.accounts()[(OPERATOR, "USDT")]
    assert (credits_posted, debits_posted) == (10 * (amount - 7), 10 * amount)
    assert debits_posted > 2**64
    await store.commit(CommitBatch(journal=journal), CheckpointChanges(*ledger.checkpoint_changes()))
    checkpoint = (await (await store_factory()).load()).checkpoint
    assert checkpoint.accounts == ledger.accounts()
    assert {type(value) for values in checkpoint.accounts.values() for value in values} == {int}
    restored = restore_ledger(await store.load(), FEES, lambda entry: None)
    assert restored.balance(1, "USDT").total_minor == 70
    assert await verify_store(store, FEES, SETTINGS.symbols) == []
