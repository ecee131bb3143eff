"""``timeUnit=MICROSECOND`` on the WebSocket API: every time in an answer or a user data event in us."""

from __future__ import annotations

from session.binance.time_unit import event_in_microseconds, result_in_microseconds


def test_times_in_answers_are_in_microseconds_and_nothing_else_changes() -> None:
    order = {
        "orderId": 12,
        "price": "1.00000000",
        "transactTime": 1_700_000_000_123,
        "workingTime": -1,  # none: stays -1
        "time": 1_700_000_000_001,
        "updateTime": 1_700_000_000_002,
        "isWorking": True,
    }
    assert result_in_microseconds("order.status", order) == {
        **order,
        "transactTime": 1_700_000_000_123_000,
        "time": 1_700_000_000_001_000,
        "updateTime": 1_700_000_000_002_000,
    }
    nested = {"cancelResponse": {"transactTime": 5}, "newOrderResponse": {"transactTime": 6, "fills": []}}
    assert result_in_microseconds("order.cancelReplace", nested) == {
        "cancelResponse": {"transactTime": 5000},
        "newOrderResponse": {"transactTime": 6000, "fills": []},
    }
    trades = [{"a": 1, "p": "1", "T": 7, "m": True}, {"id": 2, "time": 8}]
    assert result_in_microseconds("trades.aggregate", trades) == [
        {"a": 1, "p": "1", "T": 7000, "m": True},
        {"id": 2, "time": 8000},
    ]
    assert result_in_microseconds("time", {"serverTime": 9}) == {"serverTime": 9000}


def test_a_klines_open_and_close_times_are_in_microseconds() -> None:
    row = [1_000, "1.0", "2.0", "0.5", "1.5", "10.0", 60_999, "15.0", 3, "5.0", "7.5", "0"]
    converted = result_in_microseconds("klines", [row])[0]
    assert (converted[0], converted[6]) == (1_000_000, 60_999_000)
    assert converted[1:6] + converted[7:] == row[1:6] + row[7:]
    assert result_in_microseconds("uiKlines", [row])[0][6] == 60_999_000


def test_user_data_events_say_their_times_in_microseconds() -> None:
    report = {"e": "executionReport", "E": 1, "T": 2, "O": 3, "W": 4, "u": 5, "I": 6, "t": 7}
    assert event_in_microseconds(report) == {**report, "E": 1000, "T": 2000, "O": 3000, "W": 4000}
    position = {"e": "outboundAccountPosition", "E": 1, "u": 2, "B": []}
    assert event_in_microseconds(position) == {"e": "outboundAccountPosition", "E": 1000, "u": 2000, "B": []}
    assert event_in_microseconds({"e": "eventStreamTerminated", "E": 3}) == {
        "e": "eventStreamTerminated",
        "E": 3000,
    }
