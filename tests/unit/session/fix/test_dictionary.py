"""Validation by message shape answers exactly as the field-by-field walk, on first sight and after."""

from __future__ import annotations

import pytest

from session.fix import dictionary
from session.fix.codec import FixMessage, encode, parse_frame
from session.fix.dictionary import Problem, validate

HEADER = [(35, "D"), (49, "ALICE"), (56, "GATEWAY"), (34, "2"), (52, "20261124-14:55:00.123")]
ORDER = [(11, "x"), (54, "1"), (38, "1"), (40, "2"), (44, "5"), (55, "BTCUSDT"), (60, "20261124-14:55:00")]


def problem(fields: list[tuple[int, str]]) -> tuple[Problem | None, Problem | None]:
    message = parse_frame(encode("FIX.4.4", fields))
    assert message is not None
    return validate(message), dictionary._first_problem(message)


@pytest.mark.parametrize(
    ("body", "reason", "ref_tag"),
    [
        (ORDER, None, None),
        ([*ORDER[:1], (54, "Z"), *ORDER[2:]], 5, 54),
        ([*ORDER[:1], (54, "Z"), (38, "abc"), *ORDER[3:]], 5, 54),
        ([*ORDER[:2], (38, "abc"), *ORDER[3:]], 6, 38),
        ([*ORDER[:2], (38, ""), *ORDER[3:]], 4, 38),
        ([*ORDER[:1], (54, "Z"), *ORDER[2:], (11, "y")], 5, 54),
        ([*ORDER, (11, "y")], 13, 11),
        ([*ORDER, (262, "r")], 2, 262),
        ([*ORDER, (4999, "r")], 0, 4999),
        ([*ORDER, (49, "ALICE")], 14, 49),
        (ORDER[:-1], 1, 60),
        ([*ORDER[:-1], (60, "yesterday")], 6, 60),
    ],
)
def test_each_order_gets_the_first_problem_in_field_order(body, reason, ref_tag) -> None:
    for _ in range(2):
        found, walked = problem([*HEADER, *body])
        assert found == walked
        assert (found.reason, found.ref_tag) == (reason, ref_tag) if found else reason is None


def test_a_repeating_group_count_is_checked_on_a_cached_shape() -> None:
    request = [(35, "V"), *HEADER[1:], (262, "r"), (263, "1"), (264, "1"), (267, "2")]
    request += [(269, "0"), (269, "1"), (146, "1"), (55, "BTCUSDT")]
    miscounted = [*request[:8], (267, "3"), *request[9:]]
    assert problem(request) == (None, None)
    found, walked = problem(miscounted)
    assert found == walked and (found.reason, found.ref_tag) == (16, 267)


def test_shapes_past_the_bound_are_validated_uncached(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dictionary, "SHAPES_CACHED_MAX", len(dictionary._SHAPES))
    before = dict(dictionary._SHAPES)
    found, walked = problem([*HEADER, *ORDER, (1, "ACCOUNT-NEVER-SEEN"), (18, "6")])
    assert found is None and walked is None
    found, walked = problem([*HEADER, *ORDER[:-1], (59, "9"), ORDER[-1]])
    assert found == walked and (found.reason, found.ref_tag) == (5, 59)
    assert before == dictionary._SHAPES


def direct(fields: list[tuple[int, str]]) -> tuple[Problem | None, Problem | None]:
    """Validated as built, so values no frame could carry (non-Latin-1, SOH) are checked too."""
    message = FixMessage([(8, "FIX.4.4"), (9, "100"), *fields, (10, "000")], b"")
    return validate(message), dictionary._first_problem(message)


ACCEPTED, FORMAT, OUT_OF_RANGE = None, 6, 5


@pytest.mark.parametrize(
    ("tag", "value", "reason"),
    [
        *[(34, value, ACCEPTED) for value in ("2", "0", "007", "-2", "-0")],
        *[(34, value, FORMAT) for value in ("+2", " 2", "2 ", "-", "--2", "2-", "1.0", "2\x013")],
        *[(34, value, FORMAT) for value in ("\u0663", "\u00b2", "1\u0663", "\uff11", "-\u0663")],
        *[(38, value, ACCEPTED) for value in ("1", "1.", ".5", "0.001", "-1.5", "-.5", "10.00")],
        *[(38, value, FORMAT) for value in ("+1", "1e5", ".", "-", "-.", " 1", "1 ", "1.2.3", "1,5")],
        *[(38, value, FORMAT) for value in ("\u0661", "1.\u0663", "\u00b2", "1\x012")],
        *[(60, value, ACCEPTED) for value in ("20261124-14:55:00", "20261124-14:55:00.1")],
        (60, "20261124-14:55:00.123456789", ACCEPTED),
        *[(60, value, ACCEPTED) for value in ("20261231-23:59:60", "20260131-00:00:00.000")],
        *[(60, value, FORMAT) for value in ("20261124-99:99:99", "20261399-25:61:61", "20261100-10:00:00")],
        *[(60, value, FORMAT) for value in ("20261124-14:55:00.", "20261124-14:55:00.1234567890")],
        *[(60, value, FORMAT) for value in ("20261124-14:55:00 ", "2026112-14:55:00", "20261124 14:55:00")],
        *[(60, value, FORMAT) for value in ("\u06602261124-14:55:00", "20261124-14:55:00\x01")],
        *[(54, value, ACCEPTED) for value in ("1", "2", "3", "7", "G")],  # FIX 4.4's sides, supported or not
        *[(54, value, OUT_OF_RANGE) for value in ("H", "0", "b", " ", "\u0661", "\x01")],
        *[(54, value, FORMAT) for value in ("12", "\n", "1 ")],
        *[(43, value, ACCEPTED) for value in ("Y", "N")],
        *[(43, value, FORMAT) for value in ("y", "YY", "1", "\x01")],
        *[(59, value, ACCEPTED) for value in ("0", "1", "3", "4", "6", "7")],
        *[(59, value, OUT_OF_RANGE) for value in ("8", "11", "+1")],
        *[(25001, value, ACCEPTED) for value in ("1", "4")],
        *[(25001, value, OUT_OF_RANGE) for value in ("0", "5", "-1", "01")],
        *[(25001, value, FORMAT) for value in ("+1", "\u0661", "1.0")],
    ],
)
def test_value_formats_accept_exactly_what_their_patterns_match(tag: int, value: str, reason) -> None:
    header = [*HEADER[:4], (43, "N"), (52, HEADER[4][1]), (122, HEADER[4][1])]
    order = [*ORDER[:1], (1, "A"), *ORDER[1:5], (59, "1"), ORDER[5], ORDER[6], (25001, "1")]
    fields = [(t, value if t == tag else v) for t, v in [*header, *order]]
    for _ in range(2):
        found, walked = direct(fields)
        assert found == walked
        assert (found.reason, found.ref_tag) == (reason, tag) if found else reason is ACCEPTED


def test_two_bad_values_are_named_in_field_order_whichever_check_finds_them() -> None:
    order = [(11, "x"), (54, "Z"), (38, "1"), (40, "2"), (44, "+5"), (55, "BTCUSDT"), (60, "later")]
    for body, ref_tag in [(order, 54), ([*order[:1], (54, "1"), *order[2:]], 44)]:
        found, walked = direct([*HEADER[:3], (34, "-7"), HEADER[4], *body])
        assert found == walked and found.ref_tag == ref_tag
