"""The demo gateway on a fresh store, for the socket tests of this folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import load_settings_text
from gateway.server import GatewayServer
from tests.e2e.gateway.config import demo_config_text
from tests.rate_windows import MINUTE_S, wait_for_fresh_window


@pytest.fixture
async def gateway(tmp_path: Path):
    server = GatewayServer(load_settings_text(demo_config_text(tmp_path)))
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def fresh_weight_window() -> None:
    """For a test that compares request weights across requests: it starts where the minute's window
    has time to run (the gateway's start included)."""
    await wait_for_fresh_window(MINUTE_S, seconds_left_s=8.0)
