"""Exact decimal <-> minor-unit conversion: never rounds, refuses what it cannot represent."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from config.money import (
    DIGITS_MAX,
    DecimalFormatError,
    DecimalPrecisionError,
    DecimalRangeError,
    format_minor,
    parse_decimal_minor,
)


@pytest.mark.parametrize(
    ("text", "scale", "expected"),
    [
        ("0.015", 8, 1_500_000),
        ("12", 2, 1200),
        ("-1.50", 2, -150),
        (".5", 1, 5),
        ("5.", 0, 5),
        ("0.10000000000", 1, 1),
        ("0", 8, 0),
    ],
)
def test_parse(text: str, scale: int, expected: int) -> None:
    assert parse_decimal_minor(text, scale) == expected


@pytest.mark.parametrize("text", ["", ".", "1.001", "abc", "1e5", "--1", "+1", " 1", "1,5", "NaN", "١"])
def test_parse_refuses(text: str) -> None:
    with pytest.raises(DecimalFormatError):
        parse_decimal_minor(text, 2)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("1.001", DecimalPrecisionError),
        ("1." + "0" * 40 + "1", DecimalPrecisionError),
        ("9" * (DIGITS_MAX + 1), DecimalRangeError),
        ("-" + "9" * (DIGITS_MAX + 1) + ".5", DecimalRangeError),
        ("9" * (DIGITS_MAX + 1) + "x", DecimalFormatError),
        ("1.2.3", DecimalFormatError),
    ],
)
def test_a_refusal_says_why(text: str, error: type[DecimalFormatError]) -> None:
    """Too fine is off the grid, too many digits is out of range: a huge quantity is not "too fine"."""
    with pytest.raises(DecimalFormatError) as caught:
        parse_decimal_minor(text, 2)
    assert type(caught.value) is error


def test_format() -> None:
    assert format_minor(1_500_000, 8) == "0.01500000"
    assert format_minor(-150, 2) == "-1.50"
    assert format_minor(7, 0) == "7"


@given(st.integers(min_value=-(10**20), max_value=10**20), st.integers(min_value=0, max_value=18))
def test_round_trip(value: int, scale: int) -> None:
    assert parse_decimal_minor(format_minor(value, scale), scale) == value
