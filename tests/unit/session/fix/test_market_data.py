"""MarketDataRequest parsing and W/X/Y/y bodies."""

from __future__ import annotations

from pathlib import Path

from book.types import Side, TradeExecuted
from config import load_settings
from session.fix.dialect import FixDialect
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
    assert 25044 not in values and values[268] == "2"
    assert (270, "49990.00000000") in fields
    assert (values[272], values[273]) == ("19700101", "00:00:00.000")
    assert not {1003, 2446, 60} & set(values)
    binance = snapshot_fields(
        "r1",
        SYMBOL,
        last_update_id=41,
        bids=[],
        asks=[],
        trades=[_trade()],
        entry_types=frozenset(EntryType),
        dialect=FixDialect.BINANCE,
    )
    assert dict(binance)[25044] == "41"
    assert (2446, "2") in binance and 1003 in dict(binance) and 272 not in dict(binance)


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
    assert 25043 not in dict(fields)
    binance = incremental_fields(
        "r1",
        SYMBOL,
        first_update_id=42,
        last_update_id=44,
        bids=[(1_000_000, 1000, True)],
        asks=[],
        trades=[],
        entry_types=frozenset(EntryType),
        dialect=FixDialect.BINANCE,
    )
    assert (dict(binance)[25043], dict(binance)[25044]) == ("42", "44")
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


def test_a_security_list_that_matches_no_symbol_says_so() -> None:
    """SecurityRequestResult (560) 0 is a valid request; 2 is no instruments found (FIX 4.4)."""
    assert (560, "0") in security_list_fields("q", "s", [SYMBOL])
    fields = security_list_fields("q", "s", [])
    assert (560, "2") in fields and (146, "0") in fields


def test_an_unsubscribe_names_only_its_request() -> None:
    """Binance's own example unsubscribes with MDReqID and SubscriptionRequestType alone (no groups)."""
    request = _parse([(262, "TRADE_STREAM"), (263, "2"), (264, "1")])
    assert isinstance(request, MarketDataSubscription)
    assert (request.request_id, request.unsubscribe, request.subscribe) == ("TRADE_STREAM", True, False)
    assert isinstance(_parse([(262, "TRADE_STREAM"), (263, "2")]), MarketDataSubscription)


def test_market_depth_may_be_left_out() -> None:
    """Binance's trade stream needs only SubscriptionRequestType 1 and MDEntryType 2: the full book."""
    request = _parse([(262, "t1"), (263, "1"), (267, "1"), (269, "2"), (146, "1"), (55, "BTCUSDT")])
    assert isinstance(request, MarketDataSubscription) and request.depth_levels == 0


def test_md_req_id_keeps_to_the_legal_range() -> None:
    for request_id in ("x" * 37, "a b", "caf\xe9", "a/b"):
        problem = _parse([(262, request_id) if tag == 262 else (tag, v) for tag, v in REQUEST])
        assert isinstance(problem, MarketDataRequestProblem) and problem.request_id == request_id
        assert problem.reason_code is None and "MDReqID (262)" in problem.text
        assert [tag for tag, _ in reject_fields(problem)] == [262, 58]
    assert isinstance(
        _parse([(262, "A-z_09" + "x" * 30) if t == 262 else (t, v) for t, v in REQUEST]),
        MarketDataSubscription,
    )


def test_what_the_venue_does_not_publish_is_refused_with_its_reason() -> None:
    """Updates come only as incremental refreshes of the aggregated book: MDUpdateType 0 (full refresh)
    is refused with 281=6 and AggregatedBook N with 281=7, instead of being served something else."""
    full_refresh = _parse([(tag, "0" if tag == 265 else v) for tag, v in REQUEST])
    assert isinstance(full_refresh, MarketDataRequestProblem) and full_refresh.reason_code == "6"
    by_order = _parse([*REQUEST[:4], (266, "N"), *REQUEST[4:]])
    assert isinstance(by_order, MarketDataRequestProblem) and by_order.reason_code == "7"
    snapshot_only = [(tag, "0" if tag in (263, 265) else v) for tag, v in REQUEST]
    assert isinstance(_parse(snapshot_only), MarketDataSubscription)
    assert isinstance(_parse([*REQUEST[:4], (266, "Y"), *REQUEST[4:]]), MarketDataSubscription)
