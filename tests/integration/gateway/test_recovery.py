"""A gateway restarted on its store carries on where it stopped: here, an admin's halt and resume."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from book.types import OrderType, RejectReason, Side, SubmitOrder
from config import load_settings_text
from gateway.server import GatewayServer
from tests.e2e.gateway.config import demo_config_text
from tests.integration.conftest import POSTGRES_DSN, _postgres_problem, drop_schema, require_postgres


@pytest.fixture(params=["sqlite", "postgres"])
async def config_text(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "sqlite":
        yield demo_config_text(tmp_path)
        return
    require_postgres(await _postgres_problem())
    schema = f"test_{uuid.uuid4().hex[:12]}"
    yield demo_config_text(tmp_path, backend="postgres", postgres_dsn=POSTGRES_DSN, postgres_schema=schema)
    await drop_schema(schema)


async def _started(config_text: str) -> GatewayServer:
    server = GatewayServer(load_settings_text(config_text))
    await server.start()
    return server


async def _place_buy(server: GatewayServer) -> RejectReason | None:
    command = SubmitOrder(
        order_id=server.exchange.new_order_id(),
        account_id=server.accounts["alice"],
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        price_minor=1000 * 10**8,
        quantity_minor=10**6,
    )
    return (await server.exchange.execute("BTCUSDT", command)).error


async def test_an_admin_halt_and_resume_survive_a_restart(config_text: str) -> None:
    """The halt lived only in the book's memory: restarted, the symbol traded again."""
    server = await _started(config_text)
    try:
        await server.admin_commands.halt({"symbol": "BTCUSDT"})
    finally:
        await server.stop()
    server = await _started(config_text)
    try:
        assert server.exchange.books["BTCUSDT"].book.halted
        assert not server.exchange.books["ETHUSDT"].book.halted
        assert await _place_buy(server) is RejectReason.SYMBOL_HALTED
        await server.admin_commands.resume({"symbol": "BTCUSDT"})
    finally:
        await server.stop()
    server = await _started(config_text)
    try:
        assert not server.exchange.books["BTCUSDT"].book.halted
        assert await _place_buy(server) is None
    finally:
        await server.stop()
