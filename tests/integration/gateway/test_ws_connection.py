"""API messages go from the frame parser straight to their answer: every framing the protocol allows is
answered as ``recv()`` would have read it, and what it would have refused closes the connection."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.server import ServerProtocol

from gateway.server import GatewayServer
from gateway.ws_connection import FRAGMENTS_MAX, GatewayConnection


def api_url(gateway: GatewayServer) -> str:
    return f"ws://127.0.0.1:{gateway.ports.websocket}/ws-api/v3"


async def answers(websocket, count: int) -> list[dict]:
    return [json.loads(await asyncio.wait_for(websocket.recv(), 5)) for _ in range(count)]


async def test_a_fragmented_request_and_a_binary_one_are_answered(gateway: GatewayServer) -> None:
    request = json.dumps({"id": 7, "method": "time", "params": {}})
    async with connect(api_url(gateway)) as websocket:
        await websocket.send([request[:5], request[5:12], request[12:]])
        await websocket.send(json.dumps({"id": 8, "method": "ping"}).encode())
        replies = sorted(await answers(websocket, 2), key=lambda reply: reply["id"])
    assert [(reply["id"], reply["status"]) for reply in replies] == [(7, 200), (8, 200)]
    assert "serverTime" in replies[0]["result"]


async def test_text_that_is_not_utf8_closes_with_1007(gateway: GatewayServer) -> None:
    async with connect(api_url(gateway)) as websocket:
        await websocket.send(b'{"id": 1, "method": "ping", "x": "\xff"}', text=True)
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(websocket.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1007  # invalid data


async def test_a_message_in_too_many_fragments_closes_with_1009(gateway: GatewayServer) -> None:
    async with connect(api_url(gateway)) as websocket:
        await websocket.send(["x"] * (FRAGMENTS_MAX + 1))
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(websocket.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009  # message too big


async def test_messages_complete_before_the_handler_runs_are_held_for_it() -> None:
    connection = GatewayConnection(ServerProtocol(), None)
    connection.hold_messages()
    connection.process_event(Frame(Opcode.TEXT, b'{"id": 1}'))
    connection.process_event(Frame(Opcode.TEXT, b'{"id": 2,', fin=False))
    delivered: list[str | bytes] = []
    connection.deliver_messages(delivered.append)
    connection.process_event(Frame(Opcode.CONT, b' "x": 3}'))
    connection.process_event(Frame(Opcode.BINARY, b"[]"))
    assert delivered == ['{"id": 1}', '{"id": 2, "x": 3}', b"[]"]
