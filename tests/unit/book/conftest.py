"""A symbol with whole-unit quantities and cent prices, so worked examples read as plain numbers."""

from __future__ import annotations

import pytest

from book.order_book import OrderBook
from config.settings import SymbolSettings


def small_symbol(**overrides: int) -> SymbolSettings:
    """Base scale 0 (quantity 3 is three units), quote scale 2 (price 10050 is 100.50)."""
    values = dict(
        name="TESTUSD",
        base="TEST",
        quote="USD",
        base_scale=0,
        quote_scale=2,
        tick_size_minor=1,
        step_size_minor=1,
        min_quantity_minor=1,
        max_quantity_minor=1_000_000,
        min_notional_minor=1,
        min_price_minor=1,
        max_price_minor=10_000_000,
    )
    values.update(overrides)
    return SymbolSettings(**values)


@pytest.fixture
def book() -> OrderBook:
    return OrderBook(small_symbol())
