"""The demo config, pointed at a temporary store, free ports and a private admin token."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def demo_config_text(
    directory: Path,
    *,
    backend: str = "sqlite",
    postgres_dsn: str = "",
    postgres_schema: str = "public",
    fix_port: int = 0,
    admin_port: int = 0,
) -> str:
    text = (ROOT / "config" / "demo.toml").read_text()
    sqlite_path = directory / "gateway.sqlite3"
    store = f'[store]\nbackend = "{backend}"\nsqlite_path = "{sqlite_path}"\nsqlite_synchronous = "FULL"\n'
    if postgres_dsn:
        store += f'postgres_dsn = "{postgres_dsn}"\npostgres_schema = "{postgres_schema}"\n'
    text = re.sub(r"\[store\]\n(?:[^\[\n][^\n]*\n)*", store + "\n", text)
    text = re.sub(r"fix_port = \d+", f"fix_port = {fix_port}", text)
    text = re.sub(r"admin_port = \d+", f"admin_port = {admin_port}", text)
    text = re.sub(r"metrics_port = \d+", "metrics_port = 0", text)
    text = re.sub(r"websocket_port = \d+", "websocket_port = 0", text)
    return text.replace("[server]\n", f'[server]\nadmin_token_path = "{directory / "admin.token"}"\n', 1)
