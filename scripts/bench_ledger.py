"""Ledger benchmark: fills settled and durably committed per second, on SQLite and PostgreSQL.

Each fill is what a crossing order costs the ledger: a hold for the buyer (quote), a hold for the seller
(base), and the trade settled against both with its fees: three journal entries. Fills are produced a
loop turn at a time (``--turn`` fills per turn) and committed by the group-commit writer, which puts
every turn recorded while the previous commit ran into the next transaction; the clock stops when the
last commit is durable. The average batch (journal entries per transaction) and how long commits took
(p50, p99, max: what an acknowledgement waits for) are printed.

    .venv/bin/python scripts/bench_ledger.py [--fills 200000] [--turn 1000] [--backend both]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg

from book.types import Side, TradeExecuted
from config import load_settings
from config.settings import StoreSettings
from ledger.ledger import Ledger
from ledger.postgres_store import PostgresStore
from ledger.sqlite_store import SqliteStore
from ledger.writer import GroupCommitWriter

COIN = 10**8
ACCOUNTS = 100
POSTGRES_DSN = "postgresql://postgres@127.0.0.1:5432/test"


async def run(store, fills: int, turn: int) -> tuple[float, int, int, list[float]]:
    settings = load_settings("config/demo.toml")
    symbol = settings.symbols["BTCUSDT"]
    commit_s: list[float] = []
    writer = GroupCommitWriter(store, observe_commit_s=commit_s.append)
    ledger = Ledger(fees=settings.fees, journal=writer.journal)
    task = asyncio.create_task(writer.run())
    for account in range(1, ACCOUNTS + 1):
        ledger.deposit(f"usdt-{account}", account, "USDT", 10**8 * COIN)
        ledger.deposit(f"btc-{account}", account, "BTC", 10**7 * COIN)
    await writer.commit_point()
    price = 50_000 * COIN
    quantity = COIN // 100
    started = time.perf_counter()
    in_flight: list[asyncio.Future[None]] = []
    order_id = 0
    for first in range(0, fills, turn):
        for index in range(first, min(first + turn, fills)):
            buyer, seller = index % ACCOUNTS + 1, (index + 1) % ACCOUNTS + 1
            quote = price * quantity // COIN
            order_id += 2
            ledger.hold(order_id, buyer, "USDT", quote)
            ledger.hold(order_id + 1, seller, "BTC", quantity)
            trade = TradeExecuted(
                sequence=index,
                trade_id=index + 1,
                price_minor=price,
                quantity_minor=quantity,
                quote_quantity_minor=quote,
                aggressor_side=Side.BUY,
                maker_order_id=order_id + 1,
                maker_account_id=seller,
                maker_leaves_minor=0,
                taker_order_id=order_id,
                taker_account_id=buyer,
                taker_leaves_minor=0,
                ts_ns=index,
            )
            ledger.settle_trade(trade, symbol=symbol, buyer_hold_id=order_id, seller_hold_id=order_id + 1)
        in_flight.append(writer.commit_point())
        if len(in_flight) > 2:
            await in_flight.pop(0)
        else:
            await asyncio.sleep(0)
    await asyncio.gather(*in_flight)
    elapsed = time.perf_counter() - started
    await writer.close()
    await task
    assert ledger.verify({}) == [], ledger.verify({})
    return elapsed, writer.commits, ledger.sequence, sorted(commit_s)


def percentile_ms(ordered_s: list[float], fraction: float) -> float:
    return ordered_s[min(len(ordered_s) - 1, int(len(ordered_s) * fraction))] * 1000


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fills", type=int, default=200_000)
    parser.add_argument("--turn", type=int, default=1000, help="fills produced per loop turn")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    arguments = parser.parse_args()
    print(f"command: {' '.join(sys.argv)}")
    backends = ["sqlite", "postgres"] if arguments.backend == "both" else [arguments.backend]
    for backend in backends:
        if backend == "sqlite":
            directory = tempfile.mkdtemp(prefix="bench-ledger-")
            settings = StoreSettings(
                sqlite_path=str(Path(directory) / "bench.sqlite3"), sqlite_synchronous="FULL"
            )
            store = SqliteStore(settings)
            label = "sqlite (WAL, synchronous=FULL)"
        else:
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            store = PostgresStore(StoreSettings(backend="postgres", postgres_dsn=POSTGRES_DSN), schema=schema)
            label = "postgresql (COPY)"
        await store.open()
        try:
            elapsed, commits, entries, commit_s = await run(store, arguments.fills, arguments.turn)
        finally:
            await store.close()
            if backend == "postgres":
                connection = await asyncpg.connect(POSTGRES_DSN)
                await connection.execute(f'DROP SCHEMA "{schema}" CASCADE')
                await connection.close()
        print(
            f"{label}: {arguments.fills:,} fills ({entries:,} journal entries) in {elapsed:.2f} s = "
            f"{arguments.fills / elapsed:,.0f} fills/s durably committed; {commits} commits, "
            f"{entries / commits:,.0f} entries per batch, {arguments.turn} fills per turn; commit ms "
            f"p50 {percentile_ms(commit_s, 0.5):.2f} p99 {percentile_ms(commit_s, 0.99):.2f} "
            f"max {commit_s[-1] * 1000:.2f}"
        )


if __name__ == "__main__":
    asyncio.run(main())
