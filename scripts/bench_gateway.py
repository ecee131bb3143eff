"""End-to-end load: N FIX sessions against the gateway running as its own process, durable acks.

The gateway starts as a subprocess on a generated config (N funded accounts, one FIX session each) on
SQLite or PostgreSQL. Each session sends a realistic mix (70% passive limits near the mid, 20% cancels
of its own resting orders, 10% orders that cross; a cancel in place of a passive order once it has
1,000 resting, so the book stops growing) and times every request until its first answer
(ExecutionReport or OrderCancelReject), which the gateway sends only after the commit. Two runs:
closed loop with a window of requests in flight per session (sustained orders/s), and open loop at a
fixed rate (ack latency p50/p99/p99.9, the gateway's CPU per order at that rate, and its group commits
per second from its metrics: small batches cost more per order than the closed loop's large ones; and
from its histograms, how long its commits took and how late a 100 ms timer fired on its loop), the
sessions' requests interleaved evenly. Both runs print the load generator's CPU per order. With
``--instructions`` the gateway runs under callgrind and the closed loop reports instructions per order
instead (see ``instruction_count``); there is no open loop.

    .venv/bin/python scripts/bench_gateway.py [--backend sqlite|postgres] [--sessions 8] [--seconds 10]
        [--window 64] [--rate 5000] [--instructions] [--sqlite-synchronous FULL|NORMAL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import re
import shutil
import socket
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import uvloop
from instruction_count import instructions_since_zero, under_callgrind, zero_counts
from process_cpu import cpu_seconds

from session.fix.auth import hash_password
from session.fix.codec import encode
from session.fix.session import utc_timestamp

ROOT = Path(__file__).resolve().parent.parent
STARTUP_POLLS = 300  # every 0.1 s
STARTUP_POLLS_UNDER_CALLGRIND = 3000
POSTGRES_DSN = "postgresql://postgres@127.0.0.1:5432/test"
COMMIT_METRIC = "gateway_commit_latency_seconds"
LOOP_LAG_METRIC = "gateway_loop_lag_seconds"
PASSWORD = "bench"
TICK_S = 0.001
# A session cancels instead of resting one more past this many, so the book (and with it the ledger's
# holds and the store's open orders) stays the size of a busy market's however long a run lasts.
RESTING_PER_SESSION_MAX = 1_000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def config_text(
    directory: Path,
    sessions: int,
    backend: str,
    schema: str,
    fix_port: int,
    metrics_port: int,
    synchronous: str,
) -> str:
    text = (ROOT / "config" / "demo.toml").read_text()
    text = text[: text.index("[[demo_accounts]]")]
    store = (
        f'[store]\nbackend = "{backend}"\nsqlite_path = "{directory / "bench.sqlite3"}"\n'
        f'sqlite_synchronous = "{synchronous}"\n'
        f'postgres_dsn = "{POSTGRES_DSN}"\npostgres_schema = "{schema}"\n'
    )
    text = re.sub(r"\[store\]\n(?:[^\[\n][^\n]*\n)*", store + "\n", text)
    text = re.sub(r"fix_port = \d+", f"fix_port = {fix_port}", text)
    text = re.sub(r"metrics_port = \d+", f"metrics_port = {metrics_port}", text)
    for name in ("admin_port", "websocket_port"):
        text = re.sub(rf"{name} = \d+", f"{name} = 0", text)
    text = text.replace("[server]\n", f'[server]\nadmin_token_path = "{directory / "admin.token"}"\n', 1)
    text = text.replace('log_format = "console"', 'log_format = "json"\nlog_level = "warning"')
    password_hash = hash_password(PASSWORD)
    for index in range(sessions):
        text += (
            f'\n[[demo_accounts]]\nname = "trader{index}"\n'
            f'deposits = {{ BTC = "1000000", USDT = "1000000000" }}\n'
            f'\n[[fix_sessions]]\nsender_comp_id = "T{index}"\ntarget_comp_id = "GATEWAY"\n'
            f'account = "trader{index}"\npassword_hash = "{password_hash}"\nheartbeat_interval_s_max = 600\n'
        )
    return text + "\n[limits]\nopen_orders_per_account_max = 100000\nbook_queue_max = 100000\n"


class Trader(asyncio.Protocol):
    """One FIX session: sends the mix, matches answers to requests, records latencies.

    Answers are read by a protocol that only finds each frame's end, MsgType and ClOrdID, not by a
    full parser behind a stream reader: on this machine the load generator shares two cores with the
    gateway, and every microsecond it spends is one the gateway may wait for.
    """

    def __init__(self, index: int, rng: random.Random) -> None:
        self.sender = f"T{index}"
        self.rng = rng
        self.seq = 1
        self.sent_ns: dict[str, int] = {}
        self.latencies_ns: list[int] = []
        self.resting: list[tuple[str, str]] = []  # (ClOrdID, Side) of orders that may still rest
        self.in_flight = 0
        self.answered = asyncio.Event()
        self.logged_on = asyncio.Event()
        self.counter = 0
        self.received = bytearray()
        self.transport: Any = None

    async def connect(self, port: int) -> None:
        await asyncio.get_running_loop().create_connection(lambda: self, "127.0.0.1", port)
        self.send("A", [(98, "0"), (108, "600"), (554, PASSWORD)])
        await self.logged_on.wait()

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter_ns()
        received = self.received
        received += data
        position = 0
        while (checksum_at := received.find(b"\x0110=", position)) >= 0 and len(received) >= checksum_at + 8:
            frame_end = checksum_at + 8
            msg_type = _field(received, b"\x0135=", position, frame_end)
            if msg_type in (b"8", b"9"):
                started = self.sent_ns.pop(_field(received, b"\x0111=", position, frame_end).decode(), None)
                if started is not None:
                    self.latencies_ns.append(now - started)
                    self.in_flight -= 1
                    self.answered.set()
            elif msg_type == b"A":
                self.logged_on.set()
            elif msg_type == b"1":
                self.send("0", [(112, _field(received, b"\x01112=", position, frame_end).decode())])
            position = frame_end
        del received[:position]

    def send(self, msg_type: str, body: list[tuple[int, str]]) -> None:
        fields = [
            (35, msg_type),
            (49, self.sender),
            (56, "GATEWAY"),
            (34, str(self.seq)),
            (52, utc_timestamp(time.time())),
            *body,
        ]
        self.seq += 1
        self.transport.write(encode("FIX.4.4", fields))

    def request(self) -> None:
        """One request of the mix."""
        self.counter += 1
        client_order_id = f"{self.sender}-{self.counter}"
        roll = self.rng.random()
        now = utc_timestamp(time.time())
        if (roll < 0.2 or len(self.resting) >= RESTING_PER_SESSION_MAX) and self.resting:
            target, side = self.resting.pop(self.rng.randrange(len(self.resting)))
            self.send("F", [(11, client_order_id), (41, target), (55, "BTCUSDT"), (54, side), (60, now)])
        else:
            side = "1" if self.rng.random() < 0.5 else "2"
            if roll < 0.9:
                offset = self.rng.randrange(1, 200)
                price = 50_000 - offset if side == "1" else 50_000 + offset
                self.resting.append((client_order_id, side))
            else:
                price = 50_300 if side == "1" else 49_700
            self.send(
                "D",
                [
                    (11, client_order_id),
                    (55, "BTCUSDT"),
                    (54, side),
                    (38, "0.001"),
                    (40, "2"),
                    (44, f"{price}.00"),
                    (59, "1"),
                    (60, now),
                ],
            )
        self.sent_ns[client_order_id] = time.perf_counter_ns()
        self.in_flight += 1

    async def closed_loop(self, window: int, until: float) -> None:
        while time.monotonic() < until:
            while self.in_flight < window:
                self.request()
            self.answered.clear()
            await self.answered.wait()

    async def settle(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while self.in_flight and time.monotonic() < deadline:
            self.answered.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.answered.wait(), 1.0)


def _field(frame: bytearray, tag: bytes, start: int, end: int) -> bytes:
    """The value after ``tag`` (SOH, the tag number and "=") in ``frame[start:end]``, or b"" if absent."""
    at = frame.find(tag, start, end)
    if at < 0:
        return b""
    at += len(tag)
    return bytes(frame[at : frame.find(b"\x01", at, end)])


async def open_loop(traders: list[Trader], rate_per_s: float, until: float) -> None:
    """Requests at ``rate_per_s`` in all, the sessions in turn: one timer callback per millisecond sends
    what is due. The loop's timers count whole milliseconds, so a shorter wait would spin; 8 sessions
    each waking for their own requests would cost the generator 8 wake-ups per interval (46% of a core
    at 5,000/s, against the gateway's 88%)."""
    loop = asyncio.get_running_loop()
    finished = loop.create_future()
    interval = 1.0 / rate_per_s
    next_at = time.monotonic()
    sent = 0

    def tick() -> None:
        nonlocal next_at, sent
        now = time.monotonic()
        while next_at <= now and next_at < until:
            traders[sent % len(traders)].request()
            sent += 1
            next_at += interval
        if next_at >= until:
            finished.set_result(None)
        else:
            loop.call_later(TICK_S, tick)

    tick()
    await finished


def percentile(values: list[int], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] / 1e6


async def run(arguments: argparse.Namespace) -> None:
    directory = Path(tempfile.mkdtemp(prefix="bench-gateway-"))
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    fix_port, metrics_port = free_port(), free_port()
    config = directory / "bench.toml"
    config.write_text(
        config_text(
            directory,
            arguments.sessions,
            arguments.backend,
            schema,
            fix_port,
            metrics_port,
            arguments.sqlite_synchronous,
        )
    )
    command = [sys.executable, "-m", "gateway.cli", "serve", "--config", str(config)]
    if arguments.instructions:
        command = under_callgrind(command, directory)
    server = await asyncio.create_subprocess_exec(*command, cwd=ROOT, stdout=asyncio.subprocess.DEVNULL)
    try:
        for _ in range(STARTUP_POLLS_UNDER_CALLGRIND if arguments.instructions else STARTUP_POLLS):
            try:
                _, probe = await asyncio.open_connection("127.0.0.1", fix_port)
                probe.close()
                break
            except OSError:
                await asyncio.sleep(0.1)
        rng = random.Random(7)
        traders = [Trader(index, random.Random(rng.random())) for index in range(arguments.sessions)]
        await asyncio.gather(*(trader.connect(fix_port) for trader in traders))

        if arguments.instructions:
            zero_counts(server.pid)
        started = time.monotonic()
        server_cpu_s, client_cpu_s = cpu_seconds(server.pid), time.process_time()
        until = started + arguments.seconds
        await asyncio.gather(*(trader.closed_loop(arguments.window, until) for trader in traders))
        await asyncio.gather(*(trader.settle(30) for trader in traders))
        elapsed = time.monotonic() - started
        answered = sum(len(trader.latencies_ns) for trader in traders)
        server_cpu_s = cpu_seconds(server.pid) - server_cpu_s
        client_cpu_s = time.process_time() - client_cpu_s
        closed = [latency for trader in traders for latency in trader.latencies_ns]
        print(f"command: {' '.join(sys.argv)}")
        store, durability = arguments.backend, "durable acks"
        if store == "sqlite":
            store += f" (synchronous {arguments.sqlite_synchronous})"
            if arguments.sqlite_synchronous != "FULL":
                durability = "acks before the disk sync"
        if arguments.instructions:
            instructions = instructions_since_zero(server.pid, directory)
            print(
                f"{store}: closed loop under callgrind, {arguments.sessions} sessions x window "
                f"{arguments.window}: {answered:,} requests answered; gateway "
                f"{instructions / answered:,.0f} instructions per order (all threads)"
            )
            return
        print(
            f"{store}: closed loop, {arguments.sessions} sessions x window {arguments.window}: "
            f"{answered:,} requests in {elapsed:.1f} s = {answered / elapsed:,.0f} orders/s sustained "
            f"({durability}); latency ms p50 {percentile(closed, 0.5):.2f} "
            f"p99 {percentile(closed, 0.99):.2f}; "
            f"CPU per order: gateway {server_cpu_s / answered * 1e6:.0f} us, "
            f"load generator {client_cpu_s / answered * 1e6:.0f} us"
        )
        for trader in traders:
            trader.latencies_ns.clear()
        histograms = await histograms_so_far(metrics_port)
        open_started, server_cpu_s = time.monotonic(), cpu_seconds(server.pid)
        client_cpu_s = time.process_time()
        until = open_started + arguments.seconds
        await open_loop(traders, arguments.rate, until)
        await asyncio.gather(*(trader.settle(30) for trader in traders))
        opened = [latency for trader in traders for latency in trader.latencies_ns]
        server_cpu_s = cpu_seconds(server.pid) - server_cpu_s
        client_cpu_s = time.process_time() - client_cpu_s
        histograms = histogram_deltas(histograms, await histograms_so_far(metrics_port))
        commits = histograms[COMMIT_METRIC]["+Inf"]
        print(
            f"{store}: open loop at {arguments.rate:,}/s for {arguments.seconds} s: "
            f"{len(opened):,} answered; ack latency ms p50 {percentile(opened, 0.5):.2f} "
            f"p99 {percentile(opened, 0.99):.2f} p99.9 {percentile(opened, 0.999):.2f}; "
            f"gateway CPU {server_cpu_s / len(opened) * 1e6:.0f} us per order, "
            f"{server_cpu_s / (time.monotonic() - open_started):.0%} of one core, load generator "
            f"{client_cpu_s / len(opened) * 1e6:.0f} us; "
            f"{commits / arguments.seconds:,.0f} commits/s, {len(opened) / max(commits, 1):.1f} orders each"
        )
        commit, lag = histograms[COMMIT_METRIC], histograms[LOOP_LAG_METRIC]
        print(
            f"{store}: open loop, from the gateway's histograms (bucket bounds, ms): commit p50 <= "
            f"{bucket_bound_ms(commit, 0.5)} p99 <= {bucket_bound_ms(commit, 0.99)} max <= "
            f"{bucket_bound_ms(commit, 1.0)}; loop lag (a 100 ms timer) p50 <= {bucket_bound_ms(lag, 0.5)} "
            f"p99 <= {bucket_bound_ms(lag, 0.99)} max <= {bucket_bound_ms(lag, 1.0)}"
        )
    finally:
        server.terminate()
        await server.wait()
        shutil.rmtree(directory, ignore_errors=True)  # its store: tens of MB a run
        if arguments.backend == "postgres":
            connection = await asyncpg.connect(POSTGRES_DSN)
            await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            await connection.close()


async def histograms_so_far(metrics_port: int) -> dict[str, dict[str, float]]:
    """The gateway's commit-duration and loop-lag histograms so far: cumulative count by bucket bound."""
    url = f"http://127.0.0.1:{metrics_port}/metrics"
    with await asyncio.to_thread(urllib.request.urlopen, url, timeout=10) as response:
        text = response.read().decode()
    histograms: dict[str, dict[str, float]] = {COMMIT_METRIC: {}, LOOP_LAG_METRIC: {}}
    for line in text.splitlines():
        match = re.fullmatch(r'(\w+)_bucket\{le="([^"]+)"\} (\S+)', line)
        if match and match[1] in histograms:
            histograms[match[1]][match[2]] = float(match[3])
    return histograms


def histogram_deltas(
    before: dict[str, dict[str, float]], after: dict[str, dict[str, float]]
) -> dict[str, dict[str, float]]:
    return {
        name: {bound: count - before[name][bound] for bound, count in after[name].items()} for name in after
    }


def bucket_bound_ms(buckets: dict[str, float], fraction: float) -> str:
    """The smallest bucket bound at or under which ``fraction`` of the observations fall, in ms."""
    total = buckets["+Inf"]
    if not total:
        return "n/a"
    bound = next(bound for bound, count in buckets.items() if count >= fraction * total)
    return "inf" if bound == "+Inf" else f"{float(bound) * 1000:g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--sqlite-synchronous",
        choices=["FULL", "NORMAL"],
        default="FULL",
        help="FULL syncs every commit to disk (the default, durable); NORMAL shows what the syncs cost",
    )
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--window", type=int, default=64, help="requests in flight per session (closed loop)")
    parser.add_argument("--rate", type=float, default=5000.0, help="requests per second in the open-loop run")
    parser.add_argument(
        "--instructions", action="store_true", help="count the gateway's instructions per order (callgrind)"
    )
    uvloop.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
