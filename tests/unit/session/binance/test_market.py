"""Market-data answers of the WebSocket API in Binance's shapes, with no sockets."""

from __future__ import annotations

import pytest

from book.types import Side, TradeExecuted
from config import load_settings
from session.binance.market import aggregate_trades, symbol_info, trade_runs, window_size_ms

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


def trade(trade_id: int, taker_order_id: int, price: int, ts_ns: int, quantity: int = 10) -> TradeExecuted:
    return TradeExecuted(
        sequence=trade_id,
        trade_id=trade_id,
        price_minor=price,
        quantity_minor=quantity,
        quote_quantity_minor=price * quantity,
        aggressor_side=Side.SELL,
        maker_order_id=100 + trade_id,
        maker_account_id=1,
        maker_leaves_minor=0,
        taker_order_id=taker_order_id,
        taker_account_id=2,
        taker_leaves_minor=0,
        ts_ns=ts_ns,
    )


def test_a_run_is_one_taker_order_at_one_price_and_time() -> None:
    trades = [
        trade(1, 7, 500, 9),
        trade(2, 7, 500, 9),
        trade(3, 7, 510, 9),
        trade(4, 7, 510, 12),
        trade(5, 8, 510, 12),
    ]
    runs = trade_runs(trades)
    assert [(run.first.trade_id, run.last.trade_id, run.quantity_minor) for run in runs] == [
        (1, 2, 20),
        (3, 3, 10),
        (4, 4, 10),
        (5, 5, 10),
    ]
    (first, *_) = aggregate_trades(SETTINGS.symbols["BTCUSDT"], runs)
    assert first == {
        "a": 1,
        "p": "0.00000500",
        "q": "0.00000020",
        "f": 1,
        "l": 2,
        "T": 0,
        "m": True,
        "M": True,
    }
