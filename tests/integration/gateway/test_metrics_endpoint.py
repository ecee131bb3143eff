"""``/metrics`` and ``/healthz`` over a real socket, after orders, a fill and a reject over FIX."""

from __future__ import annotations

import asyncio
from pathlib import Path

from config import load_settings_text
from gateway.server import GatewayServer
from tests.e2e.fix.quickfix_client import wait_for
from tests.e2e.gateway.config import demo_config_text
from tests.e2e.gateway.fix_client import FixTestClient


async def http_get(port: int, path: str) -> tuple[int, str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
    )
    body = await reader.readexactly(length)
    writer.close()
    return int(head.split()[1]), body.decode()


def samples(exposition: str) -> dict[str, float]:
    return {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in exposition.splitlines()
        if line and not line.startswith("#")
    }


async def test_metrics_count_orders_fills_rejects_and_latency(tmp_path: Path) -> None:
    server = GatewayServer(load_settings_text(demo_config_text(tmp_path)))
    await server.start()
    alice, bob = FixTestClient("ALICE", "alice-demo"), FixTestClient("BOB", "bob-demo")
    try:
        for client in (alice, bob):
            await client.connect(server.ports.fix)
        await wait_for(lambda: alice.of_type("A") and bob.of_type("A"))
        bob.new_order("bob-1", "2", "0.5", "50000")
        await wait_for(lambda: bob.of_type("8"))
        alice.new_order("alice-1", "1", "0.2", "50000")
        alice.new_order("alice-2", "1", "1000", "50000")  # 50,000,000 USDT: more than alice has
        await wait_for(
            lambda: (
                any(m.get(11) == "alice-2" for m in alice.of_type("8"))
                and any(m.get(150) == "F" for m in bob.of_type("8"))
            )
        )

        status, text = await http_get(server.ports.metrics, "/metrics")
        assert status == 200
        values = samples(text)
        assert values['gateway_orders_total{symbol="BTCUSDT"}'] == 3
        assert values['gateway_fills_total{symbol="BTCUSDT"}'] == 1
        assert values['gateway_rejects_total{reason="INSUFFICIENT_BALANCE"}'] == 1
        assert values["gateway_ack_latency_seconds_count"] == 3
        assert values['gateway_ack_latency_seconds_bucket{le="+Inf"}'] == 3
        assert values['gateway_ack_latency_seconds_bucket{le="0.0001"}'] <= 3
        assert values["gateway_ack_latency_seconds_sum"] > 0
        assert values["gateway_commit_latency_seconds_count"] >= 1
        assert "gateway_loop_lag_seconds_count" in values  # its probe: tests/unit/gateway/test_loop_lag.py
        assert values['gateway_book_queue_depth{symbol="BTCUSDT"}'] == 0
        assert values['gateway_sessions{protocol="fix"}'] == 2
        assert values['gateway_sessions{protocol="websocket"}'] == 0

        status, text = await http_get(server.ports.metrics, "/healthz")
        assert status == 200
        assert text.splitlines() and all(line.endswith(" ok") for line in text.splitlines())
    finally:
        for client in (alice, bob):
            await client.close()
        await server.stop()
