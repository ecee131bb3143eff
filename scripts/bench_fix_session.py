"""FIX session benchmark: NewOrderSingles per second through the acceptor and its session layer on loopback.

A client pipelines ``--messages`` NewOrderSingles over TCP; the gateway side parses, checks sequence
numbers and the data dictionary, persists its sequence numbers through the group commit (SQLite,
synchronous=FULL), and hands each message to an application that only counts. The clock stops when the
application has seen the last one.

    .venv/bin/python scripts/bench_fix_session.py [--messages 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import uvloop

from config.settings import StoreSettings
from gateway.fix_transport import AcceptedSession, FixAcceptor
from ledger.sqlite_store import SqliteStore
from ledger.writer import GroupCommitWriter
from session.fix.codec import FixMessage, FixParser, encode
from session.fix.dialect import FixDialect
from session.fix.session import SessionConfig, utc_timestamp


class CountingApplication:
    def __init__(self, expected: int) -> None:
        self.count = 0
        self.expected = expected
        self.done = asyncio.Event()

    def on_logon(self, session_id: str, account: str, dialect: FixDialect) -> None:
        pass

    def on_message(self, session_id: str, msg_type: str, fields: list) -> None:
        self.count += 1
        if self.count == self.expected:
            self.done.set()

    def on_logout(self, session_id: str) -> None:
        pass


async def run(messages: int) -> None:
    directory = Path(tempfile.mkdtemp(prefix="bench-fix-session-"))
    store = SqliteStore(StoreSettings(sqlite_path=str(directory / "fix.sqlite3")))
    await store.open()
    writer = GroupCommitWriter(store)
    writer_task = asyncio.create_task(writer.run())
    application = CountingApplication(messages)
    config = SessionConfig(session_id="C-G", our_comp_id="GATEWAY", their_comp_id="CLIENT")
    acceptor = FixAcceptor(
        sessions={("CLIENT", "GATEWAY"): AcceptedSession(config, "bench")},
        store=store,
        persistence=writer,
        application=application,
        message_bytes_max=65536,
        receive_buffer_bytes_max=1 << 24,
    )
    port = await acceptor.listen("127.0.0.1", 0)
    reader, client = await asyncio.open_connection("127.0.0.1", port)
    now = utc_timestamp(time.time())
    header = [(49, "CLIENT"), (56, "GATEWAY")]
    client.write(encode("FIX.4.4", [(35, "A"), *header, (34, "1"), (52, now), (98, "0"), (108, "30")]))
    parser = FixParser(message_bytes_max=65536, buffer_bytes_max=1 << 20)
    while not any(
        isinstance(m, FixMessage) and m.msg_type == "A" for m in parser.feed(await reader.read(4096))
    ):
        pass
    frames = [
        encode(
            "FIX.4.4",
            [
                (35, "D"),
                *header,
                (34, str(seq)),
                (52, now),
                (11, f"order-{seq}"),
                (55, "BTCUSDT"),
                (54, "1"),
                (38, "0.01000000"),
                (40, "2"),
                (44, "50000.00000000"),
                (59, "1"),
                (60, now),
            ],
        )
        for seq in range(2, messages + 2)
    ]
    started = time.perf_counter()
    for start in range(0, len(frames), 1000):
        client.write(b"".join(frames[start : start + 1000]))
        await client.drain()
    await application.done.wait()
    elapsed = time.perf_counter() - started
    print(f"command: {' '.join(sys.argv)}")
    print(
        f"{messages:,} NewOrderSingles through the session layer in {elapsed:.2f} s = "
        f"{messages / elapsed:,.0f} msg/s (TCP loopback, sequence numbers committed to SQLite FULL, "
        f"{writer.commits} commits)"
    )
    client.close()
    await acceptor.close()
    await writer.close()
    await writer_task
    await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    uvloop.run(run(parser.parse_args().messages))


if __name__ == "__main__":
    main()
