"""Market-data answers of the WebSocket API in Binance's shapes, with no sockets."""

from __future__ import annotations

from config import load_settings
from session.binance.market import symbol_info

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
