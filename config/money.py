"""Exact conversion between decimal strings (wire, config) and integer minor units.

Money is an ``int`` of minor units everywhere inside; a decimal string exists only at the edge
and is converted once. A value finer than the scale is refused, never rounded.

Both conversions run several times per order and see the same few prices and quantities again and
again, so they are memoised (a hit costs a twentieth of a conversion); a refusal is never cached.
"""

from __future__ import annotations

import functools
import re
from typing import NoReturn

CONVERSIONS_CACHED_MAX = 4096
DIGITS_MAX = 30  # on each side of the point: far past any price or quantity, and cheap to convert
_DECIMAL = re.compile(rf"(-?)([0-9]{{0,{DIGITS_MAX}}})(?:\.([0-9]{{0,{DIGITS_MAX}}}))?")


class DecimalFormatError(ValueError):
    """A decimal string is malformed, too large or finer than its scale."""


class DecimalPrecisionError(DecimalFormatError):
    """A decimal string has more significant decimal places than its scale: off the grid, not malformed."""


class DecimalRangeError(DecimalFormatError):
    """A decimal string has more than ``DIGITS_MAX`` digits on one side of its point."""


@functools.lru_cache(maxsize=CONVERSIONS_CACHED_MAX)
def ascii_digits(text: str) -> bool:
    """Whether ``text`` is one or more ASCII digits: ``str.isdigit`` also accepts "²" (which ``int``
    refuses) and "٣" (which ``int`` reads as 3), and wire text (FIX Latin-1, JSON) can carry either."""
    return text.isascii() and text.isdigit()


def parse_decimal_minor(text: str, scale: int) -> int:
    """Return ``text`` (for example ``"0.015"``) as an integer count of 10**-scale units."""
    match = _DECIMAL.fullmatch(text) if isinstance(text, str) else None
    if match is None or not (match.group(2) or match.group(3)):
        _refuse_unparsed(text, scale)
    sign, whole, fraction = match.group(1), match.group(2), (match.group(3) or "").rstrip("0")
    if len(fraction) > scale:
        raise DecimalPrecisionError(f"{text!r} has more than {scale} decimal places")
    value = int(whole or "0") * 10**scale + (int(fraction.ljust(scale, "0")) if fraction else 0)
    return -value if sign else value


def _refuse_unparsed(text: object, scale: int) -> NoReturn:
    """Say why a text the pattern refused is refused: too many decimal places, too many digits, or not
    a number at all, so that a huge quantity is not reported as too fine."""
    if isinstance(text, str):
        whole, _, fraction = text.removeprefix("-").partition(".")
        if ascii_digits(whole + fraction):
            if len(fraction.rstrip("0")) > scale:
                raise DecimalPrecisionError(f"{text!r} has more than {scale} decimal places")
            raise DecimalRangeError(f"{text!r} has more than {DIGITS_MAX} digits on one side of its point")
    raise DecimalFormatError(f"{text!r} is not a decimal number")


@functools.lru_cache(maxsize=CONVERSIONS_CACHED_MAX)
def format_minor(value: int, scale: int) -> str:
    """Return ``value`` minor units as a plain decimal string with exactly ``scale`` places."""
    if scale == 0:
        return str(value)
    whole, fraction = divmod(-value if value < 0 else value, 10**scale)
    return f"{'-' if value < 0 else ''}{whole}.{str(fraction).zfill(scale)}"
