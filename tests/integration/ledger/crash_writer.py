"""A process that trades through the ledger and the group-commit writer until it is killed.

After each commit completes it prints the highest journal sequence that commit made durable, so the
test knows exactly what was acknowledged when it sent ``kill -9``.

    python -m tests.integration.ledger.crash_writer sqlite PATH | postgres DSN SCHEMA
"""

from __future__ import annotations

import asyncio
import sys

from book.types import Side, TradeExecuted
from config import load_settings
from config.settings import StoreSettings
from ledger.ledger import Ledger
from ledger.postgres_store import PostgresStore
from ledger.sqlite_store import SqliteStore
from ledger.writer import GroupCommitWriter

COIN = 10**8


async def main(argv: list[str]) -> None:
    if argv[0] == "sqlite":
        store = SqliteStore(StoreSettings(sqlite_path=argv[1]))
    else:
        store = PostgresStore(StoreSettings(backend="postgres", postgres_dsn=argv[1]), schema=argv[2])
    await store.open()
    settings = load_settings("config/demo.toml")
    symbol = settings.symbols["BTCUSDT"]
    writer = GroupCommitWriter(store)
    ledger = Ledger(fees=settings.fees, journal=writer.journal)
    writer_task = asyncio.create_task(writer.run())
    for account in (1, 2):
        ledger.deposit(f"usdt-{account}", account, "USDT", 10**9 * COIN)
        ledger.deposit(f"btc-{account}", account, "BTC", 10**6 * COIN)
    order_id = 0
    trade_id = 0
    in_flight: list[tuple[asyncio.Future[None], int]] = []
    while not writer_task.done():
        for _ in range(100):
            order_id += 2
            trade_id += 1
            buyer, seller = (1, 2) if trade_id % 2 else (2, 1)
            ledger.hold(order_id, buyer, "USDT", 600 * COIN)
            ledger.hold(order_id + 1, seller, "BTC", COIN // 100)
            trade = TradeExecuted(
                sequence=trade_id,
                trade_id=trade_id,
                price_minor=50_000 * COIN,
                quantity_minor=COIN // 100,
                quote_quantity_minor=500 * COIN,
                aggressor_side=Side.SELL,
                maker_order_id=order_id,
                maker_account_id=buyer,
                maker_leaves_minor=0,
                taker_order_id=order_id + 1,
                taker_account_id=seller,
                taker_leaves_minor=0,
                ts_ns=trade_id,
            )
            ledger.settle_trade(trade, symbol=symbol, buyer_hold_id=order_id, seller_hold_id=order_id + 1)
            ledger.release(order_id, 100 * COIN)
        in_flight.append((writer.commit_point(), ledger.sequence))
        if len(in_flight) > 2:
            done, acknowledged = in_flight.pop(0)
            await done
            print(acknowledged, flush=True)
        else:
            await asyncio.sleep(0)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
