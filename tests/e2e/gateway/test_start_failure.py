"""A gateway that cannot start says why and exits, rather than hang with its store's threads open."""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path

import pytest

from tests.e2e.gateway.config import ROOT, demo_config_text


@pytest.mark.timeout(90)
async def test_a_port_in_use_ends_the_gateway_with_exit_3(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tmp_path / "gateway.toml"
        config.write_text(
            demo_config_text(tmp_path).replace("websocket_port = 0", f"websocket_port = {port}")
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "gateway.cli",
            "serve",
            "--config",
            str(config),
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            _, stderr = await asyncio.wait_for(process.communicate(), 60)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert process.returncode == 3
    assert "gateway: could not start:" in stderr.decode() and "address already in use" in stderr.decode()
