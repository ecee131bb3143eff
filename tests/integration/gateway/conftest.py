"""The demo gateway on a fresh store, for the socket tests of this folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import load_settings_text
from gateway.server import GatewayServer
from tests.e2e.gateway.config import demo_config_text


@pytest.fixture
async def gateway(tmp_path: Path):
    server = GatewayServer(load_settings_text(demo_config_text(tmp_path)))
    await server.start()
    yield server
    await server.stop()
