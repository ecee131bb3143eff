"""MarketDataRequest parsing and W/X/Y/y bodies."""

from __future__ import annotations

from pathlib import Path

from book.types import Side, TradeExecuted
from config import load_settings
from session.fix.market_data import (
    EntryType,
    MarketDataRequestProblem,
    MarketDataSubscription,
    incremental_fields,
    parse_market_data_request,
    reject_fields,
    security_list_fields,
    snapshot_fields,
)

SETTINGS = load_settings(Path(__file__).resolve().parents[4] / "config" / "demo.toml")
SYMBOL = SETTINGS.symbols["BTCUSDT"]
REQUEST = [
    (262, "r1"),
    (263, "1"),
    (264, "10"),
    (265, "1"),
    (267, "3"),
    (269, "0"),
    (269, "1"),
    (269, "2"),
    (146, "1"),
    (55, "BTCUSDT"),
]


def _parse(fields: list[tuple[int, str]]) -> MarketDataSubscription | MarketDataRequestProblem:
    return parse_market_data_request(fields, depth_levels_max=100, known_symbols=SETTINGS.symbols)


def test_subscription() -> None:
    subscription = _parse(REQUEST)
    assert subscription == MarketDataSubscription(
        request_id="r1",
        subscribe=True,
        unsubscribe=False,
        depth_levels=10,
        entry_types=frozenset(EntryType),
        symbols=("BTCUSDT",),
    )


def test_problems_name_the_field() -> None:
    cases = [
        (
            [(263, "1") if tag == 263 else (tag, v) for tag, v in REQUEST if tag != 55] + [(55, "DOGEUSDT")],
            "0",
        ),
        ([(tag, "7" if tag == 263 else v) for tag, v in REQUEST], "4"),
        ([(tag, "1000" if tag == 264 else v) for tag, v in REQUEST], "5"),
        ([(tag, "9" if tag == 269 else v) for tag, v in REQUEST], "8"),
    ]
    for fields, code in cases:
        problem = _parse(fields)
        assert isinstance(problem, MarketDataRequestProblem), fields
        assert problem.reason_code == code
        assert reject_fields(problem)[1] == (281, code)


def _trade() -> TradeExecuted:
    return TradeExecuted(
        sequence=3,
        trade_id=12,
        price_minor=5_000_000_000_000,
        quantity_minor=1000,
        quote_quantity_minor=50_000_000,
        aggressor_side=Side.SELL,
        maker_order_id=1,
        maker_account_id=1,
        maker_leaves_minor=0,
        taker_order_id=2,
        taker_account_id=2,
        taker_leaves_minor=0,
        ts_ns=1,
    )


def test_snapshot_counts_entries_and_carries_the_update_id() -> None:
    fields = snapshot_fields(
        "r1",
        SYMBOL,
        last_update_id=41,
        bids=[(4_999_000_000_000, 1000)],
        asks=[],
        trades=[_trade()],
        entry_types=frozenset(EntryType),
    )
    values = dict(fields)
    assert values[25044] == "41"
    assert values[268] == "2"
    assert (270, "49990.00000000") in fields
    assert (2446, "2") in fields


def test_incremental_actions() -> None:
    fields = incremental_fields(
        "r1",
        SYMBOL,
        first_update_id=42,
        last_update_id=44,
        bids=[(1_000_000, 1000, True), (2_000_000, 0, False)],
        asks=[(3_000_000, 5000, False)],
        trades=[],
        entry_types=frozenset(EntryType),
    )
    actions = [value for tag, value in fields if tag == 279]
    assert actions == ["0", "2", "1"]
    assert dict(fields)[25043] == "42"
    assert (
        incremental_fields(
            "r1",
            SYMBOL,
            first_update_id=1,
            last_update_id=1,
            bids=[],
            asks=[],
            trades=[_trade()],
            entry_types=frozenset({EntryType.BID}),
        )
        == []
    )


def test_security_list_has_tick_and_step() -> None:
    fields = security_list_fields("q", "s", [SYMBOL])
    assert (969, "0.01000000") in fields
    assert (561, "0.00001000") in fields
