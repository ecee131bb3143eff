"""Market-data answers of the WebSocket API in Binance's shapes, with no sockets."""

from __future__ import annotations

import pytest

from config import load_settings
from session.binance.market import symbol_info, window_size_ms

SETTINGS = load_settings("config/demo.toml")

# Every field of a symbol in Binance's exchangeInfo (web-socket-api.md, "Exchange information").
BINANCE_SYMBOL_FIELDS = {
    "symbol",
    "status",
    "baseAsset",
    "baseAssetPrecision",
    "quoteAsset",
    "quotePrecision",
    "quoteAssetPrecision",
    "baseCommissionPrecision",
    "quoteCommissionPrecision",
    "orderTypes",
    "icebergAllowed",
    "ocoAllowed",
    "otoAllowed",
    "opoAllowed",
    "quoteOrderQtyMarketAllowed",
    "allowTrailingStop",
    "cancelReplaceAllowed",
    "amendAllowed",
    "pegInstructionsAllowed",
    "isSpotTradingAllowed",
    "isMarginTradingAllowed",
    "filters",
    "permissions",
    "permissionSets",
    "defaultSelfTradePreventionMode",
    "allowedSelfTradePreventionModes",
}


def test_a_symbol_has_every_field_binance_documents() -> None:
    """A bot reading ``symbol["opoAllowed"]`` or ``["pegInstructionsAllowed"]`` got a KeyError."""
    info = symbol_info(SETTINGS.symbols["BTCUSDT"], halted=False, open_orders_max=200)
    assert set(info) == BINANCE_SYMBOL_FIELDS
    assert info["opoAllowed"] is False and info["pegInstructionsAllowed"] is False


@pytest.mark.parametrize(
    ("text", "window_ms"),
    [
        ("1m", 60_000),
        ("59m", 59 * 60_000),
        ("1h", 3_600_000),
        ("23h", 23 * 3_600_000),
        ("7d", 7 * 86_400_000),
    ],
)
def test_window_sizes_binance_accepts(text: str, window_ms: int) -> None:
    assert window_size_ms(text) == window_ms


@pytest.mark.parametrize("text", ["60m", "0m", "01m", "24h", "8d", "1w", "1M", "m", "1", "1.5h", " 1h"])
def test_other_window_sizes_are_none(text: str) -> None:
    assert window_size_ms(text) is None
