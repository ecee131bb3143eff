"""A ResendRequest for a long stretch is served in pieces, complete and in sequence order."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
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


@contextlib.asynccontextmanager
async def gateway_recording_fetches(
    tmp_path: Path,
) -> AsyncIterator[tuple[GatewayServer, list[tuple[int, int]], FixTestClient]]:
    """A demo gateway, the (begin, end) of every read of stored frames it makes for resends, and a
    client logged on as ALICE."""
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
        yield server, fetched, client
    finally:
        await client.close()
        await server.stop()


async def test_a_long_resend_comes_in_pieces_complete_and_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fix_transport, "RESEND_CHUNK_MESSAGES", CHUNK)
    async with gateway_recording_fetches(tmp_path) as (_, fetched, client):
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


BACKPRESSURE_ORDERS = 1000
BACKPRESSURE_CHUNK = 20


async def test_a_resend_to_a_client_that_does_not_read_waits_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each piece is written only once the transport can take more, so a client that stops reading
    holds the resend back (the store is read no further) instead of filling the gateway's memory."""
    monkeypatch.setattr(fix_transport, "RESEND_CHUNK_MESSAGES", BACKPRESSURE_CHUNK)
    async with gateway_recording_fetches(tmp_path) as (server, fetched, client):
        for index in range(BACKPRESSURE_ORDERS):
            client.new_order(f"held-{index}", "1", "0.001", "30000")
        await wait_for(lambda: len(client.of_type("8")) == BACKPRESSURE_ORDERS, what="the ExecutionReports")
        last_seq = max(int(m.get(34)) for m in client.received)
        (connection,) = server.fix.connected.values()
        assert connection.transport is not None and client._writer is not None
        connection.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        connection.transport.set_write_buffer_limits(high=4096)
        client._writer.transport.get_extra_info("socket").setsockopt(
            socket.SOL_SOCKET, socket.SO_RCVBUF, 4096
        )
        client._writer.transport.pause_reading()
        client.received.clear()
        client.send("2", [(7, "1"), (16, "0")])
        await wait_for(lambda: connection.writable is not None, what="the transport to fill")
        await asyncio.sleep(0.5)
        pieces = -(-last_seq // BACKPRESSURE_CHUNK)
        assert len(fetched) < pieces // 2, (len(fetched), pieces)
        assert connection.transport.get_write_buffer_size() < 4096 + 2 * BACKPRESSURE_CHUNK * 400
        client._writer.transport.resume_reading()
        await wait_for(lambda: len(client.of_type("8")) == BACKPRESSURE_ORDERS, what="the resent reports")
        assert len(fetched) == pieces
