"""The broadcaster: gap-free update ids, snapshots consistent with diffs, slow consumers cut off."""

from __future__ import annotations

from book.types import PriceLevelChanged, Side, TradeExecuted
from gateway.market_data import MarketDataBroadcaster, MarketDataUpdate


class QueueSubscriber:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.updates: list[MarketDataUpdate] = []
        self.disconnected: str | None = None

    def offer(self, update: MarketDataUpdate) -> bool:
        if len(self.updates) >= self.capacity:
            return False
        self.updates.append(update)
        return True

    def disconnect(self, reason: str) -> None:
        self.disconnected = reason


def _level(sequence: int, side: Side, price: int, quantity: int) -> PriceLevelChanged:
    return PriceLevelChanged(
        sequence=sequence,
        side=side,
        price_minor=price,
        quantity_minor=quantity,
        order_count=1 if quantity else 0,
    )


def _trade(sequence: int) -> TradeExecuted:
    return TradeExecuted(
        sequence=sequence,
        trade_id=1,
        price_minor=100,
        quantity_minor=2,
        quote_quantity_minor=200,
        aggressor_side=Side.BUY,
        maker_order_id=1,
        maker_account_id=1,
        maker_leaves_minor=0,
        taker_order_id=2,
        taker_account_id=2,
        taker_leaves_minor=0,
        ts_ns=5,
    )


def test_update_ids_are_consecutive_and_snapshot_matches_diffs() -> None:
    broadcaster = MarketDataBroadcaster(["BTCUSDT"])
    subscriber = QueueSubscriber(100)
    snapshot = broadcaster.subscribe("BTCUSDT", subscriber)
    assert snapshot.last_update_id == 0
    broadcaster.publish("BTCUSDT", [_level(1, Side.BUY, 99, 5), _level(2, Side.SELL, 101, 3)], ts_ns=1)
    broadcaster.publish(
        "BTCUSDT", [_trade(3), _level(4, Side.SELL, 101, 0), _level(5, Side.BUY, 98, 1)], ts_ns=2
    )
    first, second = subscriber.updates
    assert (first.first_update_id, first.last_update_id) == (1, 2)
    assert (second.first_update_id, second.last_update_id) == (3, 4)
    assert second.trades[0].quantity_minor == 2
    assert first.bids == ((99, 5, True),)
    assert second.asks == ((101, 0, False),)
    snapshot = broadcaster.snapshot("BTCUSDT")
    assert snapshot.last_update_id == 4
    assert snapshot.bids == ((99, 5), (98, 1))
    assert snapshot.asks == ()
    assert second.best_bid == (99, 5)
    assert second.best_ask is None


def test_nothing_changed_publishes_nothing() -> None:
    broadcaster = MarketDataBroadcaster(["BTCUSDT"])
    assert broadcaster.publish("BTCUSDT", [], ts_ns=1) is None


def test_slow_consumer_is_disconnected_and_others_still_receive() -> None:
    slow_count = []
    broadcaster = MarketDataBroadcaster(["BTCUSDT"], on_slow_consumer=lambda: slow_count.append(1))
    slow, fast = QueueSubscriber(1), QueueSubscriber(10)
    broadcaster.subscribe("BTCUSDT", slow)
    broadcaster.subscribe("BTCUSDT", fast)
    for sequence in range(1, 4):
        broadcaster.publish("BTCUSDT", [_level(sequence, Side.BUY, 90 + sequence, 1)], ts_ns=sequence)
    assert slow.disconnected is not None and "slow consumer" in slow.disconnected
    assert len(fast.updates) == 3
    assert slow_count == [1]
    assert broadcaster.subscriber_count() == 1


def test_depth_limited_snapshot() -> None:
    broadcaster = MarketDataBroadcaster(["BTCUSDT"])
    broadcaster.publish("BTCUSDT", [_level(i, Side.BUY, 90 + i, 1) for i in range(1, 6)], ts_ns=1)
    assert broadcaster.snapshot("BTCUSDT", 2).bids == ((95, 1), (94, 1))


def test_level_born_and_gone_in_one_update_is_not_sent() -> None:
    broadcaster = MarketDataBroadcaster(["BTCUSDT"])
    broadcaster.subscribe("BTCUSDT", QueueSubscriber(10))
    update = broadcaster.publish(
        "BTCUSDT", [_level(1, Side.BUY, 99, 5), _level(2, Side.BUY, 99, 0), _trade(3)], ts_ns=1
    )
    assert update is not None
    assert update.bids == ()
    assert (update.first_update_id, update.last_update_id) == (1, 2)
    # Left out of the New/Change/Delete levels, but named, for a diff stream to send as quantity 0.
    assert (update.bids_transient, update.asks_transient) == ((99,), ())


def test_only_levels_born_and_gone_in_the_update_are_transient() -> None:
    broadcaster = MarketDataBroadcaster(["BTCUSDT"])
    broadcaster.subscribe("BTCUSDT", QueueSubscriber(10))
    broadcaster.publish("BTCUSDT", [_level(1, Side.SELL, 101, 3)], ts_ns=1)
    update = broadcaster.publish(
        "BTCUSDT",
        [
            _level(2, Side.SELL, 101, 0),  # existed before: sent as a delete
            _level(3, Side.SELL, 101, 2),
            _level(4, Side.SELL, 101, 0),
            _level(5, Side.SELL, 102, 1),  # born and gone
            _level(6, Side.SELL, 102, 0),
            _level(7, Side.BUY, 99, 4),  # born and kept
        ],
        ts_ns=2,
    )
    assert update is not None
    assert update.asks == ((101, 0, False),) and update.bids == ((99, 4, True),)
    assert (update.asks_transient, update.bids_transient) == ((102,), ())
    assert (update.first_update_id, update.last_update_id) == (2, 7)
    plain = broadcaster.publish("BTCUSDT", [_level(8, Side.BUY, 99, 1)], ts_ns=3)
    assert plain is not None and (plain.bids_transient, plain.asks_transient) == ((), ())


def test_with_no_subscriber_the_depth_ids_and_trades_still_advance() -> None:
    """Nothing is built for nobody, yet a subscriber arriving later gets the whole book in its snapshot and
    updates whose ids follow it; trade listeners get every trade either way."""
    broadcaster = MarketDataBroadcaster(["BTCUSDT"])
    heard: list[tuple[tuple[TradeExecuted, ...], int]] = []
    broadcaster.listen_to_trades("BTCUSDT", lambda trades, ts_ns: heard.append((trades, ts_ns)))
    levels = [_level(1, Side.BUY, 99, 5), _level(2, Side.SELL, 101, 3)]
    assert broadcaster.publish("BTCUSDT", levels, ts_ns=1) is None
    assert broadcaster.publish("BTCUSDT", [_trade(3), _level(4, Side.SELL, 101, 0)], ts_ns=2) is None
    assert heard == [((_trade(3),), 2)]
    assert broadcaster.recent_trades("BTCUSDT", 10) == [_trade(3)]
    subscriber = QueueSubscriber(10)
    snapshot = broadcaster.subscribe("BTCUSDT", subscriber)
    assert (snapshot.last_update_id, snapshot.bids, snapshot.asks) == (3, ((99, 5),), ())
    broadcaster.publish("BTCUSDT", [_level(5, Side.BUY, 98, 1)], ts_ns=3)
    (update,) = subscriber.updates
    assert (update.first_update_id, update.last_update_id) == (4, 4)
    assert update.bids == ((98, 1, True),) and update.best_bid == (99, 5)
    broadcaster.unsubscribe("BTCUSDT", subscriber)
    assert broadcaster.publish("BTCUSDT", [_level(6, Side.BUY, 98, 0)], ts_ns=4) is None
    assert broadcaster.snapshot("BTCUSDT").last_update_id == 5
