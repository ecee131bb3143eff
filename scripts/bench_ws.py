"""WebSocket load: N API connections placing orders, and market-data fan-out to many stream subscribers.

The gateway runs as a subprocess on a generated config (SQLite, FULL). Part 1: N connections, each
logged on with an Ed25519 key (``session.logon``), keep a window of ``order.place`` requests in flight
(70% passive, 30% crossing); every answer comes after the durable commit. Prints orders/s and response
latency. Part 2: the same load while ``--subscribers`` connections (in a second process) follow
``btcusdt@depth@100ms`` and ``btcusdt@trade``; prints the book throughput with them and the delivery
lag (event time to receipt). With ``--user-data`` every API connection also follows its account's user
data stream (executionReport and outboundAccountPosition events). With ``--instructions`` the gateway
runs under callgrind and part 1 reports instructions per order instead (see ``instruction_count``);
there is no part 2.

    .venv/bin/python scripts/bench_ws.py [--connections 8] [--window 32] [--seconds 8] [--subscribers 1000]
        [--stream-flush-ms 30] [--user-data] [--instructions]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import random
import re
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import uvloop
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from instruction_count import instructions_since_zero, under_callgrind, zero_counts
from process_cpu import cpu_seconds
from websockets.asyncio.client import connect
from websockets.client import ClientProtocol
from websockets.protocol import State
from websockets.uri import parse_uri

from gateway.admin_endpoint import admin_request
from gateway.admin_token import read_admin_token
from session.binance.signing import signature_payload

ROOT = Path(__file__).resolve().parent.parent
STARTUP_POLLS = 300  # every 0.1 s
STARTUP_POLLS_UNDER_CALLGRIND = 3000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def config_text(directory: Path, ws_port: int, admin_port: int, flush_ms: int) -> str:
    text = (ROOT / "config" / "demo.toml").read_text()
    text = text.replace(
        'sqlite_path = "var/gateway.sqlite3"', f'sqlite_path = "{directory / "bench.sqlite3"}"'
    )
    text = text.replace("websocket_port = 8090", f"websocket_port = {ws_port}")
    text = text.replace("admin_port = 8091", f"admin_port = {admin_port}")
    for name in ("fix_port", "metrics_port"):
        text = re.sub(rf"{name} = \d+", f"{name} = 0", text)
    text = text.replace(
        'log_format = "console"',
        f'log_format = "json"\nlog_level = "warning"\nstream_flush_interval_ms = {flush_ms}',
    )
    text = text.replace("[server]\n", f'[server]\nadmin_token_path = "{directory / "admin.token"}"\n', 1)
    text = text.replace(
        'BTC = "10", ETH = "100", USDT = "1000000"', 'BTC = "100000", ETH = "100", USDT = "10000000000"'
    )
    limits = {
        "orders_per_10s_per_key_max": 10_000_000,
        "request_weight_per_minute_max": 100_000_000,
        "open_orders_per_account_max": 10_000_000,
        "connections_per_address_max": 100_000,
        "connection_attempts_per_5_minutes_max": 100_000,
    }
    return text + "\n[limits]\n" + "".join(f"{name} = {value}\n" for name, value in limits.items())


class Trader:
    def __init__(
        self,
        url: str,
        api_key: str,
        private_key: Ed25519PrivateKey,
        rng: random.Random,
        *,
        user_data: bool = False,
    ) -> None:
        self.url, self.api_key, self.private_key, self.rng = url, api_key, private_key, rng
        self.user_data = user_data
        self.sent: dict[int, int] = {}
        self.latencies_ns: list[int] = []
        self.counter = 0
        self.refused = 0
        self.events = 0
        self.answered = asyncio.Event()

    async def run(self, window: int, until: float) -> None:
        async with connect(self.url, max_queue=None) as websocket:
            params = {"apiKey": self.api_key, "timestamp": int(time.time() * 1000)}
            params["signature"] = base64.b64encode(self.private_key.sign(signature_payload(params))).decode()
            await websocket.send(json.dumps({"id": 0, "method": "session.logon", "params": params}))
            assert json.loads(await websocket.recv())["status"] == 200
            if self.user_data:
                await websocket.send(json.dumps({"id": 0, "method": "userDataStream.subscribe"}))
                assert json.loads(await websocket.recv())["status"] == 200
            reader = asyncio.create_task(self._read(websocket))
            while time.monotonic() < until:
                while len(self.sent) < window:
                    await websocket.send(self._order())
                self.answered.clear()
                await self.answered.wait()
            while self.sent:
                self.answered.clear()
                await asyncio.wait_for(self.answered.wait(), 30)
            reader.cancel()

    def _order(self) -> str:
        self.counter += 1
        side = "BUY" if self.rng.random() < 0.5 else "SELL"
        crossing = self.rng.random() < 0.3
        offset = self.rng.randrange(1, 100)
        passive_price = 50_000 - offset if side == "BUY" else 50_000 + offset
        price = 100_000 - passive_price if crossing else passive_price
        params = {
            "symbol": "BTCUSDT",
            "side": side,
            "type": "LIMIT",
            "timeInForce": "GTC",
            "price": f"{price}.00",
            "quantity": "0.001",
            "newOrderRespType": "ACK",
            "timestamp": int(time.time() * 1000),
        }
        self.sent[self.counter] = time.perf_counter_ns()
        return json.dumps({"id": self.counter, "method": "order.place", "params": params})

    async def _read(self, websocket) -> None:
        async for message in websocket:
            answer = json.loads(message)
            if "subscriptionId" in answer:
                self.events += 1
                continue
            if answer.get("status") != 200:
                self.refused += 1
            started = self.sent.pop(answer.get("id"), None)
            if started is not None:
                self.latencies_ns.append(time.perf_counter_ns() - started)
                self.answered.set()


class RawSubscriber(asyncio.Protocol):
    """A stream subscriber that costs the benchmark almost nothing per message.

    ``websockets``' sans-I/O client does the opening handshake; after it the bytes are only scanned:
    each ``"E":`` is one event, and the first event time in each chunk (its oldest) gives the delivery
    lag, measured from the event time the gateway stamped at publication to the chunk's arrival.
    """

    EVENT_TIME = re.compile(rb'"E":(\d+)')

    def __init__(self, uri: str, opened: asyncio.Future) -> None:
        self.client = ClientProtocol(parse_uri(uri))
        self.opened = opened
        self.events = 0
        self.lags_ms: list[float] = []
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.client.send_request(self.client.connect())
        for data in self.client.data_to_send():
            transport.write(data)

    def data_received(self, data: bytes) -> None:
        if not self.opened.done():
            self.client.receive_data(data)
            if self.client.handshake_exc is not None:
                self.opened.set_exception(self.client.handshake_exc)
            elif self.client.state is State.OPEN:
                self.opened.set_result(None)
            return
        now_ms = time.time() * 1000
        self.events += data.count(b'"E":')
        match = self.EVENT_TIME.search(data)
        if match is not None:
            self.lags_ms.append(now_ms - int(match[1]))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True


async def subscriber_pool(uri: str, count: int) -> None:
    """Child process: hold ``count`` subscribers until stdin says stop, then print what they saw."""
    loop = asyncio.get_running_loop()
    split = urlsplit(uri)
    subscribers = []
    for _ in range(count):
        opened = loop.create_future()
        _, subscriber = await loop.create_connection(
            lambda opened=opened: RawSubscriber(uri, opened), split.hostname, split.port
        )
        await opened
        subscribers.append(subscriber)
    print("ready", flush=True)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    await reader.readline()
    lags = sorted(lag for subscriber in subscribers for lag in subscriber.lags_ms)
    events = [subscriber.events for subscriber in subscribers]
    summary = {
        "lag_p50_ms": percentile(lags, 0.5),
        "lag_p99_ms": percentile(lags, 0.99),
        "lag_max_ms": lags[-1] if lags else float("nan"),
        "events_total": sum(events),
        "events_min": min(events),
        "events_max": max(events),
        "disconnected": sum(subscriber.closed for subscriber in subscribers),
    }
    print(json.dumps(summary), flush=True)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] if ordered else float("nan")


async def load(
    url: str,
    keys: list[tuple[str, Ed25519PrivateKey]],
    window: int,
    seconds: float,
    *,
    user_data: bool = False,
) -> tuple[float, list, int, int]:
    """Orders/s, response latencies, refusals, and user data events received (with ``user_data``)."""
    rng = random.Random(5)
    traders = [
        Trader(url, key, private, random.Random(rng.random()), user_data=user_data) for key, private in keys
    ]
    started = time.monotonic()
    await asyncio.gather(*(trader.run(window, started + seconds) for trader in traders))
    elapsed = time.monotonic() - started
    latencies = [latency for trader in traders for latency in trader.latencies_ns]
    refused = sum(trader.refused for trader in traders)
    return len(latencies) / elapsed, latencies, refused, sum(trader.events for trader in traders)


async def run(arguments: argparse.Namespace) -> None:
    directory = Path(tempfile.mkdtemp(prefix="bench-ws-"))
    ws_port, admin_port = free_port(), free_port()
    config = directory / "bench.toml"
    config.write_text(config_text(directory, ws_port, admin_port, arguments.stream_flush_ms))
    command = [sys.executable, "-m", "gateway.cli", "serve", "--config", str(config)]
    if arguments.instructions:
        command = under_callgrind(command, directory)
    server = await asyncio.create_subprocess_exec(*command, cwd=ROOT, stdout=asyncio.subprocess.DEVNULL)
    try:
        for _ in range(STARTUP_POLLS_UNDER_CALLGRIND if arguments.instructions else STARTUP_POLLS):
            try:
                _, probe = await asyncio.open_connection("127.0.0.1", admin_port)
                probe.close()
                break
            except OSError:
                await asyncio.sleep(0.1)
        token = read_admin_token(str(directory / "admin.token"))
        keys = []
        for index in range(arguments.connections):
            private = Ed25519PrivateKey.generate()
            pem = (
                private.public_key()
                .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
                .decode()
            )
            account = "alice" if index % 2 == 0 else "bob"
            reply = await admin_request(
                "127.0.0.1",
                admin_port,
                token,
                "api_keys.create",
                {"account": account, "permissions": "read,trade", "ed25519_public_key": pem},
            )
            keys.append((reply["result"]["api_key"], private))
        url = f"ws://127.0.0.1:{ws_port}/ws-api/v3"
        print(f"command: {' '.join(sys.argv)}")
        if arguments.instructions:
            zero_counts(server.pid)
            _, latencies, _, _ = await load(
                url, keys, arguments.window, arguments.seconds, user_data=arguments.user_data
            )
            instructions = instructions_since_zero(server.pid, directory)
            print(
                f"orders over WebSocket under callgrind: {arguments.connections} connections x window "
                f"{arguments.window}: {len(latencies):,} orders answered; gateway "
                f"{instructions / len(latencies):,.0f} instructions per order (all threads)"
            )
            return
        cpu_before, client_before = cpu_seconds(server.pid), time.process_time()
        rate, latencies, refused, events = await load(
            url, keys, arguments.window, arguments.seconds, user_data=arguments.user_data
        )
        cpu_per_order_us = (cpu_seconds(server.pid) - cpu_before) / (rate * arguments.seconds) * 1e6
        client_us = (time.process_time() - client_before) / (rate * arguments.seconds) * 1e6
        print(
            f"orders over WebSocket: {arguments.connections} connections x window {arguments.window}: "
            f"{rate:,.0f} orders/s sustained (durable acks); response latency ms p50 "
            f"{percentile(latencies, 0.5) / 1e6:.2f} p99 {percentile(latencies, 0.99) / 1e6:.2f}; "
            f"{refused} refused; gateway CPU {cpu_per_order_us:.0f} us/order "
            f"(capacity {1e6 / cpu_per_order_us:,.0f} orders per CPU-second); load generator CPU "
            f"{client_us:.0f} us/order"
            + (f"; {events:,} user data events received" if arguments.user_data else "")
        )
        if arguments.subscribers:
            stream_url = f"ws://127.0.0.1:{ws_port}/stream?streams=btcusdt@depth@100ms/btcusdt@trade"
            pool = await asyncio.create_subprocess_exec(
                sys.executable,
                __file__,
                "--subscriber-pool",
                stream_url,
                "--subscribers",
                str(arguments.subscribers),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )
            assert (await pool.stdout.readline()).strip() == b"ready"
            cpu_before = cpu_seconds(server.pid)
            loaded_rate, _, loaded_refused, _ = await load(
                url, keys, arguments.window, arguments.seconds, user_data=arguments.user_data
            )
            loaded_cpu_us = (cpu_seconds(server.pid) - cpu_before) / (loaded_rate * arguments.seconds) * 1e6
            await asyncio.sleep(0.5)
            pool.stdin.write(b"stop\n")
            seen = json.loads(await pool.stdout.readline())
            await pool.wait()
            print(
                f"with {arguments.subscribers} subscribers to btcusdt@depth@100ms + btcusdt@trade "
                f"(another process): {loaded_rate:,.0f} orders/s "
                f"({(1 - loaded_rate / rate) * 100:.1f}% less), "
                f"{loaded_refused} refused; {seen['events_total']:,} events delivered "
                f"({seen['events_min']:,}..{seen['events_max']:,} per subscriber, "
                f"{seen['disconnected']} disconnected); delivery lag ms p50 {seen['lag_p50_ms']:.1f} "
                f"p99 {seen['lag_p99_ms']:.1f} max {seen['lag_max_ms']:.1f}; gateway CPU "
                f"{loaded_cpu_us:.0f} us/order (capacity {1e6 / loaded_cpu_us:,.0f} orders per CPU-second, "
                f"{(1 - cpu_per_order_us / loaded_cpu_us) * 100:.1f}% less)"
            )
    finally:
        server.terminate()
        await server.wait()
        shutil.rmtree(directory, ignore_errors=True)  # its store: tens of MB a run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--window", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--stream-flush-ms", type=int, default=30)
    parser.add_argument(
        "--user-data",
        action="store_true",
        help="each API connection also follows its account's user data stream (userDataStream.subscribe)",
    )
    parser.add_argument(
        "--instructions", action="store_true", help="count the gateway's instructions per order (callgrind)"
    )
    parser.add_argument("--subscriber-pool", metavar="URI", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.subscriber_pool:
        uvloop.run(subscriber_pool(arguments.subscriber_pool, arguments.subscribers))
    else:
        uvloop.run(run(arguments))


if __name__ == "__main__":
    main()
