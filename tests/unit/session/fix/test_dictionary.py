"""Validation by message shape answers exactly as the field-by-field walk, on first sight and after."""

from __future__ import annotations

import pytest

from session.fix import dictionary
from session.fix.codec import encode, parse_frame
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
        ([*ORDER[:1], (54, "7"), *ORDER[2:]], 5, 54),
        ([*ORDER[:1], (54, "7"), (38, "abc"), *ORDER[3:]], 5, 54),
        ([*ORDER[:2], (38, "abc"), *ORDER[3:]], 6, 38),
        ([*ORDER[:2], (38, ""), *ORDER[3:]], 4, 38),
        ([*ORDER[:1], (54, "7"), *ORDER[2:], (11, "y")], 5, 54),
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
