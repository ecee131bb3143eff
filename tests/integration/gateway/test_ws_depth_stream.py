"""The diff-depth streams over a real socket keep Binance's contract when a level is born and gone in a turn.

A resting order filled, or placed and canceled, within one book turn changes the book and takes update ids,
yet leaves no level behind. The ``@depth@100ms`` and ``@depth`` events must still cover those ids (each
``U`` is the previous ``u`` + 1), and a local book built from a ``depth`` snapshot plus the diffs by
Binance's procedure must equal the gateway's book.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from decimal import Decimal

from websockets.asyncio.client import connect

from book.types import CancelOrder, OrderType, Side, SubmitOrder, TimeInForce
from config.money import format_minor
from gateway.server import GatewayServer

COIN = 10**8
STREAMS = ("btcusdt@depth@100ms", "btcusdt@depth")


def limit(server: GatewayServer, account: str, side: Side, price: int, quantity_minor: int) -> SubmitOrder:
    return SubmitOrder(
        order_id=server.exchange.new_order_id(),
        account_id=server.accounts[account],
        side=side,
        order_type=OrderType.LIMIT,
        time_in_force=TimeInForce.GTC,
        price_minor=price * COIN,
        quantity_minor=quantity_minor,
        ts_ns=time.time_ns(),
    )


async def one_turn(server: GatewayServer, *commands) -> None:
    """Queue ``commands`` with no await between them, so the book task takes them in one turn."""
    results = await asyncio.gather(*[server.exchange.submit("BTCUSDT", command) for command in commands])
    assert all(result.error is None for result in results), results


class DepthEvents:
    """The diff events of both depth streams, read from one ``/stream`` connection."""

    def __init__(self, websocket) -> None:
        self.websocket = websocket
        self.events: dict[str, list[dict]] = {stream: [] for stream in STREAMS}

    async def until(self, last_update_id: int, timeout_s: float = 10.0) -> None:
        """Read until every stream has delivered update ``last_update_id`` (a bound, not a timed check)."""
        async with asyncio.timeout(timeout_s):
            while any(not events or events[-1]["u"] < last_update_id for events in self.events.values()):
                frame = json.loads(await self.websocket.recv())
                if frame.get("stream") in self.events:
                    self.events[frame["stream"]].append(frame["data"])


def apply(book: dict[Decimal, Decimal], levels: list[list[str]]) -> None:
    for price, quantity in levels:
        if Decimal(quantity) == 0:
            book.pop(Decimal(price), None)
        else:
            book[Decimal(price)] = Decimal(quantity)


async def test_levels_born_and_gone_in_one_turn_keep_the_diffs_gap_free(gateway: GatewayServer) -> None:
    url = f"ws://127.0.0.1:{gateway.ports.websocket}"
    async with (
        connect(f"{url}/stream?streams={'/'.join(STREAMS)}") as streams,
        connect(f"{url}/ws-api/v3") as api,
    ):
        await streams.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 1}))
        assert json.loads(await streams.recv())["result"] == sorted(STREAMS)  # subscribed from here on
        depth = DepthEvents(streams)

        resting = limit(gateway, "bob", Side.SELL, 50_100, COIN // 10)
        await one_turn(gateway, resting)
        await depth.until(gateway.broadcaster.snapshot("BTCUSDT").last_update_id)
        request = {"id": 2, "method": "depth", "params": {"symbol": "BTCUSDT", "limit": 5000}}
        await api.send(json.dumps(request))
        snapshot = json.loads(await api.recv())["result"]
        assert snapshot["asks"] == [["50100.00000000", "0.10000000"]]

        # Each of these turns is the first of its window on both streams (the one before was delivered).
        await one_turn(
            gateway,
            limit(gateway, "bob", Side.SELL, 50_050, COIN // 20),
            limit(gateway, "alice", Side.BUY, 50_050, COIN // 20),
        )
        born = limit(gateway, "bob", Side.SELL, 50_200, COIN // 20)
        await one_turn(gateway, born, CancelOrder(order_id=born.order_id, account_id=born.account_id))
        await one_turn(gateway, limit(gateway, "alice", Side.BUY, 49_900, COIN // 20))
        await depth.until(gateway.broadcaster.snapshot("BTCUSDT").last_update_id)
        await one_turn(gateway, CancelOrder(order_id=resting.order_id, account_id=resting.account_id))
        final_id = gateway.broadcaster.snapshot("BTCUSDT").last_update_id
        await depth.until(final_id)

    truth = gateway.exchange.books["BTCUSDT"].book.depth(5000)
    symbol = gateway.settings.symbols["BTCUSDT"]

    def as_decimals(levels) -> dict[Decimal, Decimal]:
        return {
            Decimal(format_minor(p, symbol.quote_scale)): Decimal(format_minor(q, symbol.base_scale))
            for p, q in levels
        }

    for stream, events in depth.events.items():
        ids = [(event["U"], event["u"]) for event in events]
        for (_, previous_last), (first, _) in itertools.pairwise(ids):
            assert first == previous_last + 1, f"{stream}: gap in update ids {ids}"
        assert ids[-1][1] == final_id
        # Binance's procedure from the snapshot.
        bids: dict[Decimal, Decimal] = {}
        asks: dict[Decimal, Decimal] = {}
        apply(bids, snapshot["bids"])
        apply(asks, snapshot["asks"])
        kept = [event for event in events if event["u"] > snapshot["lastUpdateId"]]
        assert kept[0]["U"] <= snapshot["lastUpdateId"] + 1 <= kept[0]["u"], stream
        for event in kept:
            apply(bids, event["b"])
            apply(asks, event["a"])
        assert (bids, asks) == (as_decimals(truth.bids), as_decimals(truth.asks)), stream
        assert bids == {Decimal("49900"): Decimal("0.05")} and asks == {}
        # Every level touched and left empty is sent as zero, the one a snapshot showed too.
        zeros = {price for event in kept for price, quantity in event["a"] if quantity == "0.00000000"}
        assert zeros == {"50050.00000000", "50100.00000000", "50200.00000000"}, stream
