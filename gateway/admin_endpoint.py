"""The admin endpoint: JSON lines over a loopback-only TCP port, each request carrying the admin token.

Request: ``{"token": "...", "command": "accounts.list", "args": {...}}``; reply: ``{"ok": true, "result":
...}`` or ``{"ok": false, "error": {"code": "...", "message": "..."}}``. One request per line, bounded
in size; a wrong token gets an error and nothing runs. The token is never logged.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import structlog

from config.errors import GatewayError

log = structlog.get_logger("gateway.admin")

AdminHandler = Callable[[dict[str, Any]], Awaitable[Any]]
REQUEST_BYTES_MAX = 65536
# The largest reply a client reads: a full book's depth or every account fits; an export is paged.
REPLY_BYTES_MAX = 64 << 20


class AdminCommandError(GatewayError):
    """A command refused with a code the CLI maps to an exit status and a message an operator reads."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class AdminReplyTooLarge(GatewayError):
    """A reply past what a client reads (``REPLY_BYTES_MAX``)."""


class AdminEndpoint:
    """Serves admin commands to local operators."""

    def __init__(self, *, handlers: Mapping[str, AdminHandler], token: str, host: str, port: int) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise GatewayError(f"admin endpoint must listen on a loopback address, not {host}")
        self._handlers = handlers
        self._token = token.encode("ascii")
        self._host = host
        self._port = port
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.sockets[0].getsockname()[1]

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._serve, self._host, self._port, limit=REQUEST_BYTES_MAX
        )

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    line = await reader.readline()
                except ValueError:
                    writer.write(_error("too_large", f"request exceeds {REQUEST_BYTES_MAX} bytes"))
                    break
                if not line:
                    break
                writer.write(await self._answer(line))
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def _answer(self, line: bytes) -> bytes:
        try:
            request = json.loads(line)
        except ValueError:
            return _error("bad_request", "request is not JSON")
        if not isinstance(request, dict):
            return _error("bad_request", "request must be a JSON object")
        token = request.get("token")
        if not isinstance(token, str) or not hmac.compare_digest(token.encode("utf-8"), self._token):
            log.warning("admin request with a wrong token refused")
            return _error("unauthorized", "wrong admin token")
        command, args = request.get("command"), request.get("args") or {}
        handler = self._handlers.get(command) if isinstance(command, str) else None
        if handler is None or not isinstance(args, dict):
            return _error("unknown_command", f"unknown command {command!r}")
        try:
            result = await handler(args)
        except AdminCommandError as error:
            return _error(error.code, error.message)
        except Exception as error:
            log.exception("admin command failed", command=command)
            return _error("internal", f"{type(error).__name__}: {error}")
        log.info("admin command", command=command)
        return json.dumps({"ok": True, "result": result}).encode("utf-8") + b"\n"


def _error(code: str, message: str) -> bytes:
    return json.dumps({"ok": False, "error": {"code": code, "message": message}}).encode("utf-8") + b"\n"


async def admin_request(
    host: str, port: int, token: str, command: str, args: dict[str, Any], *, timeout_s: float = 30.0
) -> dict[str, Any]:
    """Send one admin command and return the decoded reply (used by the CLI and tests)."""
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(host, port, limit=REPLY_BYTES_MAX), timeout_s
    )
    try:
        writer.write(json.dumps({"token": token, "command": command, "args": args}).encode("utf-8") + b"\n")
        await writer.drain()
        try:
            line = await asyncio.wait_for(reader.readline(), timeout_s)
        except ValueError:
            raise AdminReplyTooLarge(f"the reply to {command} exceeds {REPLY_BYTES_MAX} bytes") from None
    finally:
        writer.close()
    return json.loads(line)
