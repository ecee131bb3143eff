"""The FIX application over a real exchange (books, router, broadcaster), with a recording sender."""

from __future__ import annotations

import asyncio

import pytest

from gateway.fix_orders import FixApplication
from session.fix.dialect import FixDialect
from tests.unit.gateway.harness import Harness

ALICE, BOB = 1, 2


class RecordingSender:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[int, str], list[tuple[int, str]]]] = []
        self.disconnected: list[tuple[str, str]] = []

    def send(self, session_id: str, msg_type: str, fields: list[tuple[int, str]]) -> bool:
        self.sent.append((session_id, msg_type, dict(fields), fields))
        return True

    def disconnect(self, session_id: str, reason: str) -> None:
        self.disconnected.append((session_id, reason))

    def of(self, session_id: str, msg_type: str) -> list[dict[int, str]]:
        return [fields for sid, kind, fields, _ in self.sent if sid == session_id and kind == msg_type]


async def settle(application: FixApplication) -> None:
    """Let routed commands commit and their reports go out."""
    for _ in range(3):
        await application.drain()
        await asyncio.sleep(0)


def application_on(harness: Harness, sender: RecordingSender, **options) -> FixApplication:
    return FixApplication(
        exchange=harness.exchange,
        broadcaster=harness.broadcaster,
        symbols=harness.settings.symbols,
        sender=sender,
        accounts={"alice": ALICE, "bob": BOB},
        **({"depth_levels_max": 100} | options),
    )


@pytest.fixture
async def venue():
    async with Harness() as harness:
        sender = RecordingSender()
        application = application_on(harness, sender)
        harness.deposit(ALICE, "USDT", "100000")
        harness.deposit(BOB, "BTC", "10")
        application.on_logon("A", "alice", FixDialect.BINANCE)
        application.on_logon("B", "bob", FixDialect.FIX44)
        yield harness, application, sender


def order(cl_ord_id: str, side: str, quantity: str, price: str | None = None, **extra: str):
    fields = [(11, cl_ord_id), (55, "BTCUSDT"), (54, side), (38, quantity), (40, "2" if price else "1")]
    if price:
        fields.append((44, price))
    fields += [(int(tag), value) for tag, value in extra.items()]
    return fields


async def test_new_order_is_acknowledged_after_commit(venue) -> None:
    _, application, sender = venue
    application.on_message("B", "D", order("s1", "2", "0.5", "50000"))
    assert sender.of("B", "8") == []
    await settle(application)
    (report,) = sender.of("B", "8")
    assert (report[150], report[39], report[11], report[151], report[44]) == (
        "0",
        "0",
        "s1",
        "0.50000000",
        "50000.00000000",
    )


async def test_a_cross_reports_fills_to_both_sides_with_fees(venue) -> None:
    _, application, sender = venue
    application.on_message("B", "D", order("s1", "2", "0.5", "50000"))
    await settle(application)
    application.on_message("A", "D", order("b1", "1", "0.2", "50000"))
    await settle(application)
    taker_fill = sender.of("A", "8")[-1]
    assert (taker_fill[150], taker_fill[39], taker_fill[31], taker_fill[32]) == (
        "F",
        "2",
        "50000.00000000",
        "0.20000000",
    )
    assert (taker_fill[12], taker_fill[479], taker_fill[1057]) == ("0.00020000", "BTC", "Y")
    maker_fill = sender.of("B", "8")[-1]
    assert (maker_fill[150], maker_fill[39], maker_fill[151], maker_fill[851]) == (
        "F",
        "1",
        "0.30000000",
        "1",  # LastLiquidityInd: added liquidity (bob's session speaks plain FIX 4.4)
    )
    assert 1057 not in maker_fill and taker_fill[1003] == maker_fill[527]
    assert (maker_fill[12], maker_fill[479]) == ("10.00000000", "USDT")


async def test_rejections_name_the_reason(venue) -> None:
    _, application, sender = venue
    application.on_message("A", "D", [(11, "x"), (55, "NOPE"), (54, "1"), (38, "1"), (40, "1")])
    application.on_message("A", "D", order("y", "1", "0.000001", "50000"))
    application.on_message("A", "D", order("z", "1", "100", "50000"))
    await settle(application)
    rejects = {r[11]: r for r in sender.of("A", "8")}
    assert (rejects["x"][39], rejects["x"][103]) == ("8", "1")
    assert rejects["y"][103] == "13"
    assert "balance" in rejects["z"][58].lower()


async def test_duplicate_client_order_id_is_rejected(venue) -> None:
    _, application, sender = venue
    application.on_message("B", "D", order("same", "2", "0.1", "60000"))
    await settle(application)
    application.on_message("B", "D", order("same", "2", "0.1", "60000"))
    await settle(application)
    assert [r[39] for r in sender.of("B", "8")] == ["0", "8"]


async def test_cancel_replace_and_cancel_reject(venue) -> None:
    _, application, sender = venue
    application.on_message("B", "D", order("s1", "2", "0.5", "60000"))
    await settle(application)
    application.on_message(
        "B", "G", [(11, "s2"), (41, "s1"), (55, "BTCUSDT"), (54, "2"), (38, "0.4"), (44, "60000"), (40, "2")]
    )
    await settle(application)
    replaced = sender.of("B", "8")[-1]
    assert (replaced[150], replaced[11], replaced[41], replaced[38]) == ("5", "s2", "s1", "0.40000000")
    application.on_message("B", "F", [(11, "s3"), (41, "s2"), (55, "BTCUSDT"), (54, "2")])
    await settle(application)
    canceled = sender.of("B", "8")[-1]
    assert (canceled[150], canceled[39], canceled[41]) == ("4", "4", "s2")
    application.on_message("B", "F", [(11, "s4"), (41, "s2"), (55, "BTCUSDT"), (54, "2")])
    application.on_message("A", "F", [(11, "a1"), (41, "nope"), (55, "BTCUSDT"), (54, "1")])
    await settle(application)
    (too_late,) = sender.of("B", "9")
    assert (too_late[434], too_late[102], too_late[39]) == ("1", "0", "4")
    assert too_late[58] == "Too late: the order is already canceled"  # was "Unknown order", against 102=0
    (unknown,) = sender.of("A", "9")
    assert (unknown[102], unknown[37]) == ("1", "NONE")


async def test_another_accounts_order_cannot_be_canceled(venue) -> None:
    harness, application, sender = venue
    application.on_message("B", "D", order("s1", "2", "0.5", "60000"))
    await settle(application)
    order_id = sender.of("B", "8")[0][37]
    application.on_message("A", "F", [(11, "a1"), (37, order_id), (55, "BTCUSDT"), (54, "2")])
    await settle(application)
    assert sender.of("A", "9")[0][102] == "1"
    assert harness.exchange.find_order(BOB, order_id=int(order_id)).is_open


async def test_status_mass_status_and_mass_cancel(venue) -> None:
    harness, application, sender = venue
    for cl_ord_id in ("s1", "s2"):
        application.on_message("B", "D", order(cl_ord_id, "2", "0.1", "60000"))
    await settle(application)
    application.on_message("B", "H", [(11, "s1"), (55, "BTCUSDT"), (54, "2"), (790, "st1")])
    assert (sender.of("B", "8")[-1][150], sender.of("B", "8")[-1][790]) == ("I", "st1")
    application.on_message("B", "AF", [(584, "m1"), (585, "7")])
    statuses = [r for r in sender.of("B", "8") if r.get(584) == "m1"]
    assert [(r[11], r[911], r[912]) for r in statuses] == [("s1", "2", "N"), ("s2", "2", "Y")]
    application.on_message("B", "q", [(11, "mc"), (530, "1"), (55, "BTCUSDT")])
    await settle(application)
    (report,) = sender.of("B", "r")
    assert (report[531], report[533]) == ("1", "2")
    assert harness.exchange.open_orders(BOB) == []


async def test_market_data_snapshot_then_increments_without_gaps(venue) -> None:
    _, application, sender = venue
    application.on_message("B", "D", order("s1", "2", "0.5", "60000"))
    await settle(application)
    request = [
        (262, "md1"),
        (263, "1"),
        (264, "0"),
        (267, "3"),
        (269, "0"),
        (269, "1"),
        (269, "2"),
        (146, "1"),
        (55, "BTCUSDT"),
    ]
    application.on_message("A", "V", request)
    (snapshot,) = sender.of("A", "W")
    assert (snapshot[268], snapshot[270], snapshot[25044]) == ("1", "60000.00000000", "1")
    application.on_message("A", "D", order("b1", "1", "0.1", "60000"))
    await settle(application)
    (increment,) = sender.of("A", "X")
    assert (increment[25043], increment[25044]) == ("2", "2")
    (raw_increment,) = [fields for _, kind, _, fields in sender.sent if kind == "X"]
    entries = [value for tag, value in raw_increment if tag == 269]
    assert sorted(entries) == ["1", "2"]


async def test_a_full_book_snapshot_holds_at_most_the_configured_levels_per_side() -> None:
    async with Harness() as harness:
        sender = RecordingSender()
        application = application_on(harness, sender, depth_levels_max=3)
        harness.deposit(BOB, "BTC", "10")
        harness.deposit(ALICE, "USDT", "100000")
        application.on_logon("A", "alice")
        application.on_logon("B", "bob")
        for index in range(5):
            application.on_message("B", "D", order(f"s{index}", "2", "0.1", str(60000 + index)))
            application.on_message("A", "D", order(f"b{index}", "1", "0.1", str(50000 - index)))
        await settle(application)
        request = [(262, "md1"), (263, "0"), (264, "0"), (269, "0"), (269, "1"), (146, "1"), (55, "BTCUSDT")]
        application.on_message("A", "V", request)
        (_, _, _, snapshot), *_ = [entry for entry in sender.sent if entry[1] == "W"]
        prices = [value for tag, value in snapshot if tag == 270]
        assert prices == [f"{price}.00000000" for price in (50000, 49999, 49998, 60000, 60001, 60002)]


async def test_security_list_and_unsupported_message(venue) -> None:
    _, application, sender = venue
    application.on_message("A", "x", [(320, "sl1"), (559, "4")])
    (security_list,) = sender.of("A", "y")
    assert security_list[146] == "3"
    application.on_message("A", "E", [(66, "list")])
    (reject,) = sender.of("A", "j")
    assert (reject[372], reject[380]) == ("E", "3")


async def test_orders_past_the_per_second_bound_are_rejected_and_change_nothing() -> None:
    now_ns = [1_700_000_000_000_000_000]
    async with Harness() as harness:
        sender = RecordingSender()
        application = application_on(harness, sender, orders_per_second_max=2, clock_ns=lambda: now_ns[0])
        harness.deposit(BOB, "BTC", "10")
        application.on_logon("B", "bob")
        for index in range(3):
            application.on_message("B", "D", order(f"s{index}", "2", "0.1", "50000"))
        await settle(application)
        reports = {report[11]: report for report in sender.of("B", "8")}
        assert (reports["s0"][39], reports["s1"][39]) == ("0", "0")
        assert (reports["s2"][39], reports["s2"][103]) == ("8", "99")
        assert "Too many new orders" in reports["s2"][58]
        replace = [(41, "s0"), (11, "s0b"), (55, "BTCUSDT"), (54, "2"), (38, "0.2"), (40, "2"), (44, "50000")]
        application.on_message("B", "G", replace)
        await settle(application)
        (refused,) = sender.of("B", "9")
        assert (refused[434], refused[102], refused[39]) == ("2", "99", "0")
        assert len(harness.exchange.open_orders(BOB)) == 2
        now_ns[0] += 1_000_000_000  # the next second: the bound starts over
        application.on_message("B", "D", order("s3", "2", "0.1", "50000"))
        await settle(application)
        assert sender.of("B", "8")[-1][11] == "s3" and sender.of("B", "8")[-1][39] == "0"
        assert len(harness.exchange.open_orders(BOB)) == 3


async def test_market_data_subscriptions_per_session_are_bounded() -> None:
    async with Harness() as harness:
        sender = RecordingSender()
        application = application_on(harness, sender, subscriptions_max=2)
        application.on_logon("A", "alice")

        def subscribe(request_id: str, *symbols: str) -> None:
            request = [
                (262, request_id),
                (263, "1"),
                (264, "0"),
                (267, "1"),
                (269, "0"),
                (146, str(len(symbols))),
            ]
            application.on_message("A", "V", request + [(55, symbol) for symbol in symbols])

        subscribe("md1", "BTCUSDT")
        subscribe("md2", "BTCUSDT", "ETHUSDT")
        (reject,) = sender.of("A", "Y")
        assert (reject[262], reject[281]) == ("md2", "2") and "at most 2" in reject[58]
        assert harness.broadcaster.subscriber_count() == 1 and len(sender.of("A", "W")) == 1
        subscribe("md3", "ETHUSDT")
        assert harness.broadcaster.subscriber_count() == 2 and len(sender.of("A", "W")) == 2
        unsubscribe = [
            (262, "md1"),
            (263, "2"),
            (264, "0"),
            (267, "1"),
            (269, "0"),
            (146, "1"),
            (55, "BTCUSDT"),
        ]
        application.on_message("A", "V", unsubscribe)
        subscribe("md4", "BTCUSDT")
        assert harness.broadcaster.subscriber_count() == 2 and len(sender.of("A", "Y")) == 1


async def test_a_market_buy_by_cash_order_qty_spends_at_most_that_amount(venue) -> None:
    harness, application, sender = venue
    application.on_message("B", "D", order("s1", "2", "0.5", "50000"))
    await settle(application)
    application.on_message("A", "D", [(11, "c1"), (55, "BTCUSDT"), (54, "1"), (40, "1"), (152, "10000")])
    await settle(application)
    fill = sender.of("A", "8")[-1]
    assert (fill[150], fill[39], fill[32], fill[31]) == ("F", "2", "0.20000000", "50000.00000000")
    assert harness.exchange.open_orders(ALICE) == []


async def test_cancel_and_replace_must_name_the_orders_symbol_and_side(venue) -> None:
    harness, application, sender = venue
    application.on_message("B", "D", order("s1", "2", "0.5", "60000"))
    await settle(application)
    order_id = int(sender.of("B", "8")[0][37])
    application.on_message("B", "F", [(11, "c1"), (41, "s1"), (55, "ETHUSDT"), (54, "2")])
    application.on_message("B", "F", [(11, "c2"), (41, "s1"), (55, "BTCUSDT"), (54, "1")])
    application.on_message(
        "B", "G", [(11, "r1"), (41, "s1"), (55, "ETHUSDT"), (54, "2"), (38, "0.4"), (44, "61000"), (40, "2")]
    )
    await settle(application)
    rejects = sender.of("B", "9")
    assert [(r[11], r[434], r[102], r[39]) for r in rejects] == [
        ("c1", "1", "99", "0"),
        ("c2", "1", "99", "0"),
        ("r1", "2", "99", "0"),
    ]
    assert "Symbol (55) ETHUSDT" in rejects[0][58] and "Side (54)" in rejects[1][58]
    resting = harness.exchange.find_order(BOB, order_id=order_id)
    assert (resting.is_open, resting.symbol, resting.client_order_id) == (True, "BTCUSDT", "s1")


async def test_an_order_id_of_digits_that_are_not_ascii_is_an_unknown_order(venue) -> None:
    _, application, sender = venue
    application.on_message("B", "D", order("s1", "2", "0.5", "60000"))
    await settle(application)
    application.on_message("B", "F", [(11, "c1"), (37, "1²"), (55, "BTCUSDT"), (54, "2")])
    await settle(application)
    (reject,) = sender.of("B", "9")
    assert (reject[102], reject[37]) == ("1", "NONE")


async def test_a_status_request_for_an_unknown_order_is_an_order_status_report(venue) -> None:
    _, application, sender = venue
    application.on_message("A", "H", [(11, "nope"), (55, "BTCUSDT"), (54, "1"), (790, "st1")])
    (report,) = sender.of("A", "8")
    assert (report[150], report[39], report[103], report[790]) == ("I", "8", "5", "st1")


async def test_a_business_message_reject_from_the_peer_is_not_answered(venue) -> None:
    _, application, sender = venue
    application.on_message("A", "j", [(372, "D"), (380, "0"), (58, "we do not take this")])
    assert sender.sent == []


async def test_a_fault_in_a_handler_rejects_that_message_and_the_next_ones_still_run(venue) -> None:
    """Fault injection: no known input breaks a handler, but if one did, the session must go on."""
    _, application, sender = venue

    def broken(*_: object) -> None:
        raise RuntimeError("injected")

    application._handlers["F"] = broken
    application.on_message("B", "F", [(11, "c1"), (41, "s1"), (55, "BTCUSDT"), (54, "2")])
    application.on_message("B", "D", order("s2", "2", "0.5", "60000"))
    await settle(application)
    (reject,) = sender.of("B", "j")
    assert (reject[372], reject[380], reject[379]) == ("F", "0", "c1")
    assert sender.of("B", "8")[0][39] == "0"


@pytest.mark.parametrize("client_id", ["x" * 37, "a b", "caf\xe9", "a/b", "a\x7fb"])
async def test_a_client_order_id_outside_the_legal_range_is_rejected_and_changes_nothing(
    venue, client_id: str
) -> None:
    """ClOrdID (11) keeps to ^[a-zA-Z0-9-_]{1,36}$ (Binance's FIX API): it names an order, is stored with
    it and repeated in every report, so an over-long or unprintable one was a bound missing."""
    harness, application, sender = venue
    application.on_message("B", "D", order(client_id, "2", "0.5", "60000"))
    await settle(application)
    (report,) = sender.of("B", "8")
    assert (report[150], report[39], report[11], report[103]) == ("8", "8", client_id, "11")
    assert "ClOrdID (11)" in report[58] and harness.exchange.open_orders(BOB) == []
    application.on_message("B", "D", order("s-1_" + "x" * 32, "2", "0.5", "60000"))
    await settle(application)
    assert sender.of("B", "8")[-1][39] == "0"
    application.on_message("B", "F", [(11, client_id), (41, "s-1_" + "x" * 32), (55, "BTCUSDT"), (54, "2")])
    replace = [
        (11, client_id),
        (41, "s-1_" + "x" * 32),
        (55, "BTCUSDT"),
        (54, "2"),
        (38, "0.4"),
        (44, "60000"),
    ]
    application.on_message("B", "G", [*replace, (40, "2")])
    await settle(application)
    rejects = sender.of("B", "9")
    assert [(r[434], r[102], r[39], r[11]) for r in rejects] == [
        ("1", "99", "0", client_id),
        ("2", "99", "0", client_id),
    ]
    assert all("ClOrdID (11)" in r[58] for r in rejects)
    (resting,) = harness.exchange.open_orders(BOB)
    assert (resting.client_order_id, resting.quantity_minor) == ("s-1_" + "x" * 32, 50_000_000)
    assert harness.exchange.find_order(BOB, client_order_id=client_id) is None


def market_data_request(request_id: str, request_type: str, *entry_types: str, symbol: str = "BTCUSDT"):
    return [
        (262, request_id),
        (263, request_type),
        (264, "0"),
        (267, str(len(entry_types))),
        *[(269, entry_type) for entry_type in entry_types],
        (146, "1"),
        (55, symbol),
    ]


async def test_an_unsubscribe_by_md_req_id_alone_ends_the_subscription(venue) -> None:
    """Binance's example: 262=TRADE_STREAM|263=2|264=1, no groups. It was refused (281=0) and the
    subscription went on; an unsubscribe naming no subscription gets a MarketDataRequestReject."""
    harness, application, sender = venue
    application.on_message("A", "V", market_data_request("TRADE_STREAM", "1", "2"))
    assert harness.broadcaster.subscriber_count() == 1
    application.on_message("A", "V", [(262, "TRADE_STREAM"), (263, "2"), (264, "1")])
    assert harness.broadcaster.subscriber_count() == 0 and sender.of("A", "Y") == []
    application.on_message("A", "V", [(262, "TRADE_STREAM"), (263, "2")])
    (reject,) = sender.of("A", "Y")
    assert (reject[262], 281 in reject) == ("TRADE_STREAM", False) and "MDReqID (262)" in reject[58]


async def test_market_data_nobody_publishes_and_illegal_request_ids_are_refused(venue) -> None:
    harness, application, sender = venue
    application.on_message("A", "V", market_data_request("open", "1", "0", "4"))
    application.on_message("A", "V", market_data_request("a b", "1", "0", "1"))
    rejects = sender.of("A", "Y")
    assert [(r[262], r.get(281)) for r in rejects] == [("open", "8"), ("a b", None)]
    assert harness.broadcaster.subscriber_count() == 0 and sender.of("A", "W") == []


async def test_increments_follow_each_other_across_updates_that_leave_nothing_to_send(venue) -> None:
    """A level born and gone in one turn (a resting sell taken in the turn it was placed) takes update
    ids but leaves no New/Change/Delete entry, so no X goes out for it: the next X starts right after the
    last one sent (FirstBookUpdateID 25043 = previous LastBookUpdateID 25044 + 1), or a client following
    the ids sees a gap and resynchronises for nothing."""
    _, application, sender = venue
    application.on_message("A", "V", market_data_request("depth", "1", "0", "1"))
    (snapshot,) = sender.of("A", "W")
    application.on_message("B", "D", order("s1", "2", "0.1", "60000"))
    application.on_message("A", "D", order("b1", "1", "0.1", "60000"))
    await settle(application)
    application.on_message("B", "D", order("s2", "2", "0.1", "61000"))
    await settle(application)
    increments = sender.of("A", "X")
    assert increments, "the new level at 61000 is sent"
    last = int(snapshot[25044])
    for increment in increments:
        assert int(increment[25043]) == last + 1
        last = int(increment[25044])
    assert increments[-1][270] == "61000.00000000"


async def test_a_poss_resend_order_already_taken_is_ignored_and_a_new_one_is_taken(venue) -> None:
    """FIX test cases 19a/19b (QuickFIX's acceptance suite): PossResend (97=Y) asks the application to
    check the message's own id. A resent NewOrderSingle whose ClOrdID names an order we keep is ignored;
    it was answered "Duplicate ClOrdID" with OrdStatus 8, which an order manager reads as its live order
    rejected. One we never saw is taken as new."""
    harness, application, sender = venue
    application.on_message("B", "D", order("s1", "2", "0.5", "60000"))
    await settle(application)
    application.on_message("B", "D", [*order("s1", "2", "0.5", "60000"), (97, "Y")])
    application.on_message("B", "D", [*order("s2", "2", "0.5", "61000"), (97, "Y")])
    await settle(application)
    assert [(r[11], r[39]) for r in sender.of("B", "8")] == [("s1", "0"), ("s2", "0")]
    assert len(harness.exchange.open_orders(BOB)) == 2


def replace_of(cl_ord_id: str, original: str, quantity: str, price: str, *extra: tuple[int, str]):
    return [
        (11, cl_ord_id),
        (41, original),
        (55, "BTCUSDT"),
        (54, "2"),
        (38, quantity),
        (40, "2"),
        (44, price),
        *extra,
    ]


async def test_an_order_id_and_orig_cl_ord_id_naming_different_orders_change_neither(venue) -> None:
    """Binance: with both OrderID (37) and OrigClOrdID (41), the order found by 37 must carry 41, or the
    request is rejected. The 41 was ignored, so a cancel meant for s2 canceled s1."""
    harness, application, sender = venue
    application.on_message("B", "D", order("s1", "2", "0.5", "60000"))
    application.on_message("B", "D", order("s2", "2", "0.5", "61000"))
    await settle(application)
    first = sender.of("B", "8")[0][37]
    application.on_message("B", "F", [(11, "c1"), (37, first), (41, "s2"), (55, "BTCUSDT"), (54, "2")])
    application.on_message("B", "G", [(37, first), *replace_of("r1", "s2", "0.4", "60000")])
    application.on_message("B", "F", [(11, "c2"), (37, first), (41, "s1"), (55, "BTCUSDT"), (54, "2")])
    await settle(application)
    rejects = sender.of("B", "9")
    assert [(r[11], r[434], r[102], r[39], r[37]) for r in rejects] == [
        ("c1", "1", "1", "8", "NONE"),
        ("r1", "2", "1", "8", "NONE"),
    ]
    assert [r[11] for r in sender.of("B", "8") if r[150] == "4"] == ["c2"]
    assert [o.client_order_id for o in harness.exchange.open_orders(BOB)] == ["s2"]


async def test_requests_naming_an_order_not_yet_acknowledged_wait_for_it(venue) -> None:
    """FIX lets a client cancel, replace or ask about an order before it hears back (Appendix D,
    sequencing). Sent in one burst with the NewOrderSingle, the status request was answered ExecType I
    with OrdStatus 8 (rejected, unknown order) and the cancel refused as unknown, for an order that then
    went live."""
    harness, application, sender = venue
    application.on_message("B", "D", order("s1", "2", "0.5", "60000"))
    application.on_message("B", "H", [(11, "s1"), (55, "BTCUSDT"), (54, "2")])
    application.on_message("B", "F", [(11, "c1"), (41, "s1"), (55, "BTCUSDT"), (54, "2")])
    await settle(application)
    assert sender.of("B", "9") == []
    assert [(r[150], r[39], r[11]) for r in sender.of("B", "8")] == [
        ("0", "0", "s1"),
        ("I", "0", "s1"),
        ("4", "4", "c1"),
    ]
    assert harness.exchange.open_orders(BOB) == []


async def test_a_chain_of_replaces_sent_before_any_is_acknowledged_is_carried_out_in_order(venue) -> None:
    """Each OrigClOrdID names the replace before it (FIX: the previous non-rejected order), still in
    flight; the second replace and the cancel were refused as unknown orders."""
    harness, application, sender = venue
    application.on_message("B", "D", order("s1", "2", "0.5", "60000"))
    await settle(application)
    application.on_message("B", "G", replace_of("s2", "s1", "0.4", "60000"))
    application.on_message("B", "G", replace_of("s3", "s2", "0.3", "60000"))
    application.on_message("B", "F", [(11, "s4"), (41, "s3"), (55, "BTCUSDT"), (54, "2")])
    await settle(application)
    assert sender.of("B", "9") == []
    assert [(r[150], r[11], r.get(41), r[38]) for r in sender.of("B", "8")[1:]] == [
        ("5", "s2", "s1", "0.40000000"),
        ("5", "s3", "s2", "0.30000000"),
        ("4", "s4", "s3", "0.30000000"),
    ]
    assert harness.exchange.open_orders(BOB) == []


async def test_a_request_naming_a_replace_that_fails_is_refused_as_unknown(venue) -> None:
    """s2 never exists (its replace is refused), so a cancel of s2 is for an unknown order."""
    harness, application, sender = venue
    application.on_message("B", "D", order("s1", "2", "0.5", "60000"))
    await settle(application)
    application.on_message("B", "G", replace_of("s2", "s1", "100", "60000"))
    application.on_message("B", "F", [(11, "c1"), (41, "s2"), (55, "BTCUSDT"), (54, "2")])
    await settle(application)
    assert [(r[11], r[434], r[102]) for r in sender.of("B", "9")] == [("s2", "2", "99"), ("c1", "1", "1")]
    assert [o.client_order_id for o in harness.exchange.open_orders(BOB)] == ["s1"]


async def test_icebergs_and_replaces_changing_order_characteristics_are_refused(venue) -> None:
    """MaxFloor (111) was ignored, so an iceberg showed its whole quantity; a replace asking for IOC was
    answered Replaced (with 59=1) and the order rested on."""
    harness, application, sender = venue
    application.on_message("B", "D", order("i1", "2", "0.5", "60000", **{"111": "0.1"}))
    application.on_message("B", "D", order("s1", "2", "0.5", "60000"))
    await settle(application)
    assert [(r[11], r[39], r.get(103)) for r in sender.of("B", "8")] == [("i1", "8", "11"), ("s1", "0", None)]
    application.on_message("B", "G", replace_of("s2", "s1", "0.4", "60000", (59, "3")))
    await settle(application)
    (reject,) = sender.of("B", "9")
    assert (reject[11], reject[434], reject[102], reject[39]) == ("s2", "2", "99", "0")
    assert "TimeInForce (59)" in reject[58]
    (resting,) = harness.exchange.open_orders(BOB)
    assert (resting.client_order_id, resting.quantity_minor) == ("s1", 50_000_000)


async def test_a_poss_resend_of_an_order_still_in_flight_is_ignored(venue) -> None:
    """Resent before the book took the original, it was answered "Duplicate ClOrdID" (39=8)."""
    harness, application, sender = venue
    application.on_message("B", "D", order("s1", "2", "0.5", "60000"))
    application.on_message("B", "D", [*order("s1", "2", "0.5", "60000"), (97, "Y")])
    await settle(application)
    assert [(r[11], r[39]) for r in sender.of("B", "8")] == [("s1", "0")]
    assert len(harness.exchange.open_orders(BOB)) == 1


async def test_a_cancel_reusing_a_cl_ord_id_is_refused_as_a_duplicate(venue) -> None:
    """CxlRejReason 6 (duplicate ClOrdID) exists for this; it was 99 (other)."""
    _, application, sender = venue
    application.on_message("B", "D", order("s1", "2", "0.5", "60000"))
    application.on_message("B", "D", order("s2", "2", "0.5", "60000"))
    await settle(application)
    application.on_message("B", "F", [(11, "s2"), (41, "s1"), (55, "BTCUSDT"), (54, "2")])
    await settle(application)
    (reject,) = sender.of("B", "9")
    assert (reject[434], reject[102], reject[39]) == ("1", "6", "0")


async def test_a_mass_cancel_report_names_its_symbol(venue) -> None:
    """Binance's OrderMassCancelReport carries Symbol (55) from the request (required there)."""
    _, application, sender = venue
    application.on_message("B", "D", order("s1", "2", "0.5", "60000"))
    await settle(application)
    application.on_message("B", "q", [(11, "mc"), (530, "1"), (55, "BTCUSDT")])
    application.on_message("B", "q", [(11, "mc2"), (530, "1"), (55, "NOPE")])
    await settle(application)
    assert [(r[11], r.get(55), r[531]) for r in sender.of("B", "r")] == [
        ("mc2", "NOPE", "0"),
        ("mc", "BTCUSDT", "1"),
    ]


async def test_values_fix_defines_that_the_venue_does_not_support_get_the_orders_own_reject(venue) -> None:
    """A stop order, TimeInForce Day or an undisclosed side is a valid FIX 4.4 order the venue does not
    take: an ExecutionReport rejected with 103=11 (unsupported order characteristic) that the client's OMS
    ties to the order, and an unsupported mass cancel type an OrderMassCancelReport 532=0 (not supported)."""
    _, application, sender = venue
    stop_limit = [
        (11, "stop"),
        (55, "BTCUSDT"),
        (54, "2"),
        (38, "0.5"),
        (40, "4"),
        (44, "60000"),
        (99, "59000"),
    ]
    application.on_message("B", "D", stop_limit)
    application.on_message("B", "D", order("day", "2", "0.5", "60000", **{"59": "0"}))
    application.on_message("B", "D", order("undisclosed", "7", "0.5", "60000"))
    application.on_message("B", "D", order("min-qty", "2", "0.5", "60000", **{"110": "0.2"}))
    application.on_message("B", "q", [(11, "by-product"), (530, "3"), (460, "2")])
    await settle(application)
    rejects = {r[11]: (r[150], r[39], r[103], r[58]) for r in sender.of("B", "8")}
    assert rejects["stop"][:3] == rejects["day"][:3] == rejects["undisclosed"][:3] == ("8", "8", "11")
    assert "OrdType (40)" in rejects["stop"][3] and "TimeInForce (59)" in rejects["day"][3]
    assert "Side (54)" in rejects["undisclosed"][3]
    assert rejects["min-qty"][2:] == ("11", "MinQty (110): a minimum fill quantity is not supported")
    (mass,) = sender.of("B", "r")
    assert (mass[11], mass[530], mass[531], mass[532]) == ("by-product", "3", "0", "0")
