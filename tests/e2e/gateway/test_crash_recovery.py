"""kill -9 the gateway mid-stream: after a restart every acknowledged order and fill is there.

The server runs as a subprocess on SQLite and on PostgreSQL. Two sessions stream crossing orders
without waiting; the server is killed after enough acknowledgements, restarted on the same store, and
stopped cleanly; then the store is checked against everything the clients were told.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
import time
import uuid
from pathlib import Path

import pytest

from config import load_settings_text
from gateway.server import open_store
from ledger.verify import verify_store
from tests.e2e.gateway.config import ROOT, demo_config_text
from tests.e2e.gateway.fix_client import FixTestClient
from tests.integration.conftest import POSTGRES_DSN, _postgres_problem, drop_schema, require_postgres

ORDERS_PER_SIDE = 3000
FILLS_BEFORE_KILL = 200


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def start_server(config_path: Path, fix_port: int) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway.cli",
        "serve",
        "--config",
        str(config_path),
        cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", fix_port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        writer.close()
        return process
    process.kill()
    raise AssertionError("the gateway did not start listening")


async def logged_on(client: FixTestClient, port: int) -> None:
    await client.connect(port)
    deadline = time.monotonic() + 10
    while not client.of_type("A"):
        assert time.monotonic() < deadline, "no logon reply"
        await asyncio.sleep(0.01)


def acknowledged(client: FixTestClient) -> tuple[set[str], set[int]]:
    """Client order ids the gateway acknowledged, and trade ids it reported as filled."""
    reports = client.of_type("8")
    orders = {r.get(11) for r in reports if r.get(150) in ("0", "F")}
    trades = {int(r.get(527)) for r in reports if r.get(150) == "F"}  # SecondaryExecID: the trade id
    return orders, trades


@pytest.mark.timeout(240)
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_kill_9_loses_nothing_that_was_acknowledged(backend: str, tmp_path: Path) -> None:
    schema = f"crash_{uuid.uuid4().hex[:10]}"
    if backend == "postgres":
        require_postgres(await _postgres_problem())
    fix_port = free_port()
    text = demo_config_text(
        tmp_path,
        backend=backend,
        postgres_dsn=POSTGRES_DSN if backend == "postgres" else "",
        postgres_schema=schema,
        fix_port=fix_port,
        admin_port=free_port(),
    )
    config_path = tmp_path / "gateway.toml"
    config_path.write_text(text)
    settings = load_settings_text(text)
    alice, bob = FixTestClient("ALICE", "alice-demo"), FixTestClient("BOB", "bob-demo")
    process = await start_server(config_path, fix_port)
    try:
        await logged_on(alice, fix_port)
        await logged_on(bob, fix_port)
        for index in range(ORDERS_PER_SIDE):
            bob.new_order(f"b{index}", "2", "0.001", "50000")
            alice.new_order(f"a{index}", "1", "0.001", "50000")
            if index % 20 == 19:
                await asyncio.sleep(0)
        deadline = time.monotonic() + 60
        while len(acknowledged(alice)[1] | acknowledged(bob)[1]) < FILLS_BEFORE_KILL:
            assert time.monotonic() < deadline, "too few acknowledgements"
            await asyncio.sleep(0.001)
        process.send_signal(signal.SIGKILL)
        await process.wait()
        await asyncio.gather(alice.closed.wait(), bob.closed.wait())
        told_orders = {("alice", c) for c in acknowledged(alice)[0]} | {
            ("bob", c) for c in acknowledged(bob)[0]
        }
        told_trades = acknowledged(alice)[1] | acknowledged(bob)[1]
        assert len(told_orders) < 2 * ORDERS_PER_SIDE, "the kill came after the stream ended"

        process = await start_server(config_path, fix_port)
        alice_again = FixTestClient("ALICE", "alice-demo")
        alice_again.next_out = alice.next_out
        await logged_on(alice_again, fix_port)
        assert alice_again.of_type("A")[0].get(141) is None, "the session was reset"
        await alice_again.close()
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0

        store = open_store(settings)
        await store.open()
        try:
            names = await store.accounts()
            stored_orders = {
                (name, record.client_order_id)
                for name, account_id in names.items()
                for record in await store.orders(account_id)
            }
            assert told_orders <= stored_orders
            stored_trades = {trade.trade_id for trade in await store.trades(0, 2**62)}
            assert told_trades <= stored_trades
            assert await verify_store(store, settings.fees, settings.symbols) == []
        finally:
            await store.close()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await alice.close()
        await bob.close()
        if backend == "postgres":
            await drop_schema(schema)
