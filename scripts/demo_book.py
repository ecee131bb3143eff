"""Run a short, fixed trading scene through each demo symbol's book and print every event.

.venv/bin/python scripts/demo_book.py --config config/demo.toml
"""

from __future__ import annotations

import argparse

from book.order_book import OrderBook
from book.types import CancelOrder, Command, OrderType, ReplaceOrder, Side, SubmitOrder, TimeInForce
from config import load_settings
from config.money import format_minor
from config.settings import SymbolSettings


def scene(symbol: SymbolSettings) -> list[Command]:
    """Two makers, a replace, a crossing order, a cancel and a market order near a mid price."""
    tick, step = symbol.tick_size_minor, symbol.step_size_minor
    quantity = max(symbol.min_quantity_minor, step) * 1000
    mid = symbol.min_notional_minor * 10**symbol.base_scale // quantity * 4 // tick * tick + tick * 100

    def limit(order_id: int, account: int, side: Side, price: int, size: int, **extra) -> SubmitOrder:
        return SubmitOrder(
            order_id=order_id,
            account_id=account,
            side=side,
            order_type=OrderType.LIMIT,
            price_minor=price,
            quantity_minor=size,
            **extra,
        )

    return [
        limit(1, 1, Side.SELL, mid + tick, quantity),
        limit(2, 1, Side.SELL, mid + 2 * tick, quantity),
        limit(3, 2, Side.BUY, mid - tick, quantity),
        ReplaceOrder(order_id=1, account_id=1, price_minor=mid + tick, quantity_minor=quantity // 2),
        limit(4, 2, Side.BUY, mid + 2 * tick, quantity, time_in_force=TimeInForce.IOC),
        CancelOrder(order_id=3, account_id=2),
        SubmitOrder(
            order_id=5, account_id=2, side=Side.BUY, order_type=OrderType.MARKET, quantity_minor=quantity
        ),
    ]


def describe(event: object, symbol: SymbolSettings) -> str:
    fields = []
    for name, value in event._asdict().items():
        if isinstance(value, int) and name.endswith("_minor") and value is not None:
            scale = symbol.quote_scale if "price" in name or "quote" in name else symbol.base_scale
            name, value = name.removesuffix("_minor"), format_minor(value, scale)
        elif hasattr(value, "value"):
            value = value.value
        fields.append(f"{name}={value}")
    return f"  {type(event).__name__}: " + " ".join(fields)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="config/demo.toml")
    arguments = parser.parse_args()
    settings = load_settings(arguments.config)
    for symbol in settings.symbols.values():
        book = OrderBook(symbol)
        print(f"{symbol.name}")
        for command in scene(symbol):
            print(f" {type(command).__name__} order {command.order_id}")
            for event in book.apply(command):
                print(describe(event, symbol))
        depth = book.depth(5)
        print(f" depth after the scene: bids {depth.bids} asks {depth.asks}\n")


if __name__ == "__main__":
    main()
