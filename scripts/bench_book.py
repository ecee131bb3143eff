"""Book benchmark: commands per second and per-command latency on one symbol, one core.

The mix is 60% passive limits near the mid, 30% cancels of random resting orders, 10% orders that
cross (IOC limits through the touch and market orders). Commands are generated first by running them
through a scratch book (so cancels aim at orders that really rest), then replayed on a fresh book and
timed one by one.

    .venv/bin/python scripts/bench_book.py [--commands 1000000] [--seed 7]
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time

from book.order_book import OrderBook
from book.types import CancelOrder, Command, OrderType, Side, SubmitOrder, TimeInForce
from config import load_settings

MID_TICKS = 5_000_000
SPREAD_TICKS = 200


def generate(book: OrderBook, count: int, seed: int) -> list[Command]:
    """A reproducible command stream, run through ``book`` so that cancels find resting orders."""
    rng = random.Random(seed)
    tick = book.symbol.tick_size_minor
    step = book.symbol.step_size_minor
    unit = 10**book.symbol.base_scale
    lowest_price = (MID_TICKS - SPREAD_TICKS) * tick
    notional_steps = -(-book.symbol.min_notional_minor * unit // (lowest_price * step))
    min_steps = max(1, book.symbol.min_quantity_minor // step, notional_steps)
    resting: list[int] = []
    commands: list[Command] = []
    for order_id in range(1, count + 1):
        roll = rng.random()
        account = rng.randrange(1, 101)
        if roll < 0.3 and resting:
            index = rng.randrange(len(resting))
            resting[index], resting[-1] = resting[-1], resting[index]
            target = resting.pop()
            view = book.order(target)
            if view is None:
                command: Command = SubmitOrder(
                    order_id=order_id,
                    account_id=account,
                    side=Side.BUY,
                    order_type=OrderType.LIMIT,
                    price_minor=(MID_TICKS - SPREAD_TICKS) * tick,
                    quantity_minor=min_steps * step,
                )
                resting.append(order_id)
            else:
                command = CancelOrder(order_id=target, account_id=view.account_id)
        elif roll < 0.9 or not resting:
            side = Side.BUY if rng.random() < 0.5 else Side.SELL
            offset = rng.randrange(1, SPREAD_TICKS)
            price_ticks = MID_TICKS - offset if side is Side.BUY else MID_TICKS + offset
            command = SubmitOrder(
                order_id=order_id,
                account_id=account,
                side=side,
                order_type=OrderType.LIMIT,
                price_minor=price_ticks * tick,
                quantity_minor=rng.randrange(min_steps, min_steps * 20) * step,
            )
            resting.append(order_id)
        else:
            side = Side.BUY if rng.random() < 0.5 else Side.SELL
            quantity = rng.randrange(min_steps, min_steps * 40) * step
            if rng.random() < 0.5:
                command = SubmitOrder(
                    order_id=order_id,
                    account_id=account,
                    side=side,
                    order_type=OrderType.MARKET,
                    quantity_minor=quantity,
                )
            else:
                through = MID_TICKS + 20 if side is Side.BUY else MID_TICKS - 20
                command = SubmitOrder(
                    order_id=order_id,
                    account_id=account,
                    side=side,
                    order_type=OrderType.LIMIT,
                    time_in_force=TimeInForce.IOC,
                    price_minor=through * tick,
                    quantity_minor=quantity,
                )
        book.apply(command)
        commands.append(command)
    return commands


def percentile(sorted_values: list[int], fraction: float) -> int:
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * fraction))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--config", default="config/demo.toml")
    parser.add_argument("--symbol", default="BTCUSDT")
    arguments = parser.parse_args()
    symbol = load_settings(arguments.config).symbols[arguments.symbol]
    commands = generate(OrderBook(symbol), arguments.commands, arguments.seed)
    book = OrderBook(symbol)
    apply = book.apply
    clock = time.perf_counter_ns
    latencies_ns = [0] * len(commands)
    event_count = 0
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 1000)
    started_ns = clock()
    for index, command in enumerate(commands):
        before_ns = clock()
        event_count += len(apply(command))
        latencies_ns[index] = clock() - before_ns
    elapsed_s = (clock() - started_ns) / 1e9
    latencies_ns.sort()
    throughput = len(commands) / elapsed_s
    print(f"command: {' '.join(sys.argv)}")
    print(f"python {sys.version.split()[0]}, gc frozen after generation, thresholds {gc.get_threshold()}")
    print(f"commands {len(commands):,}  events {event_count:,}  trades so far {book.next_trade_id - 1:,}")
    print(f"resting orders at the end {len(book.resting_orders()):,}")
    print(f"elapsed {elapsed_s:.2f} s  throughput {throughput:,.0f} commands/s (per-command timing included)")
    print(
        "latency us: "
        f"p50 {percentile(latencies_ns, 0.5) / 1e3:.2f}  p99 {percentile(latencies_ns, 0.99) / 1e3:.2f}  "
        f"p99.9 {percentile(latencies_ns, 0.999) / 1e3:.2f}  max {latencies_ns[-1] / 1e3:.1f}"
    )


if __name__ == "__main__":
    main()
