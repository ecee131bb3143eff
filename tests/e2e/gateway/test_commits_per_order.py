"""Durable acknowledgement costs one commit: the order, its ExecutionReport and the sequence numbers."""

from __future__ import annotations

from pathlib import Path

from config import load_settings_text
from gateway.server import GatewayServer
from tests.e2e.fix.quickfix_client import wait_for
from tests.e2e.gateway.config import demo_config_text
from tests.e2e.gateway.fix_client import FixTestClient


async def test_a_new_order_is_acknowledged_by_exactly_one_commit(tmp_path: Path) -> None:
    server = GatewayServer(load_settings_text(demo_config_text(tmp_path)))
    await server.start()
    client = FixTestClient("ALICE", "alice-demo")
    try:
        await client.connect(server.ports.fix)
        await wait_for(lambda: client.of_type("A"), what="logon")
        await server.writer.commit_point()
        commits_before = server.writer.commits
        client.new_order("one-commit-1", "1", "0.1", "40000")
        await wait_for(lambda: client.of_type("8"), what="the ExecutionReport")
        assert client.of_type("8")[0].get(150) == "0"
        assert server.writer.commits - commits_before == 1
    finally:
        await client.close()
        await server.stop()
