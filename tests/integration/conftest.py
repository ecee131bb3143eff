"""Real databases for integration tests: a fresh SQLite file, and a fresh PostgreSQL schema.

PostgreSQL is the one at 127.0.0.1:5432 (database ``test``). Where it cannot be reached the tests that
need it skip with the reason, unless ``GATEWAY_REQUIRE_PG=1`` (set by CI), which makes them fail.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import asyncpg
import pytest

from config.settings import StoreSettings
from ledger.postgres_store import PostgresStore
from ledger.sqlite_store import SqliteStore

POSTGRES_DSN = os.environ.get("GATEWAY_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")


async def _postgres_problem() -> str | None:
    try:
        connection = await asyncio.wait_for(asyncpg.connect(POSTGRES_DSN), 5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        return f"PostgreSQL at {POSTGRES_DSN} is unreachable: {error!r}"
    await connection.close()
    return None


def require_postgres(problem: str | None) -> None:
    if problem is None:
        return
    if os.environ.get("GATEWAY_REQUIRE_PG") == "1":
        pytest.fail(f"GATEWAY_REQUIRE_PG=1 but {problem}")
    pytest.skip(problem)


async def drop_schema(schema: str) -> None:
    connection = await asyncpg.connect(POSTGRES_DSN)
    try:
        await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await connection.close()


@pytest.fixture(params=["sqlite", "postgres"])
async def store_factory(request: pytest.FixtureRequest, tmp_path: Path):
    """A function that opens (again) the same fresh database, for restart tests; closes what it opened."""
    opened = []
    if request.param == "postgres":
        require_postgres(await _postgres_problem())
        schema = f"test_{uuid.uuid4().hex[:12]}"
        settings = StoreSettings(backend="postgres", postgres_dsn=POSTGRES_DSN)

        def make():
            return PostgresStore(settings, schema=schema)
    else:
        settings = StoreSettings(backend="sqlite", sqlite_path=str(tmp_path / "gateway.sqlite3"))
        schema = None

        def make():
            return SqliteStore(settings)

    async def open_store():
        store = make()
        await store.open()
        opened.append(store)
        return store

    open_store.backend = request.param
    open_store.settings = settings
    open_store.schema = schema
    yield open_store
    for store in opened:
        await store.close()
    if schema is not None:
        await drop_schema(schema)
