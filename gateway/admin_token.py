"""The admin token file: created with owner-only permissions, refused when anyone else may read it."""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from config.errors import GatewayError


class AdminTokenError(GatewayError):
    """The token file is missing, empty, or readable by others than its owner."""


def _check_private(path: Path) -> None:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise AdminTokenError(
            f"{path}: admin token file must be readable only by its owner (mode {stat.S_IMODE(mode):o}); "
            f"run: chmod 600 {path}"
        )


def ensure_admin_token(path: str) -> str:
    """Return the server's admin token, creating the file (mode 600) with a new random token if missing."""
    token_path = Path(path)
    if not token_path.exists():
        token_path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(token_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as token_file:
            token_file.write(secrets.token_urlsafe(32) + "\n")
    return read_admin_token(path)


def read_admin_token(path: str) -> str:
    """Read the token for a client, refusing a file others can read."""
    token_path = Path(path)
    if not token_path.exists():
        raise AdminTokenError(f"{path}: no admin token file; is the server running with this config?")
    _check_private(token_path)
    token = token_path.read_text(encoding="ascii").strip()
    if not token:
        raise AdminTokenError(f"{path}: admin token file is empty")
    return token
