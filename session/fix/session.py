"""A FIX 4.4 acceptor session, sans-I/O: parsed messages and the time in, bytes and events out.

The transport feeds every parsed message with ``receive(message, now_s)`` and calls ``on_timer(now_s)``
about once a second; it sends ``data_to_send()``, but only after handing ``take_persist()`` to the
store (persist before send), and serves ``ResendNeeded`` by calling ``resend`` with the stored frames.
All session rules live here: logon, sequence numbers, gap detection and fill, test requests and
heartbeats, rejects, logout. AWAITING_LOGON takes only a Logon; ACTIVE everything but a Logon;
LOGOUT_SENT session messages, a Logout completing the handshake (application messages are taken in
sequence but not acted on: after our Logout nothing may be sent to acknowledge them); CLOSED nothing.
"""

from __future__ import annotations

import calendar
import enum
import functools
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from config.money import ascii_digits
from session.fix.codec import FixMessage, encode, parse_frame
from session.fix.dictionary import (
    ADMIN_MSG_TYPES,
    COMP_ID_PROBLEM,
    INCORRECT_DATA_FORMAT,
    INVALID_MSG_TYPE,
    INVALID_TAG_NUMBER,
    KNOWN_MSG_TYPES_44,
    MESSAGES,
    REQUIRED_TAG_MISSING,
    SENDING_TIME_ACCURACY,
    VALUE_INCORRECT,
    Problem,
    validate,
)

BEGIN_STRING = "FIX.4.4"
SENDING_TIME_TOLERANCE_S = 120
# Header fields every message carries past its framing (BeginString, BodyLength, MsgType are the parser's).
_HEADER_REQUIRED = (49, 56, 52)
# Binance's RecvWindow (25000): milliseconds after SendingTime a request stays valid, up to three
# decimals and at most 60000; a signed Logon without one is valid for 5000.
RECV_WINDOW_TAG = 25000
RECV_WINDOW_MS_MAX = 60_000
SIGNED_LOGON_RECV_WINDOW_MS = 5_000
_RECV_WINDOW = re.compile(r"[0-9]{1,5}(\.[0-9]{1,3})?")
OUTSIDE_RECV_WINDOW = "Timestamp for this request is outside of the recvWindow."
TEST_REQUEST_MARGIN = 1.2
LOGOUT_TIMEOUT_S = 10.0
BUSINESS_REJECT_UNSUPPORTED_TYPE = "3"
# Reverse routing: a reply to a message sent on behalf of someone is delivered to them, and back.
REVERSE_ROUTING = {115: 128, 128: 115, 116: 129, 129: 116, 144: 145, 145: 144}


class State(enum.Enum):
    AWAITING_LOGON = "AWAITING_LOGON"
    ACTIVE = "ACTIVE"
    LOGOUT_SENT = "LOGOUT_SENT"
    CLOSED = "CLOSED"


@dataclass(frozen=True, slots=True)
class SessionConfig:
    session_id: str
    our_comp_id: str
    their_comp_id: str
    heartbeat_interval_s_min: int = 5
    heartbeat_interval_s_max: int = 120
    authenticate: Callable[[FixMessage], str | None] = lambda message: None
    begin_string: str = BEGIN_STRING


@dataclass(frozen=True, slots=True)
class LoggedOn:
    session_id: str
    reset_sequence_numbers: bool


@dataclass(frozen=True, slots=True)
class ApplicationMessage:
    message: FixMessage


@dataclass(frozen=True, slots=True)
class ResendNeeded:
    begin_seq: int
    end_seq: int


@dataclass(frozen=True, slots=True)
class Disconnect:
    reason: str


SessionEvent = LoggedOn | ApplicationMessage | ResendNeeded | Disconnect


def utc_timestamp(now_s: float) -> str:
    """UTCTimestamp with milliseconds (``YYYYMMDD-HH:MM:SS.sss``) of ``now_s`` seconds since the epoch."""
    whole = int(now_s)
    return f"{utc_second(whole)}.{int((now_s - whole) * 1000):03d}"


@functools.lru_cache(maxsize=16)
def utc_second(seconds: int) -> str:
    """The whole-second part of a UTCTimestamp, formatted once per second rather than once per message."""
    return time.strftime("%Y%m%d-%H:%M:%S", time.gmtime(seconds))


def parse_utc_timestamp(text: str) -> float | None:
    """Seconds since the epoch of a UTCTimestamp (``YYYYMMDD-HH:MM:SS[.fff...]``), or None."""
    whole_s = _whole_second_s(text[:17])
    if whole_s is None:
        return None
    if len(text) == 17:
        return whole_s + 0.0
    fraction = text[18:]
    if text[17] != "." or not ascii_digits(fraction):
        return None
    return whole_s + int(fraction) / 10 ** len(fraction)


@functools.lru_cache(maxsize=256)
def _whole_second_s(text: str) -> int | None:
    """Epoch seconds of ``YYYYMMDD-HH:MM:SS``, or None; cached because a session's SendingTimes share
    their second (13,500 fewer instructions per order than parsing each one)."""
    if len(text) < 17 or text[8] != "-" or text[11] != ":" or text[14] != ":":
        return None
    digits = text[:8] + text[9:11] + text[12:14] + text[15:17]
    if not ascii_digits(digits):
        return None
    hours, minutes, seconds = int(digits[8:10]), int(digits[10:12]), int(digits[12:])
    midnight = _midnight_s(text[:8])
    if midnight is None or hours > 23 or minutes > 59 or seconds > 60:
        return None
    return midnight + hours * 3600 + minutes * 60 + seconds


@functools.lru_cache(maxsize=64)
def _midnight_s(date: str) -> int | None:
    """Epoch seconds of a ``YYYYMMDD`` date's midnight UTC (cached: a session sees few dates)."""
    try:
        return calendar.timegm(time.strptime(date, "%Y%m%d"))
    except ValueError:
        return None


class FixSession:
    """One counterparty's session; ``next_*_seq`` come from the store (continued after restarts)."""

    def __init__(
        self, config: SessionConfig, *, next_incoming_seq: int, next_outgoing_seq: int, now_s: float
    ):
        self.config = config
        self.state = State.AWAITING_LOGON
        self.next_incoming_seq = next_incoming_seq
        self.next_outgoing_seq = next_outgoing_seq
        self.heartbeat_interval_s = 30
        self._events: list[SessionEvent] = []
        self._outbound: list[bytes] = []
        self._persist: list[tuple[int, bytes]] = []
        self._sequence_changed = False
        self._last_received_s = now_s
        self._last_sent_s = now_s
        self._test_request_sent_s: float | None = None
        self._test_request_count = 0
        self._logout_sent_s = 0.0
        self._resend_requested_up_to = 0
        # Set by a ResetSeqNumFlag logon: the transport must drop the stored frames before persisting.
        self.stored_messages_obsolete = False

    # Output ---------------------------------------------------------------------------------------

    def events_received(self) -> list[SessionEvent]:
        events, self._events = self._events, []
        return events

    def take_persist(self) -> tuple[int, int, list[tuple[int, bytes]]] | None:
        """(next incoming, next outgoing, frames sent) to store before ``data_to_send``; None if unchanged."""
        if not self._persist and not self._sequence_changed:
            return None
        sent, self._persist, self._sequence_changed = self._persist, [], False
        return self.next_incoming_seq, self.next_outgoing_seq, sent

    def data_to_send(self) -> bytes:
        data = b"".join(self._outbound)
        self._outbound.clear()
        return data

    # Sending --------------------------------------------------------------------------------------

    def _send(
        self,
        msg_type: str,
        body: Sequence[tuple[int, str]],
        now_s: float,
        *,
        header: Sequence[tuple[int, str]] = (),
    ) -> None:
        seq = self.next_outgoing_seq
        fields = [
            (35, msg_type),
            (49, self.config.our_comp_id),
            (56, self.config.their_comp_id),
            (34, str(seq)),
            (52, utc_timestamp(now_s)),
            *header,
            *body,
        ]
        frame = encode(self.config.begin_string, fields)
        self.next_outgoing_seq = seq + 1
        self._persist.append((seq, frame))
        self._outbound.append(frame)
        self._last_sent_s = now_s

    def send_application(self, msg_type: str, body: Sequence[tuple[int, str]], now_s: float) -> bool:
        """Queue an application message; False when the session is not logged on."""
        if self.state is not State.ACTIVE:
            return False
        self._send(msg_type, body, now_s)
        return True

    def logout(self, text: str, now_s: float) -> None:
        """Start the logout handshake (the counterparty has ``LOGOUT_TIMEOUT_S`` to answer)."""
        if self.state is State.ACTIVE:
            self._send("5", [(58, text)] if text else [], now_s)
            self.state = State.LOGOUT_SENT
            self._logout_sent_s = now_s
        elif self.state is State.AWAITING_LOGON:
            self._close(text)

    def _logout_and_close(self, text: str, now_s: float) -> None:
        self._send("5", [(58, text)], now_s)
        self._close(text)

    def _close(self, reason: str) -> None:
        if self.state is not State.CLOSED:
            self.state = State.CLOSED
            self._events.append(Disconnect(reason))

    def _reject(self, message: FixMessage, problem: Problem, now_s: float) -> None:
        body = [(45, message.get(34) or "0"), (372, message.msg_type)]
        if problem.ref_tag or problem.reason == INVALID_TAG_NUMBER:
            body.append((371, str(problem.ref_tag)))
        body += [(373, str(problem.reason)), (58, problem.text)]
        self._send("3", body, now_s, header=_reverse_routing(message))

    def _business_reject(self, message: FixMessage, text: str, now_s: float) -> None:
        body = [
            (45, message.get(34) or "0"),
            (372, message.msg_type),
            (380, BUSINESS_REJECT_UNSUPPORTED_TYPE),
        ]
        self._send("j", [*body, (58, text)], now_s, header=_reverse_routing(message))

    # Receiving ------------------------------------------------------------------------------------

    def receive(self, message: FixMessage, now_s: float) -> None:
        if self.state is State.CLOSED:
            return
        self._last_received_s = now_s
        self._test_request_sent_s = None
        if message.get(8) != self.config.begin_string:
            self._logout_and_close(f"Incorrect BeginString {message.get(8)}", now_s)
            return
        if self.state is State.AWAITING_LOGON:
            if message.msg_type != "A":
                self._close("first message was not a logon")
                return
            self._on_logon(message, now_s)
            return
        if message.msg_type == "A":
            if message.get(141) == "Y" and self.state is State.ACTIVE:
                self._on_in_session_reset(message, now_s)
            else:
                self._logout_and_close("Logon received on a logged-on session", now_s)
            return
        if not self._header_ok(message, now_s):
            return
        if message.msg_type == "4" and message.get(123) != "Y":
            self._on_sequence_reset(message, now_s)
            return
        if not self._sequence_ok(message, now_s):
            return
        self._dispatch(message, now_s)

    def _header_ok(self, message: FixMessage, now_s: float) -> bool:
        """A header field missing or not a time is rejected and the session goes on (test cases 14b,
        14f); a wrong CompID (2m) or a SendingTime out of tolerance (2k) ends it."""
        get = message.get
        sender, target, sending_text = get(49), get(56), get(52)
        if sender is None or target is None or sending_text is None:
            tag = next(tag for tag in _HEADER_REQUIRED if get(tag) is None)
            self._reject_consuming(
                message, Problem(REQUIRED_TAG_MISSING, tag, f"Required tag missing ({tag})"), now_s
            )
            return False
        if sender != self.config.their_comp_id or target != self.config.our_comp_id:
            self._reject_and_logout(message, Problem(COMP_ID_PROBLEM, 0, "CompID problem"), now_s)
            return False
        sending_time = parse_utc_timestamp(sending_text)
        if sending_time is None:
            problem = Problem(INCORRECT_DATA_FORMAT, 52, "Incorrect data format for value (52)")
            self._reject_consuming(message, problem, now_s)
            return False
        if abs(sending_time - now_s) > SENDING_TIME_TOLERANCE_S:
            problem = Problem(SENDING_TIME_ACCURACY, 52, "SendingTime accuracy problem")
            self._reject_and_logout(message, problem, now_s)
            return False
        return True

    def _reject_consuming(self, message: FixMessage, problem: Problem, now_s: float) -> None:
        """Reject, consuming the message's number if it was the one expected (as QuickFIX does): else the
        next logon's ResendRequest would bring it back as a PossDup resend and it would be acted on."""
        self._reject(message, problem, now_s)
        seq_text = message.get(34) or ""
        if ascii_digits(seq_text) and int(seq_text) == self.next_incoming_seq:
            self._advance()

    def _reject_and_logout(self, message: FixMessage, problem: Problem, now_s: float) -> None:
        self._reject_consuming(message, problem, now_s)
        self._logout_and_close(problem.text, now_s)

    def _sequence_ok(self, message: FixMessage, now_s: float) -> bool:
        """Whether ``message`` is the next in sequence (and should be processed)."""
        seq_text = message.get(34) or ""
        if not ascii_digits(seq_text):
            self._logout_and_close("MsgSeqNum (34) missing or not a number", now_s)
            return False
        seq = int(seq_text)
        expected = self.next_incoming_seq
        if seq > expected:
            if message.msg_type == "5":
                self._logout_and_close("Logout with a sequence gap", now_s)
            elif message.msg_type == "2":
                self._dispatch(message, now_s, advance=False)
            # One ResendRequest (to infinity) covers every later gap until the counterparty has caught up.
            if expected > self._resend_requested_up_to and self.state is not State.CLOSED:
                self._send("2", [(7, str(expected)), (16, "0")], now_s)
            self._resend_requested_up_to = max(self._resend_requested_up_to, seq - 1)
            return False
        # A SequenceReset needs no OrigSendingTime (QuickFIX's Session::doPossDup): engines send gap fills
        # without it, and a rejected gap fill would leave the gap open.
        if message.get(43) == "Y" and message.msg_type != "4":
            original = message.get(122)
            if original is None:
                self._reject(message, Problem(REQUIRED_TAG_MISSING, 122, "Required tag missing (122)"), now_s)
                if seq == expected:
                    self._advance()
                return False
            original_s = parse_utc_timestamp(original)
            sent_s = parse_utc_timestamp(message.get(52) or "")
            if original_s is None or sent_s is None or original_s > sent_s:
                text = "OrigSendingTime (122) is later than SendingTime (52)"
                self._reject_and_logout(message, Problem(SENDING_TIME_ACCURACY, 122, text), now_s)
                return False
        if seq < expected:
            if message.get(43) != "Y":
                self._logout_and_close(f"MsgSeqNum too low, expecting {expected} but received {seq}", now_s)
            return False
        return True

    def _advance(self) -> None:
        self.next_incoming_seq += 1
        self._sequence_changed = True

    def _dispatch(self, message: FixMessage, now_s: float, *, advance: bool = True) -> None:
        msg_type = message.msg_type
        if advance:
            self._advance()
        if msg_type not in KNOWN_MSG_TYPES_44:
            self._reject(message, Problem(INVALID_MSG_TYPE, 35, f"Invalid MsgType ({msg_type})"), now_s)
            return
        if msg_type not in MESSAGES:
            self._business_reject(message, f"Unsupported Message Type {msg_type}", now_s)
            return
        problem = validate(message)
        if problem is not None:
            self._reject(message, problem, now_s)
            return
        if msg_type == "0":
            return
        if msg_type == "1":
            self._send("0", [(112, message.get(112) or "")], now_s)
        elif msg_type == "2":
            self._on_resend_request(message)
        elif msg_type == "3":
            return
        elif msg_type == "4":
            self._on_gap_fill(message, now_s)
        elif msg_type == "5":
            if self.state is State.ACTIVE:
                self._send("5", [], now_s)
            self._close(
                "logged out by the counterparty" if self.state is State.ACTIVE else "logout completed"
            )
        elif self.state is State.ACTIVE:
            problem = _recv_window_problem(message, now_s, default_ms=None)
            if problem is not None:
                self._reject(message, problem, now_s)
                return
            self._events.append(ApplicationMessage(message))
        # After our Logout nothing new may be sent (FIX session rules), so an application message
        # arriving then is not acted on: nothing happens that its sender could never be told about.

    # Admin messages -------------------------------------------------------------------------------

    def _logon_problem(self, message: FixMessage) -> str | None:
        """Why a Logon is refused by the dictionary, for its HeartBtInt, or for a reset not numbered 1 (both
        sides start over at 1, the Logon included), or None."""
        problem = validate(message)
        if problem is not None:
            return problem.text
        low, high = self.config.heartbeat_interval_s_min, self.config.heartbeat_interval_s_max
        if not low <= int(message.get(108) or "0") <= high:
            return f"HeartBtInt (108) must be between {low} and {high}"
        if message.get(141) == "Y" and message.get(34) != "1":
            return "MsgSeqNum (34) must be 1 with ResetSeqNumFlag (141)"
        return None

    def _on_logon(self, message: FixMessage, now_s: float) -> None:
        failure = self._logon_problem(message)
        if failure is not None:
            self._logout_and_close(failure, now_s)
            return
        interval = int(message.get(108) or "0")
        failure = self.config.authenticate(message)
        if failure is not None:
            self._logout_and_close(failure, now_s)
            return
        if message.get(49) != self.config.their_comp_id or message.get(56) != self.config.our_comp_id:
            self._logout_and_close("CompID problem", now_s)
            return
        sending_time = parse_utc_timestamp(message.get(52) or "")
        if sending_time is None or abs(sending_time - now_s) > SENDING_TIME_TOLERANCE_S:
            self._logout_and_close("SendingTime accuracy problem", now_s)
            return
        signed = message.get(96) is not None
        problem = _recv_window_problem(message, now_s, SIGNED_LOGON_RECV_WINDOW_MS if signed else None)
        if problem is not None:
            self._logout_and_close(problem.text, now_s)
            return
        reset = message.get(141) == "Y"
        if reset:
            self.next_incoming_seq = 1
            self.next_outgoing_seq = 1
            self._sequence_changed = True
            self.stored_messages_obsolete = True
        seq = int(message.get(34) or "0")
        if seq < self.next_incoming_seq:
            self._logout_and_close(
                f"MsgSeqNum too low, expecting {self.next_incoming_seq} but received {seq}", now_s
            )
            return
        self.heartbeat_interval_s = interval
        body = [(98, "0"), (108, str(interval))] + ([(141, "Y")] if reset else [])
        self._send("A", body, now_s)
        self.state = State.ACTIVE
        self._events.append(LoggedOn(self.config.session_id, reset))
        if seq > self.next_incoming_seq:
            self._send("2", [(7, str(self.next_incoming_seq)), (16, "0")], now_s)
            self._resend_requested_up_to = seq - 1
        else:
            self._advance()

    def _on_in_session_reset(self, message: FixMessage, now_s: float) -> None:
        """A Logon with ResetSeqNumFlag=Y on a logged-on session: both sides start over at 1, answered with
        a Logon with ResetSeqNumFlag=Y (FIX's in-session reset; QuickFIX's acceptance test SessionReset).
        Frames of the old numbering still queued go out but are not stored: the new store starts empty."""
        if not self._header_ok(message, now_s):
            return
        failure = self._logon_problem(message)
        if failure is not None:
            self._logout_and_close(failure, now_s)
            return
        self.heartbeat_interval_s = int(message.get(108) or "0")
        self._persist.clear()
        self.stored_messages_obsolete = True
        self._resend_requested_up_to = 0
        self.next_incoming_seq = 2
        self.next_outgoing_seq = 1
        self._sequence_changed = True
        self._send("A", [(98, "0"), (108, str(self.heartbeat_interval_s)), (141, "Y")], now_s)

    def _on_resend_request(self, message: FixMessage) -> None:
        begin = int(message.get(7) or "0")
        end = int(message.get(16) or "0")
        last_sent = self.next_outgoing_seq - 1
        if end == 0 or end > last_sent:
            end = last_sent
        if 0 < begin <= end:
            self._events.append(ResendNeeded(begin, end))

    def resend(self, begin: int, end: int, stored: Sequence[tuple[int, bytes]], now_s: float) -> None:
        """Answer a ResendRequest: application messages again with PossDupFlag, admin ones as a gap fill.

        ``stored`` are the frames the store kept for ``begin..end``. Sequence numbers are not consumed.
        """
        frames = dict(stored)
        gap_start = None
        for seq in range(begin, end + 1):
            frame = frames.get(seq)
            message = parse_frame(frame) if frame is not None else None
            if message is None or message.msg_type in ADMIN_MSG_TYPES:
                gap_start = seq if gap_start is None else gap_start
                continue
            if gap_start is not None:
                self._gap_fill(gap_start, seq, now_s)
                gap_start = None
            header = [(43, "Y"), (122, message.get(52) or utc_timestamp(now_s))]
            body = [(tag, value) for tag, value in message.fields[7:-1] if tag not in (43, 122)]
            fields = [
                (35, message.msg_type),
                (49, self.config.our_comp_id),
                (56, self.config.their_comp_id),
                (34, str(seq)),
                (52, utc_timestamp(now_s)),
                *header,
                *body,
            ]
            self._outbound.append(encode(self.config.begin_string, fields))
        if gap_start is not None:
            self._gap_fill(gap_start, end + 1, now_s)
        self._last_sent_s = now_s

    def _gap_fill(self, gap_start: int, next_seq: int, now_s: float) -> None:
        fields = [
            (35, "4"),
            (49, self.config.our_comp_id),
            (56, self.config.their_comp_id),
            (34, str(gap_start)),
            (52, utc_timestamp(now_s)),
            (43, "Y"),
            (122, utc_timestamp(now_s)),
            (123, "Y"),
            (36, str(next_seq)),
        ]
        self._outbound.append(encode(self.config.begin_string, fields))

    def _on_gap_fill(self, message: FixMessage, now_s: float) -> None:
        new_seq = int(message.get(36) or "0")
        if new_seq <= int(message.get(34) or "0"):
            self._reject(message, Problem(VALUE_INCORRECT, 36, "Attempt to lower sequence number"), now_s)
            return
        self.next_incoming_seq = new_seq
        self._sequence_changed = True

    def _on_sequence_reset(self, message: FixMessage, now_s: float) -> None:
        """SequenceReset-Reset: the sequence number jumps, whatever MsgSeqNum says."""
        problem = validate(message)
        if problem is not None:
            self._reject(message, problem, now_s)
            return
        new_seq = int(message.get(36) or "0")
        if new_seq < self.next_incoming_seq:
            self._reject(message, Problem(VALUE_INCORRECT, 36, "Attempt to lower sequence number"), now_s)
            return
        self.next_incoming_seq = new_seq
        self._sequence_changed = True

    # Timers ---------------------------------------------------------------------------------------

    def on_timer(self, now_s: float) -> None:
        if self.state is State.LOGOUT_SENT and now_s - self._logout_sent_s >= LOGOUT_TIMEOUT_S:
            self._close("logout not answered in time")
            return
        if self.state is not State.ACTIVE:
            return
        interval = self.heartbeat_interval_s
        if self._test_request_sent_s is not None:
            if now_s - self._test_request_sent_s >= interval:
                self._close("TestRequest not answered")
                return
        elif now_s - self._last_received_s >= interval * TEST_REQUEST_MARGIN:
            self._test_request_count += 1
            self._send("1", [(112, f"TEST{self._test_request_count}")], now_s)
            self._test_request_sent_s = now_s
        if now_s - self._last_sent_s >= interval:
            self._send("0", [], now_s)


def _recv_window_problem(message: FixMessage, now_s: float, default_ms: int | None) -> Problem | None:
    """Why ``message`` is outside its RecvWindow (or ``default_ms`` when it names none), or None."""
    text = message.get(RECV_WINDOW_TAG)
    if text is None:
        if default_ms is None:
            return None
        window_ms = float(default_ms)
    else:
        window_ms = float(text) if _RECV_WINDOW.fullmatch(text) else 0.0
        if not 0 < window_ms <= RECV_WINDOW_MS_MAX:
            reason = f"RecvWindow (25000) must be above 0 and at most {RECV_WINDOW_MS_MAX} ms, to 3 decimals"
            return Problem(VALUE_INCORRECT, RECV_WINDOW_TAG, reason)
    sent_s = parse_utc_timestamp(message.get(52) or "")
    if sent_s is None or sent_s >= now_s + 1 or (now_s - sent_s) * 1000 > window_ms:
        return Problem(SENDING_TIME_ACCURACY, 52, OUTSIDE_RECV_WINDOW)
    return None


def _reverse_routing(message: FixMessage) -> list[tuple[int, str]]:
    """The reply's routing fields; an empty one is not routed back (a field without a value is an error)."""
    return [
        (REVERSE_ROUTING[tag], value) for tag, value in message.fields if tag in REVERSE_ROUTING and value
    ]
