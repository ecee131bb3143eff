"""An order's strategy labels in their one stored column, and back."""

from __future__ import annotations

import pytest

from ledger.store import strategy_of, strategy_text


@pytest.mark.parametrize(
    ("strategy_id", "strategy_type", "text"),
    [
        (None, None, ""),
        (37463720, 1000000, "37463720:1000000"),
        (0, None, "0:"),
        (None, 1000000, ":1000000"),
        (-(2**63), 2**31 - 1, f"{-(2**63)}:{2**31 - 1}"),
    ],
)
def test_labels_are_stored_as_text_and_read_back_as_given(
    strategy_id: int | None, strategy_type: int | None, text: str
) -> None:
    assert strategy_text(strategy_id, strategy_type) == text
    assert strategy_of(text) == (strategy_id, strategy_type)
