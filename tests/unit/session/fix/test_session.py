"""Scripted conversations with the sans-I/O session: bytes in, bytes out, a fixed clock, no sockets."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from session.fix.auth import hash_password, logon_signature_payload, make_authenticator, password_matches
from session.fix.codec import FixMessage, FixParser, encode, parse_frame
from session.fix.session import (
    ApplicationMessage,
    Disconnect,
    FixSession,
    LoggedOn,
    ResendNeeded,
    SessionConfig,
    State,
    parse_utc_timestamp,
    utc_timestamp,
)

NOW = 1_800_000_000.0
CONFIG = SessionConfig(session_id="ALICE-GATEWAY", our_comp_id="GATEWAY", their_comp_id="ALICE")


class Client:
    """The counterparty: numbers its messages and reads what the session sends."""

    def __init__(self, session: FixSession) -> None:
        self.session = session
        self.seq = 1
        self.parser = FixParser(message_bytes_max=65536, buffer_bytes_max=1 << 20)

    def send(
        self,
        msg_type: str,
        body=(),
        *,
        seq: int | None = None,
        now: float = NOW,
        sent_at: float | None = None,
        header=(),
        comp=("ALICE", "GATEWAY"),
    ):
        number = self.seq if seq is None else seq
        if seq is None:
            self.seq += 1
        fields = [
            (35, msg_type),
            (49, comp[0]),
            (56, comp[1]),
            (34, str(number)),
            (52, utc_timestamp(now if sent_at is None else sent_at)),
            *header,
            *body,
        ]
        self.session.receive(parse_frame(encode("FIX.4.4", fields)), now)

    def logon(self, *extra, heartbeat: str = "30", **kwargs) -> None:
        self.send("A", [(98, "0"), (108, heartbeat), *extra], **kwargs)

    def received(self) -> list[FixMessage]:
        persisted = self.session.take_persist()
        data = self.session.data_to_send()
        if persisted is not None:
            assert all(frame in data for _, frame in persisted[2]), "a frame went out before it was persisted"
        return [item for item in self.parser.feed(data) if isinstance(item, FixMessage)]


def new_session(
    next_in: int = 1, next_out: int = 1, config: SessionConfig = CONFIG
) -> tuple[FixSession, Client]:
    session = FixSession(config, next_incoming_seq=next_in, next_outgoing_seq=next_out, now_s=NOW)
    return session, Client(session)


def logged_on() -> tuple[FixSession, Client]:
    session, client = new_session()
    client.logon()
    client.received()
    session.events_received()
    return session, client


def test_logon_is_answered_with_the_heartbeat_interval() -> None:
    session, client = new_session()
    client.logon()
    (reply,) = client.received()
    assert (reply.msg_type, reply.get(108), reply.get(34), reply.get(49), reply.get(56)) == (
        "A",
        "30",
        "1",
        "GATEWAY",
        "ALICE",
    )
    assert session.events_received() == [LoggedOn("ALICE-GATEWAY", False)]
    assert session.state is State.ACTIVE and session.next_incoming_seq == 2


def test_a_first_message_that_is_not_a_logon_drops_the_connection() -> None:
    session, client = new_session()
    client.send("D", [(11, "x")])
    assert client.received() == []
    assert session.events_received() == [Disconnect("first message was not a logon")]


@pytest.mark.parametrize(
    ("extra", "kwargs", "text"),
    [
        ((), {"heartbeat": "1"}, "HeartBtInt (108) must be between 5 and 120"),
        ((), {"sent_at": NOW - 500}, "SendingTime accuracy problem"),
    ],
)
def test_bad_logons_are_logged_out(extra, kwargs, text: str) -> None:
    session, client = new_session()
    client.logon(*extra, **kwargs)
    (logout,) = client.received()
    assert (logout.msg_type, logout.get(58)) == ("5", text)
    assert session.state is State.CLOSED


def test_wrong_begin_string_is_logged_out() -> None:
    session, client = new_session()
    frame = encode(
        "FIX.4.2",
        [
            (35, "A"),
            (49, "ALICE"),
            (56, "GATEWAY"),
            (34, "1"),
            (52, utc_timestamp(NOW)),
            (98, "0"),
            (108, "30"),
        ],
    )
    session.receive(parse_frame(frame), NOW)
    assert client.received()[0].get(58) == "Incorrect BeginString FIX.4.2"
    assert session.state is State.CLOSED


def test_logon_with_a_sequence_number_too_low_is_logged_out_with_the_standard_text() -> None:
    _, client = new_session(next_in=5)
    client.logon(seq=3)
    (logout,) = client.received()
    assert logout.get(58) == "MsgSeqNum too low, expecting 5 but received 3"


def test_logon_with_a_gap_asks_for_a_resend() -> None:
    session, client = new_session(next_in=5)
    client.logon(seq=8)
    _, resend = client.received()
    assert (resend.msg_type, resend.get(7), resend.get(16)) == ("2", "5", "0")
    assert session.next_incoming_seq == 5


def test_reset_seq_num_flag_starts_both_sides_at_one() -> None:
    session, client = new_session(next_in=40, next_out=77)
    client.logon((141, "Y"))
    (reply,) = client.received()
    assert (reply.get(34), reply.get(141)) == ("1", "Y")
    assert session.events_received() == [LoggedOn("ALICE-GATEWAY", True)]
    assert session.take_persist() is None or session.next_incoming_seq == 2


def test_test_request_is_answered_with_its_id() -> None:
    _, client = logged_on()
    client.send("1", [(112, "PING-7")])
    (heartbeat,) = client.received()
    assert (heartbeat.msg_type, heartbeat.get(112)) == ("0", "PING-7")


def test_silence_brings_a_heartbeat_then_a_test_request_then_a_disconnect() -> None:
    session, client = logged_on()
    session.on_timer(NOW + 30)
    assert [m.msg_type for m in client.received()] == ["0"]
    session.on_timer(NOW + 36)
    (test_request,) = client.received()
    assert test_request.msg_type == "1" and test_request.get(112) == "TEST1"
    session.on_timer(NOW + 66)
    assert session.events_received()[-1] == Disconnect("TestRequest not answered")


def test_an_answered_test_request_keeps_the_session() -> None:
    session, client = logged_on()
    session.on_timer(NOW + 36)
    client.received()
    client.send("0", [(112, "TEST1")], now=NOW + 37)
    session.on_timer(NOW + 60)
    assert session.state is State.ACTIVE


def test_a_gap_is_detected_and_the_gap_fill_closes_it() -> None:
    session, client = logged_on()
    client.send("D", [(11, "x")], seq=5)
    (resend_request,) = client.received()
    assert (resend_request.msg_type, resend_request.get(7), resend_request.get(16)) == ("2", "2", "0")
    client.send("D", [(11, "y")], seq=6)
    assert client.received() == []
    client.send("4", [(123, "Y"), (36, "5")], seq=2, header=[(43, "Y"), (122, utc_timestamp(NOW - 1))])
    assert session.next_incoming_seq == 5


def test_sequence_number_too_low_without_poss_dup_logs_out() -> None:
    session, client = logged_on()
    client.send("0", seq=1)
    (logout,) = client.received()
    assert logout.get(58) == "MsgSeqNum too low, expecting 2 but received 1"
    assert session.state is State.CLOSED


def test_poss_dup_duplicates_are_ignored_but_need_orig_sending_time() -> None:
    session, client = logged_on()
    client.send("0", seq=1, header=[(43, "Y"), (122, utc_timestamp(NOW - 5))])
    assert client.received() == [] and session.state is State.ACTIVE
    client.send("0", seq=2, header=[(43, "Y")])
    (reject,) = client.received()
    assert (reject.msg_type, reject.get(373), reject.get(371)) == ("3", "1", "122")
    client.send("0", header=[(43, "Y"), (122, utc_timestamp(NOW + 5))], seq=3)
    reject, logout = client.received()
    assert (reject.get(373), logout.msg_type) == ("10", "5")


def test_sequence_reset_reset_mode_moves_the_expected_number() -> None:
    session, client = logged_on()
    client.send("4", [(36, "20")], seq=99)
    assert session.next_incoming_seq == 20
    client.send("4", [(36, "10")], seq=20)
    (reject,) = client.received()
    assert (reject.get(373), reject.get(371)) == ("5", "36")


def test_resend_request_resends_application_messages_and_gap_fills_admin_ones() -> None:
    session, client = logged_on()
    session.send_application("8", [(37, "1"), (11, "a")], NOW)
    session.on_timer(NOW + 30)
    session.send_application("8", [(37, "2"), (11, "b")], NOW + 31)
    persisted = session.take_persist()
    frames = persisted[2]
    client.received()
    client.send("2", [(7, "1"), (16, "0")], now=NOW + 32)
    (needed,) = [e for e in session.events_received() if isinstance(e, ResendNeeded)]
    assert needed == ResendNeeded(1, 4)
    stored = [(1, b"logon frame is admin"), *frames]
    session.resend(needed.begin_seq, needed.end_seq, stored, NOW + 33)
    replies = client.received()
    kinds = [(m.msg_type, m.get(34), m.get(43), m.get(36)) for m in replies]
    assert kinds == [("4", "1", "Y", "2"), ("8", "2", "Y", None), ("4", "3", "Y", "4"), ("8", "4", "Y", None)]
    assert replies[1].get(122) == utc_timestamp(NOW) and replies[1].get(11) == "a"
    assert session.next_outgoing_seq == 5


def test_a_resend_of_frames_the_store_no_longer_keeps_is_a_gap_fill() -> None:
    session, client = logged_on()
    for index in range(3):
        session.send_application("8", [(37, str(index)), (11, f"c{index}")], NOW)
    frames = session.take_persist()[2]
    client.received()
    client.send("2", [(7, "2"), (16, "0")], now=NOW + 1)
    (needed,) = [e for e in session.events_received() if isinstance(e, ResendNeeded)]
    session.resend(needed.begin_seq, needed.end_seq, frames[-1:], NOW + 2)
    kinds = [(m.msg_type, m.get(34), m.get(36), m.get(11)) for m in client.received()]
    assert kinds == [("4", "2", "4", None), ("8", "4", None, "c2")]


def test_invalid_and_unsupported_message_types() -> None:
    session, client = logged_on()
    client.send("ZZ")
    client.send("E", [(66, "list")])
    reject, business_reject = client.received()
    assert (reject.msg_type, reject.get(373), reject.get(371)) == ("3", "11", "35")
    assert (business_reject.msg_type, business_reject.get(380), business_reject.get(372)) == ("j", "3", "E")
    assert session.next_incoming_seq == 4


@pytest.mark.parametrize(
    ("body", "reason", "ref_tag"),
    [
        ([(11, "x"), (54, "1"), (38, "1"), (40, "2"), (55, "BTCUSDT")], "1", "60"),
        ([(11, "x"), (54, "Z"), (38, "1"), (40, "2"), (55, "BTCUSDT"), (60, utc_timestamp(NOW))], "5", "54"),
        (
            [(11, "x"), (54, "1"), (38, "abc"), (40, "2"), (55, "BTCUSDT"), (60, utc_timestamp(NOW))],
            "6",
            "38",
        ),
        (
            [(11, "x"), (11, "y"), (54, "1"), (38, "1"), (40, "2"), (55, "B"), (60, utc_timestamp(NOW))],
            "13",
            "11",
        ),
        (
            [(11, "x"), (54, "1"), (38, "1"), (40, "2"), (55, "B"), (60, utc_timestamp(NOW)), (262, "r")],
            "2",
            "262",
        ),
        (
            [(11, "x"), (54, "1"), (38, "1"), (40, "2"), (55, "B"), (60, utc_timestamp(NOW)), (4999, "r")],
            "0",
            "4999",
        ),
        (
            [(11, "x"), (54, "1"), (38, "1"), (40, "2"), (55, "B"), (60, utc_timestamp(NOW)), (112, "X")],
            "2",
            "112",
        ),
        (
            [(11, "x"), (54, "1"), (38, "1"), (40, "2"), (55, "B"), (60, utc_timestamp(NOW)), (101, "X")],
            "0",
            "101",
        ),
    ],
)
def test_application_messages_are_validated_against_the_dictionary(body, reason: str, ref_tag: str) -> None:
    session, client = logged_on()
    client.send("D", body)
    (reject,) = client.received()
    assert (reject.msg_type, reject.get(373), reject.get(371), reject.get(45)) == ("3", reason, ref_tag, "2")
    assert session.events_received() == []
    assert session.next_incoming_seq == 3


def test_a_tag_without_value_and_a_group_count_mismatch_are_rejected() -> None:
    session, client = logged_on()
    frame = encode(
        "FIX.4.4", [(35, "1"), (49, "ALICE"), (56, "GATEWAY"), (34, "2"), (52, utc_timestamp(NOW)), (112, "")]
    )
    session.receive(parse_frame(frame), NOW)
    client.seq = 3
    client.send(
        "V", [(262, "m"), (263, "1"), (264, "0"), (267, "2"), (269, "0"), (146, "1"), (55, "BTCUSDT")]
    )
    empty, group = client.received()
    assert (empty.get(373), empty.get(371)) == ("4", "112")
    assert (group.get(373), group.get(371)) == ("16", "267")


def test_valid_application_messages_become_events_and_rejects_route_back() -> None:
    session, client = logged_on()
    body = [(11, "x"), (54, "1"), (38, "1"), (40, "2"), (55, "BTCUSDT"), (60, utc_timestamp(NOW))]
    client.send("D", body)
    (event,) = session.events_received()
    assert isinstance(event, ApplicationMessage) and event.message.get(11) == "x"
    client.send("ZZ", header=[(115, "DESK-7")])
    (reject,) = client.received()
    assert reject.get(128) == "DESK-7"


def test_wrong_comp_id_is_rejected_and_logged_out() -> None:
    session, client = logged_on()
    client.send("0", comp=("MALLORY", "GATEWAY"))
    reject, logout = client.received()
    assert (reject.get(373), logout.msg_type) == ("9", "5")
    assert session.state is State.CLOSED


def test_logout_handshake_both_ways_and_its_timeout() -> None:
    session, client = logged_on()
    client.send("5", [(58, "bye")])
    (reply,) = client.received()
    assert reply.msg_type == "5" and session.state is State.CLOSED
    session, client = logged_on()
    session.logout("maintenance", NOW)
    assert client.received()[0].get(58) == "maintenance"
    client.send("5")
    assert session.events_received() == [Disconnect("logout completed")]
    session, client = logged_on()
    session.logout("", NOW)
    session.on_timer(NOW + 11)
    assert session.events_received() == [Disconnect("logout not answered in time")]


def test_password_logon() -> None:
    stored = hash_password("s3cret")
    assert password_matches("s3cret", stored) and not password_matches("nope", stored)
    config = SessionConfig(
        session_id="S",
        our_comp_id="GATEWAY",
        their_comp_id="ALICE",
        authenticate=make_authenticator(username="alice", password_hash=stored, ed25519_public_key_pem=""),
    )
    _, client = new_session(config=config)
    client.logon((553, "alice"), (554, "wrong"))
    assert client.received()[0].get(58) == "Invalid Password (554)"
    _, client = new_session(config=config)
    client.logon((553, "alice"), (554, "s3cret"))
    assert client.received()[0].msg_type == "A"


def test_binance_ed25519_signed_logon() -> None:
    private_key = Ed25519PrivateKey.generate()
    pem = (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    config = SessionConfig(
        session_id="S",
        our_comp_id="SPOT",
        their_comp_id="BOT1",
        authenticate=make_authenticator(username="APIKEY", password_hash="", ed25519_public_key_pem=pem),
    )
    header = [(35, "A"), (49, "BOT1"), (56, "SPOT"), (34, "1"), (52, utc_timestamp(NOW))]
    unsigned = parse_frame(encode("FIX.4.4", header))
    signature = base64.b64encode(private_key.sign(logon_signature_payload(unsigned))).decode()
    body = [
        (95, str(len(signature))),
        (96, signature),
        (98, "0"),
        (108, "30"),
        (553, "APIKEY"),
        (25035, "2"),
        (9406, "N"),
    ]
    session = FixSession(config, next_incoming_seq=1, next_outgoing_seq=1, now_s=NOW)
    session.receive(parse_frame(encode("FIX.4.4", header + body)), NOW)
    assert session.state is State.ACTIVE
    forged = FixSession(config, next_incoming_seq=1, next_outgoing_seq=1, now_s=NOW)
    tampered = [*header[:3], (34, "2"), header[4], *body]
    forged.receive(parse_frame(encode("FIX.4.4", tampered)), NOW)
    assert forged.state is State.CLOSED


def frame_with(fields: list[tuple[int, str]]) -> FixMessage | None:
    return parse_frame(encode("FIX.4.4", fields))


def test_digits_that_are_not_ascii_are_not_numbers() -> None:
    """``str.isdigit`` takes "²" (which ``int`` refuses) and "٣" (which ``int`` reads as 3)."""
    assert parse_utc_timestamp("20270115-08:00:0²") is None
    assert parse_utc_timestamp("2027011٣-08:00:00") is None
    header = [(35, "0"), (49, "ALICE"), (56, "GATEWAY")]
    session, client = logged_on()
    session.receive(frame_with([*header, (34, "2"), (52, utc_timestamp(NOW)[:-1] + "²")]), NOW)
    (reject,) = client.received()
    assert (reject.get(371), reject.get(373)) == ("52", "6")  # not a time: a format problem (14f)
    session, client = logged_on()
    session.receive(frame_with([*header, (34, "2²"), (52, utc_timestamp(NOW))]), NOW)
    (logout,) = client.received()
    assert logout.get(58) == "MsgSeqNum (34) missing or not a number"
    assert session.state is State.CLOSED


def test_application_messages_after_our_logout_are_taken_in_sequence_but_not_acted_on() -> None:
    session, client = logged_on()
    session.logout("maintenance", NOW)
    client.received()
    client.send("D", [(11, "x"), (54, "1"), (38, "1"), (40, "2"), (55, "BTCUSDT"), (60, utc_timestamp(NOW))])
    assert session.events_received() == []
    assert session.next_incoming_seq == 3
    assert not session.send_application("8", [(37, "1")], NOW)
    client.send("5")
    assert session.events_received() == [Disconnect("logout completed")]


def test_a_market_order_by_cash_quantity_and_a_reject_without_ref_seq_num_pass_the_dictionary() -> None:
    session, client = logged_on()
    client.send(
        "D", [(11, "q"), (54, "1"), (40, "1"), (152, "100"), (55, "BTCUSDT"), (60, utc_timestamp(NOW))]
    )
    client.send("j", [(372, "D"), (380, "0"), (58, "no")])
    assert client.received() == []
    assert [event.message.msg_type for event in session.events_received()] == ["D", "j"]


def test_every_fix44_standard_header_field_is_accepted() -> None:
    """QuickFIX/J's SenderSubID/TargetSubID settings and EnableLastMsgSeqNumProcessed put 50, 57 and 369
    in every header, the Logon's included; FIX 4.4's header defines them (and the location IDs, hops)."""
    session, client = new_session()
    client.logon(header=[(50, "DESK1"), (57, "MATCHING"), (369, "0")])
    (reply,) = client.received()
    assert reply.msg_type == "A" and session.state is State.ACTIVE
    session.events_received()
    header = [(50, "DESK1"), (142, "LDN"), (143, "NY"), (369, "1"), (347, "UTF-8")]
    header += [(627, "2"), (628, "HUB1"), (629, utc_timestamp(NOW)), (628, "HUB2"), (629, utc_timestamp(NOW))]
    body = [(11, "x"), (54, "1"), (38, "1"), (40, "2"), (55, "BTCUSDT"), (60, utc_timestamp(NOW))]
    client.send("D", body, header=header)
    assert client.received() == []
    (event,) = session.events_received()
    assert isinstance(event, ApplicationMessage) and event.message.get(11) == "x"


def test_a_reject_routes_back_on_behalf_of_and_deliver_to_sub_and_location_ids() -> None:
    _, client = logged_on()
    client.send("1", header=[(115, "FIRM"), (116, "TRADER"), (144, "LDN"), (129, "DESK"), (145, "NY")])
    (reject,) = client.received()
    assert (reject.msg_type, reject.get(373), reject.get(371)) == ("3", "1", "112")
    routed = {tag: reject.get(tag) for tag in (128, 129, 145, 116, 144)}
    assert routed == {128: "FIRM", 129: "TRADER", 145: "LDN", 116: "DESK", 144: "NY"}


def test_a_poss_dup_gap_fill_without_orig_sending_time_closes_the_gap() -> None:
    """QuickFIX and QuickFIX/J ask OrigSendingTime (122) of every PossDup message but a SequenceReset
    (Session::doPossDup): rejecting the gap fill left the gap open, and the resend was never asked again."""
    session, client = logged_on()
    client.send("D", [(11, "x")], seq=5)
    (resend_request,) = client.received()
    assert (resend_request.get(7), resend_request.get(16)) == ("2", "0")
    client.send("4", [(123, "Y"), (36, "5")], seq=2, header=[(43, "Y")])
    assert client.received() == []
    assert session.next_incoming_seq == 5
    client.send("0", seq=5, header=[(43, "Y"), (122, utc_timestamp(NOW - 1))])
    assert client.received() == [] and session.next_incoming_seq == 6


@pytest.mark.parametrize(
    ("kwargs", "reason"), [({"sent_at": NOW - 500}, "10"), ({"comp": ("ALICE", "SOMEONE")}, "9")]
)
def test_a_message_rejected_for_its_sending_time_or_comp_ids_is_not_asked_for_again(kwargs, reason) -> None:
    """The Reject consumes the message's number (QuickFIX's generateReject, FIX test cases 2k and 2o: the
    counterparty's Logout that follows is in sequence): else the next logon's ResendRequest brings the
    rejected message back as a PossDup resend with a fresh SendingTime, and a stale order is executed."""
    session, client = logged_on()
    client.send("D", [(11, "x"), (54, "1"), (38, "1"), (40, "2"), (55, "BTCUSDT")], **kwargs)
    reject, logout = client.received()
    assert (reject.msg_type, reject.get(373), reject.get(45), logout.msg_type) == ("3", reason, "2", "5")
    assert session.next_incoming_seq == 3


def test_a_reject_of_tag_number_zero_names_it() -> None:
    _, client = logged_on()
    client.send("0", [(0, "x")])
    (reject,) = client.received()
    assert (reject.get(373), reject.get(371)) == ("0", "0")


def test_market_data_requests_as_binance_documents_them_pass_the_dictionary() -> None:
    """No MarketDepth (264) on a trade stream, no groups on an unsubscribe; and an MDEntryType that FIX 4.4
    defines but the venue does not publish reaches the application, for a MarketDataRequestReject 281=8."""
    session, client = logged_on()
    client.send("V", [(262, "t1"), (263, "1"), (267, "1"), (269, "2"), (146, "1"), (55, "BTCUSDT")])
    client.send("V", [(262, "t1"), (263, "2")])
    client.send(
        "V", [(262, "o1"), (263, "1"), (264, "0"), (267, "1"), (269, "4"), (146, "1"), (55, "BTCUSDT")]
    )
    assert client.received() == []
    assert [event.message.get(262) for event in session.events_received()] == ["t1", "t1", "o1"]


def test_a_reset_logon_on_a_logged_on_session_starts_both_sides_over_at_one() -> None:
    """FIX's in-session sequence reset (QuickFIX's acceptance test SessionReset): a Logon with
    ResetSeqNumFlag=Y and MsgSeqNum 1 is answered with a Logon with ResetSeqNumFlag=Y numbered 1, and
    both sides go on from 2; it was logged out as a Logon on a logged-on session."""
    session, client = logged_on()
    for _ in range(3):
        client.send("0")
    client.send("1", [(112, "old")])
    client.seq = 1
    client.logon((141, "Y"), heartbeat="20")
    heartbeat, reply = client.received()
    assert (heartbeat.get(112), heartbeat.get(34)) == ("old", "2")
    assert (reply.msg_type, reply.get(34), reply.get(141), reply.get(108)) == ("A", "1", "Y", "20")
    assert session.stored_messages_obsolete and session.heartbeat_interval_s == 20
    assert (session.state, session.next_incoming_seq, session.next_outgoing_seq) == (State.ACTIVE, 2, 2)
    client.send("1", [(112, "new")])
    (heartbeat,) = client.received()
    assert (heartbeat.get(34), heartbeat.get(112)) == ("2", "new")
    assert session.events_received() == []


def test_a_logon_on_a_logged_on_session_without_a_reset_or_numbered_other_than_one_is_logged_out() -> None:
    for extra, seq, text in [
        ((), None, "Logon received on a logged-on session"),
        (((141, "Y"),), 5, "MsgSeqNum (34) must be 1 with ResetSeqNumFlag (141)"),
    ]:
        session, client = logged_on()
        client.logon(*extra, seq=seq)
        (logout,) = client.received()
        assert (logout.msg_type, logout.get(58), session.state) == ("5", text, State.CLOSED)


def test_an_empty_routing_field_is_not_routed_back() -> None:
    """A Reject of a message with an empty OnBehalfOfCompID (115) must not carry DeliverToCompID (128)
    without a value, itself a field a counterparty rejects (QuickFIX: ReverseRouteWithEmptyRoutingTags)."""
    _, client = logged_on()
    client.send("1", [(112, "x")], header=[(115, "JCD"), (116, "")])
    (reject,) = client.received()
    assert (reject.get(373), reject.get(371), reject.get(128)) == ("4", "116", "JCD")
    assert all(value for _, value in reject.fields)


ORDER_BODY = [(11, "x"), (54, "1"), (38, "1"), (40, "2"), (55, "BTCUSDT"), (60, utc_timestamp(NOW))]


@pytest.mark.parametrize(
    ("sent_ago_s", "window", "accepted"),
    [
        (0.5, "1000", True),
        (2.0, "1000", False),
        (-0.5, "1000", True),
        (-2.0, "1000", False),
        (59, "60000", True),
    ],
)
def test_a_request_outside_its_recv_window_is_rejected_and_not_acted_on(
    sent_ago_s: float, window: str, accepted: bool
) -> None:
    """Binance's RecvWindow (25000): valid while SendingTime < now + 1 s and now - SendingTime <= window."""
    session, client = logged_on()
    client.send("D", ORDER_BODY, sent_at=NOW - sent_ago_s, header=[(25000, window)])
    events = session.events_received()
    if accepted:
        assert [type(event) for event in events] == [ApplicationMessage] and client.received() == []
        return
    (reject,) = client.received()
    assert (reject.msg_type, reject.get(45), reject.get(371), reject.get(373)) == ("3", "2", "52", "10")
    assert reject.get(58) == "Timestamp for this request is outside of the recvWindow."
    assert events == []
    client.send("0")
    assert session.state is State.ACTIVE and session.next_incoming_seq == 4


@pytest.mark.parametrize("window", ["0", "60000.001", "-5", "1.0001", "abc"])
def test_a_recv_window_out_of_range_is_rejected(window: str) -> None:
    session, client = logged_on()
    client.send("D", ORDER_BODY, header=[(25000, window)])
    (reject,) = client.received()
    assert (reject.msg_type, reject.get(371)) == ("3", "25000")
    assert reject.get(373) in ("5", "6") and session.events_received() == []


def test_a_signed_logon_is_valid_for_five_seconds_unless_its_recv_window_says_otherwise() -> None:
    """A signed Logon replayed later must not log on: Binance defaults its RecvWindow to 5000 ms."""
    signed = [(95, "4"), (96, "c2ln")]
    _, client = new_session()
    client.logon(*signed, sent_at=NOW - 6)
    assert client.received()[0].get(58) == "Timestamp for this request is outside of the recvWindow."
    _, client = new_session()
    client.logon(*signed, sent_at=NOW - 6, header=[(25000, "10000")])
    assert client.received()[0].msg_type == "A"
    _, client = new_session()
    client.logon(sent_at=NOW - 6)
    assert client.received()[0].msg_type == "A"


_SECOND_S = 1_795_532_100  # 20261124-14:55:00 UTC


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20261124-14:55:00", float(_SECOND_S)),
        ("20261124-14:55:00.123", _SECOND_S + 123 / 1000),
        ("20261124-14:55:00.5", _SECOND_S + 5 / 10),
        ("20261124-14:55:00.123456789", _SECOND_S + 123456789 / 10**9),
        ("20261124-14:55:00.1234567890123", _SECOND_S + 1234567890123 / 10**13),
        ("20261124-23:59:60", float(_SECOND_S + 9 * 3600 + 4 * 60 + 60)),
        ("20261124-14:55:00.", None),
        ("20261124-14:55:00x123", None),
        ("20261124-14:55:00.12a", None),
        ("20261124-14:55:00.²", None),
        ("20261124-14:55:0", None),
        ("20261124 14:55:00", None),
        ("20261124-14-55:00", None),
        ("20261124-24:00:00", None),
        ("20261124-23:60:00", None),
        ("20261124-23:59:61", None),
        ("20260230-10:00:00", None),
        ("2026112a-10:00:00", None),
        ("", None),
    ],
)
def test_sending_times_parse_to_epoch_seconds_or_none(text: str, expected: float | None) -> None:
    """Twice each: a cached whole second must answer as the first parse did."""
    for _ in range(2):
        parsed = parse_utc_timestamp(text)
        assert parsed == expected and type(parsed) is type(expected)


@pytest.mark.parametrize(("tag", "value"), [(40, "4"), (59, "0"), (59, "6"), (54, "7")])
def test_a_value_fix_defines_reaches_the_application_even_if_unsupported(tag: int, value: str) -> None:
    """A stop limit order, Day, GTD or an undisclosed side is a valid FIX 4.4 value: the application refuses
    it with the order's own reject; a session Reject 373=5 was for values outside the field's range."""
    session, client = logged_on()
    body = [(11, "x"), (54, "1"), (38, "1"), (40, "2"), (44, "5"), (55, "BTCUSDT"), (60, utc_timestamp(NOW))]
    client.send("D", [(t, value if t == tag else v) for t, v in body] + ([(59, value)] if tag == 59 else []))
    assert client.received() == []
    (event,) = session.events_received()
    assert isinstance(event, ApplicationMessage) and event.message.get(tag) == value


def test_fields_fix_defines_for_an_order_are_taken_with_it() -> None:
    """Text, Currency, ExDestination and the Parties block are FIX 4.4 fields of a NewOrderSingle that an OMS
    sends with every order: each was a Reject 373=2 (tag not defined for this message type); a Parties
    count that does not match its entries is still one (373=16)."""
    session, client = logged_on()
    body = [(11, "x"), (54, "1"), (38, "1"), (40, "2"), (44, "5"), (55, "BTCUSDT"), (60, utc_timestamp(NOW))]
    parties = [(453, "2"), (448, "TRADER1"), (447, "D"), (452, "11"), (448, "DESK"), (447, "D"), (452, "24")]
    client.send("D", [*body, (58, "hello"), (15, "USDT"), (100, "XBIN"), *parties])
    assert client.received() == []
    (event,) = session.events_received()
    assert isinstance(event, ApplicationMessage) and event.message.get(58) == "hello"
    client.send("D", [*body, (453, "3"), *parties[1:]])
    (reject,) = client.received()
    assert (reject.msg_type, reject.get(373), reject.get(371)) == ("3", "16", "453")


def test_a_logon_may_say_it_is_a_test_and_list_its_message_types() -> None:
    """TestMessageIndicator (464) and the MsgTypes group (384) are FIX 4.4 Logon fields: the Logon was
    refused (373=2) and the connection dropped."""
    session, client = new_session()
    client.logon((464, "N"), (384, "2"), (372, "D"), (385, "S"), (372, "8"), (385, "R"))
    assert [message.msg_type for message in client.received()] == ["A"]
    assert session.state is State.ACTIVE


@pytest.mark.parametrize(
    ("header", "reason", "ref_tag"),
    [
        ([(49, "ALICE"), (56, "GATEWAY"), (34, "2")], "1", "52"),
        ([(56, "GATEWAY"), (34, "2"), (52, utc_timestamp(NOW))], "1", "49"),
        ([(49, "ALICE"), (34, "2"), (52, utc_timestamp(NOW))], "1", "56"),
        ([(49, "ALICE"), (56, "GATEWAY"), (34, "2"), (52, "notatime")], "6", "52"),
        ([(49, "ALICE"), (56, "GATEWAY"), (34, "2"), (52, "20260230-10:00:00")], "6", "52"),
    ],
)
def test_a_header_field_missing_or_malformed_is_rejected_and_the_session_goes_on(
    header, reason: str, ref_tag: str
) -> None:
    """Test cases 14b and 14f: Reject 373=1 or 6 naming the field, its number consumed, no Logout; a
    SendingTime that parses but is out of tolerance is 373=10 and a Logout (2k), a wrong CompID 373=9 and a
    Logout (2m). Both were the SendingTime accuracy problem or the CompID problem, and a Logout."""
    session, client = logged_on()
    session.receive(frame_with([(35, "1"), *header, (112, "t")]), NOW)
    (reject,) = client.received()
    assert (reject.msg_type, reject.get(373), reject.get(371), reject.get(45)) == ("3", reason, ref_tag, "2")
    assert (session.state, session.next_incoming_seq) == (State.ACTIVE, 3)


def test_a_logon_that_resets_the_sequence_must_be_number_1() -> None:
    """With ResetSeqNumFlag both sides start at 1, the Logon included: one numbered 5 was taken and answered
    with a ResendRequest for 1 to 4 of the session it had just reset."""
    session, client = new_session()
    client.logon((141, "Y"), seq=5)
    (logout,) = client.received()
    assert (logout.msg_type, logout.get(58)) == ("5", "MsgSeqNum (34) must be 1 with ResetSeqNumFlag (141)")
    assert session.state is State.CLOSED
