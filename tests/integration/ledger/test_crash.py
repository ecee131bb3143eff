"""kill -9 a process that writes through the ledger: nothing acknowledged is lost, nothing is half written."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from config import load_settings
from ledger.ledger import Ledger

ROOT = Path(__file__).resolve().parents[3]
ACKNOWLEDGEMENTS_BEFORE_KILL = 25


async def test_a_killed_writer_keeps_every_acknowledged_entry(store_factory, tmp_path: Path) -> None:
    if store_factory.backend == "sqlite":
        target = [store_factory.settings.sqlite_path]
    else:
        target = [store_factory.settings.postgres_dsn, store_factory.schema]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.integration.ledger.crash_writer",
        store_factory.backend,
        *target,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    acknowledged = 0
    try:
        for _ in range(ACKNOWLEDGEMENTS_BEFORE_KILL):
            line = await asyncio.wait_for(process.stdout.readline(), 60)
            assert line, "the writer stopped before it was killed"
            acknowledged = int(line)
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    store = await store_factory()
    state = await store.load()
    journal = state.journal_after_checkpoint
    assert journal[-1].sequence >= acknowledged
    assert [entry.sequence for entry in journal] == list(range(1, len(journal) + 1))
    rebuilt = Ledger(fees=load_settings("config/demo.toml").fees)
    rebuilt.replay(journal)
    assert rebuilt.verify() == []
    # Every transaction holds whole fills: hold, hold, trade, release, so the journal ends after a release.
    assert type(journal[-1]).__name__ == "HoldEntry" and journal[-1].kind.value == "release"
