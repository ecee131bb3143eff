"""A FIX 4.4 data dictionary for the messages the gateway speaks, and message validation against it.

``validate`` answers the first problem of a message as (SessionRejectReason, RefTagID, text), the way
the session layer rejects it with a Reject (35=3): tags without values, unknown tags, tags not defined
for the message type, repeated tags, header/body/trailer order, required tags, data formats, enum values
and repeating-group counts.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from session.fix.codec import FixMessage

# SessionRejectReason (373)
INVALID_TAG_NUMBER = 0
REQUIRED_TAG_MISSING = 1
TAG_NOT_DEFINED_FOR_MESSAGE_TYPE = 2
TAG_WITHOUT_VALUE = 4
VALUE_INCORRECT = 5
INCORRECT_DATA_FORMAT = 6
COMP_ID_PROBLEM = 9
SENDING_TIME_ACCURACY = 10
INVALID_MSG_TYPE = 11
TAG_REPEATED = 13
TAG_OUT_OF_ORDER = 14
GROUP_COUNT_INCORRECT = 16
OTHER = 99

# FIX 4.4's standard header: engines put any of these in every message (QuickFIX/J's SenderSubID and
# TargetSubID settings, LastMsgSeqNumProcessed 369), the Logon included. 1128 is ApplVerID; 25000 is
# Binance's RecvWindow, sent in the header by its FIX clients.
HEADER_TAGS = (
    *(8, 9, 35, 49, 56, 115, 128, 90, 91, 34, 50, 142, 57, 143, 116, 144, 129, 145, 43, 97, 52, 122),
    *(212, 213, 347, 369, 627, 628, 629, 630, 1128, 25000),
)
# The header's one repeating group, NoHops (627): HopCompID, HopSendingTime and HopRefID repeat.
HEADER_GROUP_TAGS = frozenset({628, 629, 630})
TRAILER_TAGS = (93, 89, 10)

_INT = re.compile(r"-?[0-9]+")
_FLOAT = re.compile(r"-?([0-9]+\.?[0-9]*|\.[0-9]+)")
# A month, day, hour, minute and second in range (60: a leap second), as test case 14f asks of every
# UTCTimestamp; whether the day exists in its month is the session's check of SendingTime (52, 122).
_UTC_TIMESTAMP = re.compile(
    r"[0-9]{4}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])-(?:[01][0-9]|2[0-3]):[0-5][0-9]:(?:[0-5][0-9]|60)"
    r"(\.[0-9]{1,9})?"
)
_BOOLEAN = re.compile(r"[YN]")
_CHAR = re.compile(r".")
FORMATS = {"int": _INT, "float": _FLOAT, "time": _UTC_TIMESTAMP, "bool": _BOOLEAN, "char": _CHAR}
# The formats no value with SOH in it can match: checked in one pattern over values joined by SOH.
_SOH_FREE_FORMATS = frozenset({_INT, _FLOAT, _UTC_TIMESTAMP, _BOOLEAN})

# tag -> format, for the tags whose format is checked
FIELD_FORMATS: dict[int, str] = {
    7: "int",
    9: "int",
    14: "float",
    16: "int",
    31: "float",
    32: "float",
    34: "int",
    36: "int",
    38: "float",
    43: "bool",
    44: "float",
    52: "time",
    54: "char",
    60: "time",
    95: "int",
    97: "bool",
    98: "int",
    108: "int",
    110: "float",
    122: "time",
    123: "bool",
    141: "bool",
    146: "int",
    151: "float",
    152: "float",
    264: "int",
    265: "int",
    267: "int",
    268: "int",
    369: "int",
    372: "char",
    380: "int",
    383: "int",
    384: "int",
    453: "int",
    464: "bool",
    530: "char",
    585: "int",
    627: "int",
    802: "int",
    629: "time",
    1128: "char",
    25001: "int",
}
# OrdType, Side and TimeInForce take every value FIX 4.4 defines, as do the mass requests' types: a value the
# venue does not support (a stop order, Day, Side undisclosed) is the application's to refuse with the
# order's own reject (ExecutionReport 103=11, OrderMassCancelReport 532=0), which an OMS ties to the
# order; a session-level Reject 373=5 is for values outside the field's range (FIX 4.4 volume 2).
ENUMS: dict[int, frozenset[str]] = {
    40: frozenset("123456789ABCDEFGHIJKLMP"),
    54: frozenset("123456789ABCDEFG"),
    59: frozenset("01234567"),
    98: frozenset({"0"}),
    263: frozenset({"0", "1", "2"}),
    265: frozenset({"0", "1"}),
    266: frozenset({"Y", "N"}),
    # Every MDEntryType FIX 4.4 defines: the ones the venue does not publish get a MarketDataRequestReject
    # with MDReqRejReason 8 (unsupported MDEntryType), not a session-level Reject.
    269: frozenset("0123456789ABC"),
    530: frozenset("1234567"),
    559: frozenset({"0", "4"}),
    585: frozenset("12345678"),
    25035: frozenset({"1", "2"}),
    25001: frozenset({"1", "2", "3", "4"}),
}


@dataclass(frozen=True, slots=True)
class Group:
    count_tag: int
    first_tag: int
    tags: frozenset[int]


@dataclass(frozen=True, slots=True)
class MessageSpec:
    required: frozenset[int]
    optional: frozenset[int] = frozenset()
    groups: tuple[Group, ...] = field(default=())

    @property
    def body_tags(self) -> frozenset[int]:
        tags = set(self.required | self.optional)
        for group in self.groups:
            tags |= group.tags | {group.count_tag}
        return frozenset(tags)


def _spec(
    required: tuple[int, ...], optional: tuple[int, ...] = (), groups: tuple[Group, ...] = ()
) -> MessageSpec:
    return MessageSpec(frozenset(required), frozenset(optional), groups)


# Fields FIX 4.4 defines for the order messages that say who sends an order and for whom, or name the
# instrument beyond Symbol: taken and not acted on (QuickFIX/J OMSs send Parties and Text with every
# order). Parties' nested PartySubIDs (802) repeat inside it and are not counted.
PARTIES = Group(453, 448, frozenset({448, 447, 452, 802, 523, 803}))
INSTRUMENT_TAGS = (48, 22, 167, 460, 107, 207)
ORDER_DESCRIPTION_TAGS = (*INSTRUMENT_TAGS, 58, 15, 100, 526, 583, 528, 529, 582, 660, 77, 494, 376, 377)
# Fields of NewOrderSingle and OrderCancelReplaceRequest that change what an order does and that the venue
# does not offer (StopPx, MinQty, ExpireTime, ExpireDate, MaxFloor): the application refuses an order
# carrying one (ExecutionReport 103=11) rather than trade it without them.
UNSUPPORTED_ORDER_TAGS = (99, 110, 126, 432, 111)
# Logon: TestMessageIndicator (464) and the MsgTypes the counterparty sends or receives (384), not acted on.
LOGON_MSG_TYPES = Group(384, 372, frozenset({372, 385}))

MD_ENTRY_TYPES = Group(267, 269, frozenset({269}))
RELATED_SYMBOLS = Group(146, 55, frozenset({55}))
MD_ENTRIES = Group(268, 269, frozenset({269, 270, 271, 272, 273, 279, 55}))

MESSAGES: dict[str, MessageSpec] = {
    "0": _spec((), (112,)),
    "1": _spec((112,)),
    "2": _spec((7, 16)),
    "3": _spec((45,), (371, 372, 373, 58)),
    "4": _spec((36,), (123,)),
    "5": _spec((), (58,)),
    "A": _spec((98, 108), (95, 96, 141, 553, 554, 789, 383, 464, 25035, 25036, 9406), (LOGON_MSG_TYPES,)),
    "j": _spec((372, 380), (45, 379, 58)),
    "D": _spec(
        (11, 54, 40, 55, 60),
        (1, 38, 44, 59, 18, 152, 25001, 21, *ORDER_DESCRIPTION_TAGS, *UNSUPPORTED_ORDER_TAGS),
        (PARTIES,),
    ),
    "F": _spec((11, 54, 55, 60), (37, 41, 38, 1, *INSTRUMENT_TAGS, 58, 526, 583, 660, 376), (PARTIES,)),
    "G": _spec(
        (11, 54, 55, 60, 40, 38),
        (37, 41, 44, 59, 1, 18, 21, *ORDER_DESCRIPTION_TAGS, *UNSUPPORTED_ORDER_TAGS),
        (PARTIES,),
    ),
    "H": _spec((54, 55), (37, 11, 790, 1, *INSTRUMENT_TAGS, 583, 660), (PARTIES,)),
    "q": _spec((11, 530, 60), (55, 1, *INSTRUMENT_TAGS, 58, 526)),
    "AF": _spec((584, 585), (55, 1, *INSTRUMENT_TAGS, 660), (PARTIES,)),
    # MarketDepth (264) is optional in Binance's dialect (its trade stream is asked for without it).
    "V": _spec((262, 263), (264, 265, 266), (MD_ENTRY_TYPES, RELATED_SYMBOLS)),
    "x": _spec((320, 559), (55,)),
}
# Every MsgType FIX 4.4 defines: a type outside this set is rejected (11); one inside it that the gateway does
# not handle gets a BusinessMessageReject (unsupported message type).
_SINGLE_CHARACTER_TYPES = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
KNOWN_MSG_TYPES_44 = frozenset(
    [
        *_SINGLE_CHARACTER_TYPES,
        *(f"A{letter}" for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
        *(f"B{c}" for c in "ABCDEFGH"),
    ]
)
ADMIN_MSG_TYPES = frozenset({"0", "1", "2", "3", "4", "5", "A"})
KNOWN_TAGS = frozenset(
    {*HEADER_TAGS, *TRAILER_TAGS, *FIELD_FORMATS, *ENUMS}
    | {tag for spec in MESSAGES.values() for tag in spec.body_tags}
    | {58, 112, 262, 270, 271, 320, 553, 554, 584, 790}
)


FIX44_TAG_MAX = 956
# Numbers up to FIX44_TAG_MAX that FIX 4.4's field list leaves out (fields retired in earlier versions).
FIX44_UNDEFINED_TAGS = frozenset(
    {20, 24, 46, 47, 51, 76, 86, 92, 101, 105, 109, 125, 166, 173, 174, 175, 176, 177, 178, 179, 180}
    | {181, 182, 183, 184, 185, 186, 187, 204, 205, 219, 261, 314, 319, 370, 439, 440, 449, 450, 465}
    | {653, 685, 809, 831}
)
USER_DEFINED_TAG_MIN = 5000


def is_fix44_tag(tag: int) -> bool:
    """Whether FIX 4.4 defines ``tag``: one it defines but a message does not take is "not defined for
    this message type" (373=2), not an "invalid tag number" (373=0)."""
    return 1 <= tag <= FIX44_TAG_MAX and tag not in FIX44_UNDEFINED_TAGS


# Binance's FIX API: "Client order ID fields must conform to the regex ^[a-zA-Z0-9-_]{1,36}$" (ClOrdID,
# MDReqID, ...). An id that the venue keeps and repeats in every report is bounded and printable.
CLIENT_ID_PATTERN = "^[a-zA-Z0-9-_]{1,36}$"
CLIENT_ID = re.compile(r"[a-zA-Z0-9_-]{1,36}")


@dataclass(frozen=True, slots=True)
class Problem:
    reason: int
    ref_tag: int
    text: str


# Per message type: tag -> (section, format pattern, allowed values, may repeat); built on first use.
_Plan = dict[int, tuple[int, "re.Pattern[str] | None", "frozenset[str] | None", bool]]
_PLANS: dict[str, _Plan] = {}


def _plan(msg_type: str) -> _Plan:
    plan = _PLANS.get(msg_type)
    if plan is None:
        spec = MESSAGES[msg_type]
        group_tags = {tag for group in spec.groups for tag in group.tags}
        sections = [(0, HEADER_TAGS), (2, TRAILER_TAGS), (1, spec.body_tags)]
        plan = {}
        for section, tags in sections:
            for tag in tags:
                kind = FIELD_FORMATS.get(tag)
                repeatable = tag in group_tags or tag in HEADER_GROUP_TAGS
                plan.setdefault(tag, (section, FORMATS[kind] if kind else None, ENUMS.get(tag), repeatable))
        _PLANS[msg_type] = plan
    return plan


# Per (MsgType, tags in order): the value checks (index, tag, format pattern, allowed values) of a message
# of that shape whose tags are all known, in order, unrepeated and complete; None for any other shape.
_ValueChecks = tuple[tuple[int, int, "re.Pattern[str] | None", "frozenset[str] | None"], ...]


class _ShapeChecks(NamedTuple):
    """The value checks of one shape in field order, and the same checks regrouped to be run cheaply:
    the formats that cannot match SOH as one pattern over the values joined by SOH (every value then
    matches its own format), a format that its allowed values imply left to the enum test, and the
    group count tested only for a message type with groups."""

    ordered: _ValueChecks
    joined: Callable[[tuple[str, ...]], tuple[str, ...]] | None
    joined_pattern: re.Pattern[str] | None
    patterns: tuple[tuple[int, re.Pattern[str]], ...]
    enums: tuple[tuple[int, frozenset[str]], ...]
    grouped: bool


_SHAPES: dict[tuple[str, tuple[int, ...]], _ShapeChecks | None] = {}
SHAPES_CACHED_MAX = 4096  # a peer sending ever new shapes gets the uncached path, not our memory


def validate(message: FixMessage) -> Problem | None:
    """The first dictionary problem of ``message`` (a message type we handle), or None.

    A session sends few shapes, so the tag checks are done once per shape and only the values are checked
    per message; every other message, and any with an empty value, takes the field-by-field walk, so
    the first problem found is the same either way. The regrouped value checks accept exactly what the
    ordered ones accept (34,000 -> 23,000 instructions for a NewOrderSingle); when one fails, the
    ordered checks name the first problem.
    """
    tags, values = zip(*message.fields, strict=True)
    key = (message.msg_type, tags)
    try:
        checks = _SHAPES[key]
    except KeyError:
        checks = _shape_checks(message.msg_type, tags)
        if len(_SHAPES) < SHAPES_CACHED_MAX:
            _SHAPES[key] = checks
    if checks is None or "" in values:
        return _first_problem(message)
    ordered, joined, joined_pattern, patterns, enums, grouped = checks
    passed = joined is None or joined_pattern.fullmatch("\x01".join(joined(values))) is not None
    for index, pattern in patterns:
        if not pattern.fullmatch(values[index]):
            passed = False
    for index, allowed in enums:
        if values[index] not in allowed:
            passed = False
    if not passed and (problem := _value_problem(ordered, values)) is not None:
        return problem
    return _group_count_problem(message) if grouped else None


def _value_problem(checks: _ValueChecks, values: tuple[str, ...]) -> Problem | None:
    """The first value problem by the ordered checks, which are the authority on what is accepted."""
    for index, tag, pattern, allowed in checks:
        value = values[index]
        if pattern is not None and not pattern.fullmatch(value):
            return Problem(INCORRECT_DATA_FORMAT, tag, f"Incorrect data format for value ({tag})")
        if allowed is not None and value not in allowed:
            return Problem(VALUE_INCORRECT, tag, f"Value is incorrect (out of range) for this tag ({tag})")
    return None


def _shape_checks(msg_type: str, tags: tuple[int, ...]) -> _ShapeChecks | None:
    ordered = _value_checks(msg_type, tags)
    if ordered is None:
        return None
    joinable, patterns, enums = [], [], []
    for index, _, pattern, allowed in ordered:
        if allowed is not None:
            enums.append((index, allowed))
            if pattern is None or all(pattern.fullmatch(value) for value in allowed):
                continue
        if pattern in _SOH_FREE_FORMATS:
            joinable.append((index, pattern))
        elif pattern is not None:
            patterns.append((index, pattern))
    joined, joined_pattern = None, None
    if len(joinable) == 1:
        patterns += joinable
    elif joinable:
        joined = operator.itemgetter(*(index for index, _ in joinable))
        joined_pattern = re.compile("\x01".join(f"(?:{pattern.pattern})" for _, pattern in joinable))
    grouped = any(group.count_tag in tags or group.first_tag in tags for group in MESSAGES[msg_type].groups)
    return _ShapeChecks(ordered, joined, joined_pattern, tuple(patterns), tuple(enums), grouped)


def _value_checks(msg_type: str, tags: tuple[int, ...]) -> _ValueChecks | None:
    """The value checks of a message with these tags, or None if a tag is unknown, out of order,
    repeated or missing (``_first_problem`` then finds which)."""
    plan = _plan(msg_type)
    seen: set[int] = set()
    section = 0
    checks = []
    for index, tag in enumerate(tags):
        entry = plan.get(tag)
        if entry is None:
            return None
        where, pattern, allowed, repeatable = entry
        if where < section or (tag in seen and not repeatable):
            return None
        section = where
        seen.add(tag)
        if pattern is not None or allowed is not None:
            checks.append((index, tag, pattern, allowed))
    if MESSAGES[msg_type].required - seen:
        return None
    return tuple(checks)


def _first_problem(message: FixMessage) -> Problem | None:
    """The first problem of ``message``, walking its fields in order."""
    spec = MESSAGES[message.msg_type]
    plan = _plan(message.msg_type)
    seen: set[int] = set()
    section = 0  # 0 header, 1 body, 2 trailer
    for tag, value in message.fields:
        if value == "":
            return Problem(TAG_WITHOUT_VALUE, tag, f"Tag specified without a value ({tag})")
        entry = plan.get(tag)
        if entry is None:
            if tag not in KNOWN_TAGS and not is_fix44_tag(tag) and tag < USER_DEFINED_TAG_MIN:
                return Problem(INVALID_TAG_NUMBER, tag, f"Invalid tag number ({tag})")
            return Problem(
                TAG_NOT_DEFINED_FOR_MESSAGE_TYPE, tag, f"Tag not defined for this message type ({tag})"
            )
        where, pattern, allowed, repeatable = entry
        if where < section:
            return Problem(TAG_OUT_OF_ORDER, tag, f"Tag specified out of required order ({tag})")
        section = where
        if tag in seen and not repeatable:
            return Problem(TAG_REPEATED, tag, f"Tag appears more than once ({tag})")
        seen.add(tag)
        if pattern is not None and not pattern.fullmatch(value):
            return Problem(INCORRECT_DATA_FORMAT, tag, f"Incorrect data format for value ({tag})")
        if allowed is not None and value not in allowed:
            return Problem(VALUE_INCORRECT, tag, f"Value is incorrect (out of range) for this tag ({tag})")
    missing = spec.required - seen
    if missing:
        tag = min(missing)
        return Problem(REQUIRED_TAG_MISSING, tag, f"Required tag missing ({tag})")
    return _group_count_problem(message)


def _group_count_problem(message: FixMessage) -> Problem | None:
    """A repeating group whose NumInGroup differs from the entries sent, or None."""
    for group in MESSAGES[message.msg_type].groups:
        declared = message.get(group.count_tag)
        occurrences = sum(1 for tag, _ in message.fields if tag == group.first_tag)
        if (declared is not None and int(declared) != occurrences) or (declared is None and occurrences):
            return Problem(
                GROUP_COUNT_INCORRECT,
                group.count_tag,
                f"Incorrect NumInGroup count for repeating group ({group.count_tag})",
            )
    return None
