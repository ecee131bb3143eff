"""A ResendRequest for a long stretch is served in pieces, complete and in sequence order."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import load_settings_text
from gateway import fix_transport
from gateway.server import GatewayServer
from tests.e2e.fix.quickfix_client import wait_for
from tests.e2e.gateway.config import demo_config_text
from tests.e2e.gateway.fix_client import FixTestClient

ORDERS = 250
CHUNK = 100


async def test_a_long_resend_comes_in_pieces_complete_and_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fix_transport, "RESEND_CHUNK_MESSAGES", CHUNK)
    server = GatewayServer(load_settings_text(demo_config_text(tmp_path)))
    await server.start()
    fetched: list[tuple[int, int]] = []
    fetch = server.store.fetch_sent_messages

    async def recording_fetch(session_id: str, begin_seq: int, end_seq: int) -> list[tuple[int, bytes]]:
        fetched.append((begin_seq, end_seq))
        return await fetch(session_id, begin_seq, end_seq)

    server.store.fetch_sent_messages = recording_fetch  # type: ignore[method-assign]
    client = FixTestClient("ALICE", "alice-demo")
    try:
        await client.connect(server.ports.fix)
        await wait_for(lambda: client.of_type("A"), what="logon")
        for index in range(ORDERS):
            client.new_order(f"resend-{index}", "1", "0.001", "30000")
        await wait_for(lambda: len(client.of_type("8")) == ORDERS, what="every ExecutionReport")
        last_seq = max(int(m.get(34)) for m in client.received)
        client.received.clear()
        client.send("2", [(7, "1"), (16, "0")])
        await wait_for(lambda: len(client.of_type("8")) == ORDERS, what="every ExecutionReport again")
        assert fetched == [(1, 100), (101, 200), (201, last_seq)]
        (gap_fill,) = client.of_type("4")
        assert (gap_fill.get(34), gap_fill.get(123), gap_fill.get(36)) == ("1", "Y", "2")
        resent = [int(m.get(34)) for m in client.of_type("8")]
        assert resent == list(range(2, last_seq + 1))
        assert all(m.get(43) == "Y" for m in client.of_type("8"))
    finally:
        await client.close()
        await server.stop()
