"""The FIX acceptor over real sockets: daily session reset, duplicate connections."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from config.settings import StoreSettings
from gateway.fix_transport import AcceptedSession, FixAcceptor, last_reset_instant_s
from ledger.sqlite_store import SqliteStore
from ledger.writer import GroupCommitWriter
from session.fix.codec import FixMessage, FixParser, encode
from session.fix.session import SessionConfig, utc_timestamp
from tests.e2e.gateway.fix_client import FixTestClient

DAY_S = 86400


def test_last_reset_instant() -> None:
    assert last_reset_instant_s(10 * DAY_S + 3600, "00:30") == 10 * DAY_S + 1800
    assert last_reset_instant_s(10 * DAY_S + 600, "00:30") == 9 * DAY_S + 1800
    with pytest.raises(ValueError, match="HH:MM"):
        last_reset_instant_s(0, "25:00")


class NullApplication:
    def on_logon(self, session_id: str, account: str, dialect: object) -> None:
        pass

    def on_message(self, session_id: str, msg_type: str, fields: list) -> None:
        pass

    def on_logout(self, session_id: str) -> None:
        pass


ALICE = SessionConfig(session_id="S", our_comp_id="GATEWAY", their_comp_id="ALICE")


def alice_acceptor(
    store: SqliteStore,
    writer: GroupCommitWriter,
    *,
    config: SessionConfig = ALICE,
    daily_reset_utc: str = "",
    **limits: int,
) -> FixAcceptor:
    """An acceptor for one session (ALICE, session id S) whose application ignores what it is told."""
    return FixAcceptor(
        sessions={("ALICE", "GATEWAY"): AcceptedSession(config, "alice", daily_reset_utc)},
        store=store,
        persistence=writer,
        application=NullApplication(),
        message_bytes_max=65536,
        receive_buffer_bytes_max=1 << 20,
        **limits,
    )


async def logon_reply_seq(
    store: SqliteStore, writer: GroupCommitWriter, *, daily_reset_utc: str, client_seq: int
):
    acceptor = alice_acceptor(store, writer, daily_reset_utc=daily_reset_utc)
    port = await acceptor.listen("127.0.0.1", 0)
    client = FixTestClient("ALICE", "unused")
    client.next_out = client_seq
    await client.connect(port)
    for _ in range(500):
        if client.received:
            break
        await asyncio.sleep(0.01)
    await client.close()
    await acceptor.close()
    return client.received[0]


async def test_sequence_numbers_start_over_after_the_daily_reset(tmp_path: Path) -> None:
    store = SqliteStore(StoreSettings(sqlite_path=str(tmp_path / "fix.sqlite3")))
    await store.open()
    writer = GroupCommitWriter(store)
    task = asyncio.create_task(writer.run())
    try:
        await store.save_fix_session("S", next_incoming_seq=40, next_outgoing_seq=30, sent_messages=[])
        without_reset = await logon_reply_seq(store, writer, daily_reset_utc="", client_seq=40)
        assert (without_reset.msg_type, without_reset.get(34)) == ("A", "30")
        with_reset = await logon_reply_seq(store, writer, daily_reset_utc="00:00", client_seq=1)
        assert (with_reset.msg_type, with_reset.get(34)) == ("A", "1")
        again = await logon_reply_seq(store, writer, daily_reset_utc="00:00", client_seq=2)
        assert (again.msg_type, again.get(34)) == ("A", "2")
    finally:
        await writer.close()
        await task
        await store.close()


class ResetRecordingStore(SqliteStore):
    def __init__(self, settings: StoreSettings, calls: list[tuple[str, str]]) -> None:
        super().__init__(settings)
        self.calls = calls

    async def reset_fix_session(self, session_id: str, reset_ns: int = 0) -> None:
        self.calls.append(("reset", session_id))
        await super().reset_fix_session(session_id, reset_ns)


class DiscardRecordingWriter(GroupCommitWriter):
    def __init__(self, store: SqliteStore, calls: list[tuple[str, str]]) -> None:
        super().__init__(store)
        self.calls = calls

    def discard_fix_session(self, session_id: str) -> None:
        self.calls.append(("discard", session_id))
        super().discard_fix_session(session_id)


async def test_a_reset_first_drops_the_open_batchs_frames_of_the_old_numbering(tmp_path: Path) -> None:
    """Daily and logon (ResetSeqNumFlag) resets: what the writer holds of the old numbering must
    not commit after the reset, or its sequence numbers and prune would land on the new numbering."""
    calls: list[tuple[str, str]] = []
    store = ResetRecordingStore(StoreSettings(sqlite_path=str(tmp_path / "fix.sqlite3")), calls)
    await store.open()
    writer = DiscardRecordingWriter(store, calls)
    task = asyncio.create_task(writer.run())
    try:
        await store.save_fix_session("S", next_incoming_seq=40, next_outgoing_seq=30, sent_messages=[])
        await logon_reply_seq(store, writer, daily_reset_utc="00:00", client_seq=1)
        assert calls == [("discard", "S"), ("reset", "S")]
        calls.clear()
        acceptor = alice_acceptor(store, writer)
        port = await acceptor.listen("127.0.0.1", 0)
        client = FixTestClient("ALICE", "unused")
        client.next_out = 2
        try:
            await client.connect(port)
            await asyncio.wait_for(_until(lambda: client.of_type("A")), 15)
            client.send("1", [(112, "before the reset")])
            await client.close()
            await asyncio.wait_for(_until(lambda: not acceptor.connected), 15)
            await client.connect(port, reset_seq_num=True)
            await asyncio.wait_for(_until(lambda: len(client.of_type("A")) == 2), 15)
        finally:
            await client.close()
            await acceptor.close()
        reset_reply = client.of_type("A")[1]
        assert (reset_reply.get(34), reset_reply.get(141)) == ("1", "Y")
        assert calls == [("discard", "S"), ("reset", "S")]
        await writer.commit_point()
        stored = await store.fetch_sent_messages("S", 1, 10**9)
        assert [seq for seq, _ in stored] == list(range(1, len(stored) + 1))
        assert b"\x01141=Y\x01" in stored[0][1]
    finally:
        await writer.close()
        await task
        await store.close()


class GatedCommitStore(SqliteStore):
    """Commits wait while ``gate`` is clear: a commit still in flight, held as long as a test needs."""

    def __init__(self, settings: StoreSettings) -> None:
        super().__init__(settings)
        self.gate = asyncio.Event()
        self.gate.set()

    async def commit(self, batch, checkpoint=None) -> None:
        await self.gate.wait()
        await super().commit(batch, checkpoint)


async def test_a_resend_waits_for_the_commit_of_what_it_covers(tmp_path: Path) -> None:
    """An ExecutionReport recorded but not yet committed must be resent, never gap-filled over."""
    store = GatedCommitStore(StoreSettings(sqlite_path=str(tmp_path / "fix.sqlite3")))
    await store.open()
    writer = GroupCommitWriter(store)
    task = asyncio.create_task(writer.run())
    acceptor = alice_acceptor(store, writer)
    port = await acceptor.listen("127.0.0.1", 0)
    client = FixTestClient("ALICE", "unused")
    try:
        await client.connect(port)
        await asyncio.wait_for(_until(lambda: client.of_type("A")), 15)
        store.gate.clear()
        assert acceptor.send("S", "8", [(37, "1"), (11, "c1"), (17, "e1"), (150, "0"), (39, "0")])
        client.send("2", [(7, "1"), (16, "0")])
        session = acceptor.connected["S"].session
        await asyncio.wait_for(_until(lambda: session.next_incoming_seq == 3), 15)
        await asyncio.sleep(0.1)
        store.gate.set()
        await asyncio.wait_for(_until(lambda: any(m.get(43) == "Y" for m in client.of_type("8"))), 15)
        gap_fills = [(m.get(34), m.get(36)) for m in client.of_type("4")]
        assert gap_fills == [("1", "2")]
        resent = next(m for m in client.of_type("8") if m.get(43) == "Y")
        assert (resent.get(34), resent.get(11)) == ("2", "c1")
    finally:
        await client.close()
        await acceptor.close()
        await writer.close()
        await task
        await store.close()


@contextlib.asynccontextmanager
async def acceptor_for_alice(
    tmp_path: Path, *, authenticate: Callable[[FixMessage], str | None] | None = None, **limits: int
) -> AsyncIterator[int]:
    """An acceptor for one session (ALICE) on SQLite; yields its port."""
    store = SqliteStore(StoreSettings(sqlite_path=str(tmp_path / "fix.sqlite3")))
    await store.open()
    writer = GroupCommitWriter(store)
    task = asyncio.create_task(writer.run())
    config = ALICE if authenticate is None else dataclasses.replace(ALICE, authenticate=authenticate)
    acceptor = alice_acceptor(store, writer, config=config, **limits)
    try:
        yield await acceptor.listen("127.0.0.1", 0)
    finally:
        await acceptor.close()
        await writer.close()
        await task
        await store.close()


async def second_connection_is_closed_and_first_goes_on(port: int) -> None:
    first, second = FixTestClient("ALICE", "unused"), FixTestClient("ALICE", "unused")
    try:
        await first.connect(port)
        await asyncio.wait_for(_until(lambda: first.of_type("A")), 5)
        await second.connect(port)
        await asyncio.wait_for(second.closed.wait(), 5)
        assert second.received == []
        first.send("1", [(112, "STILL-HERE")])
        await asyncio.wait_for(_until(lambda: any(m.get(112) == "STILL-HERE" for m in first.of_type("0"))), 5)
    finally:
        await first.close()
        await second.close()


async def test_a_second_connection_for_a_connected_session_is_dropped(tmp_path: Path) -> None:
    async with acceptor_for_alice(tmp_path) as port:
        await second_connection_is_closed_and_first_goes_on(port)


async def test_connections_per_address_are_bounded(tmp_path: Path) -> None:
    async with acceptor_for_alice(tmp_path, connections_per_address_max=1) as port:
        first = FixTestClient("ALICE", "unused")
        try:
            await first.connect(port)
            await asyncio.wait_for(_until(lambda: first.of_type("A")), 5)
            # A second connection from the same address is closed before it can say anything.
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            assert await asyncio.wait_for(reader.read(), 5) == b""
            writer.close()
            first.send("1", [(112, "STILL-HERE")])
            await asyncio.wait_for(
                _until(lambda: any(m.get(112) == "STILL-HERE" for m in first.of_type("0"))), 5
            )
        finally:
            await first.close()


async def _until(condition) -> None:
    while not condition():
        await asyncio.sleep(0.01)


async def test_credentials_are_checked_off_the_event_loop(tmp_path: Path) -> None:
    """The check waits for the loop to tell it to finish: it can only pass if the loop keeps running."""
    started, release = threading.Event(), threading.Event()

    def slow_check(message) -> str | None:
        started.set()
        return None if release.wait(10) else "the event loop was blocked during the credential check"

    client = FixTestClient("ALICE", "unused")
    async with acceptor_for_alice(tmp_path, authenticate=slow_check) as port:
        try:
            await client.connect(port)
            await asyncio.wait_for(_until(started.is_set), 5)
            release.set()
            await asyncio.wait_for(_until(lambda: client.of_type("A") or client.of_type("5")), 15)
            assert client.of_type("A") and not client.of_type("5")
        finally:
            release.set()
            await client.close()


async def test_an_in_session_reset_starts_the_stored_session_over(tmp_path: Path) -> None:
    """A Logon with ResetSeqNumFlag=Y on a logged-on session: the reply is numbered 1, and the store
    holds the new numbering from 1 (not frames of the old one), as a reset at logon does."""
    store = SqliteStore(StoreSettings(sqlite_path=str(tmp_path / "fix.sqlite3")))
    await store.open()
    writer = GroupCommitWriter(store)
    task = asyncio.create_task(writer.run())
    client = FixTestClient("ALICE", "unused")
    try:
        acceptor = alice_acceptor(store, writer)
        port = await acceptor.listen("127.0.0.1", 0)
        try:
            await client.connect(port)
            await asyncio.wait_for(_until(lambda: client.of_type("A")), 15)
            for index in range(3):
                client.send("1", [(112, f"old-{index}")])
            await asyncio.wait_for(_until(lambda: len(client.of_type("0")) == 3), 15)
            client.next_out = 1
            client.send("A", [(98, "0"), (108, "30"), (141, "Y")])
            client.send("1", [(112, "new")])
            await asyncio.wait_for(_until(lambda: any(m.get(112) == "new" for m in client.of_type("0"))), 15)
            reset_reply, new_heartbeat = client.of_type("A")[1], client.of_type("0")[-1]
            assert (reset_reply.get(34), reset_reply.get(141), new_heartbeat.get(34)) == ("1", "Y", "2")
        finally:
            await client.close()
            await acceptor.close()
        await writer.commit_point()
        stored = await store.fetch_sent_messages("S", 1, 10**9)
        assert [seq for seq, _ in stored] == [1, 2] and b"\x01141=Y\x01" in stored[0][1]
        assert await store.load_fix_session("S") == (3, 3)
    finally:
        await writer.close()
        await task
        await store.close()


class RecordingApplication(NullApplication):
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[tuple[int, str]]]] = []

    def on_message(self, session_id: str, msg_type: str, fields: list) -> None:
        self.messages.append((msg_type, fields))


async def test_poss_resend_reaches_the_application(tmp_path: Path) -> None:
    """PossResend (97) is a header field, but only the application can tell whether it saw the message."""
    store = SqliteStore(StoreSettings(sqlite_path=str(tmp_path / "fix.sqlite3")))
    await store.open()
    writer = GroupCommitWriter(store)
    task = asyncio.create_task(writer.run())
    application = RecordingApplication()
    acceptor = alice_acceptor(store, writer)
    acceptor.application = application
    port = await acceptor.listen("127.0.0.1", 0)
    client = FixTestClient("ALICE", "unused")
    try:
        await client.connect(port)
        await asyncio.wait_for(_until(lambda: client.of_type("A")), 15)
        header = [
            (35, "D"),
            (49, "ALICE"),
            (56, "GATEWAY"),
            (34, "2"),
            (97, "Y"),
            (52, utc_timestamp(time.time())),
        ]
        body = [
            (11, "o1"),
            (55, "BTCUSDT"),
            (54, "1"),
            (38, "1"),
            (40, "1"),
            (60, utc_timestamp(time.time())),
        ]
        assert client._writer is not None
        client._writer.write(encode("FIX.4.4", header + body))
        await asyncio.wait_for(_until(lambda: application.messages), 15)
        ((msg_type, fields),) = application.messages
        assert msg_type == "D" and (97, "Y") in fields and (11, "o1") in fields
        assert not {tag for tag, _ in fields} & {8, 9, 35, 49, 56, 34, 52, 10}
    finally:
        await client.close()
        await acceptor.close()
        await writer.close()
        await task
        await store.close()


def _frame(seq: int, msg_type: str, body: list[tuple[int, str]]) -> bytes:
    header = [(35, msg_type), (49, "ALICE"), (56, "GATEWAY"), (34, str(seq))]
    return encode("FIX.4.4", [*header, (52, utc_timestamp(time.time())), *body])


async def _read_until_closed(reader: asyncio.StreamReader) -> list[FixMessage]:
    parser = FixParser(message_bytes_max=65536, buffer_bytes_max=1 << 20)
    messages: list[FixMessage] = []
    while data := await asyncio.wait_for(reader.read(65536), 15):
        messages += [item for item in parser.feed(data) if isinstance(item, FixMessage)]
    return messages


async def test_messages_behind_the_logon_in_the_same_segment_are_answered_in_order(tmp_path: Path) -> None:
    """They arrive while the logon is being checked off the loop: held, then handled after it, in order.
    Half-closing after them still gets every answer before the acceptor closes the connection."""
    async with acceptor_for_alice(tmp_path) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            _frame(1, "A", [(98, "0"), (108, "30")])
            + _frame(2, "1", [(112, "FIRST")])
            + _frame(3, "1", [(112, "SECOND")])
        )
        writer.write_eof()
        messages = await _read_until_closed(reader)
        writer.close()
        assert [(message.msg_type, message.get(112)) for message in messages] == [
            ("A", None),
            ("0", "FIRST"),
            ("0", "SECOND"),
        ]


class SessionsApplication(NullApplication):
    def __init__(self) -> None:
        self.events: list[str] = []

    def on_logon(self, session_id: str, account: str, dialect: object) -> None:
        self.events.append(f"logon {session_id}")

    def on_logout(self, session_id: str) -> None:
        self.events.append(f"logout {session_id}")


async def test_a_connection_lost_during_its_logon_check_frees_its_session(tmp_path: Path) -> None:
    """Reading is paused during the check, so the loss is seen after it: the application hears the
    logout of every logon it heard of, and the session can log on again."""
    started, release = threading.Event(), threading.Event()

    def slow_check(message) -> str | None:
        started.set()
        release.wait(10)
        return None

    store = SqliteStore(StoreSettings(sqlite_path=str(tmp_path / "fix.sqlite3")))
    await store.open()
    writer = GroupCommitWriter(store)
    task = asyncio.create_task(writer.run())
    application = SessionsApplication()
    acceptor = alice_acceptor(store, writer, config=dataclasses.replace(ALICE, authenticate=slow_check))
    acceptor.application = application
    port = await acceptor.listen("127.0.0.1", 0)
    try:
        _, client = await asyncio.open_connection("127.0.0.1", port)
        client.write(_frame(1, "A", [(98, "0"), (108, "30")]))
        await asyncio.wait_for(_until(started.is_set), 5)
        client.transport.abort()
        release.set()
        await asyncio.wait_for(_until(lambda: not acceptor.connected), 5)
        assert application.events in ([], ["logon S", "logout S"])
        application.events.clear()
        again = FixTestClient("ALICE", "unused")
        await again.connect(port, reset_seq_num=True)
        await asyncio.wait_for(_until(lambda: again.of_type("A")), 5)
        await again.close()
        await asyncio.wait_for(_until(lambda: not acceptor.connected), 5)
        assert application.events == ["logon S", "logout S"]
    finally:
        release.set()
        await acceptor.close()
        await writer.close()
        await task
        await store.close()


class StalledPersistence:
    """A writer whose commits never complete."""

    def __init__(self) -> None:
        self.pending: asyncio.Future[None] | None = None

    def record_fix_session(self, session_id: str, next_in: int, next_out: int, sent: list) -> None:
        pass

    def discard_fix_session(self, session_id: str) -> None:
        pass

    def commit_point(self) -> asyncio.Future[None]:
        if self.pending is None:
            self.pending = asyncio.get_running_loop().create_future()
        return self.pending


async def test_closing_aborts_a_connection_whose_commit_never_comes(tmp_path: Path) -> None:
    store = SqliteStore(StoreSettings(sqlite_path=str(tmp_path / "fix.sqlite3")))
    await store.open()
    persistence = StalledPersistence()
    acceptor = alice_acceptor(store, persistence)  # type: ignore[arg-type]
    port = await acceptor.listen("127.0.0.1", 0)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(_frame(1, "A", [(98, "0"), (108, "30")]))
        await asyncio.wait_for(_until(lambda: persistence.pending is not None), 5)
        await asyncio.wait_for(acceptor.close(timeout_s=0.2), 5)
        assert await _read_until_closed(reader) == []  # the Logon reply waited for its commit
        assert not acceptor.open
        writer.close()
    finally:
        await store.close()


async def test_a_logon_whose_check_outlasts_the_logon_timeout_still_logs_on(
    tmp_path: Path, monkeypatch
) -> None:
    """The timeout is for a client that sends no Logon; this one did, and our check of it was slow (many
    logons at once after a restart). The Logon was answered and the connection then closed, so the client
    saw a session that took nothing it sent."""
    monkeypatch.setattr("gateway.fix_transport.LOGON_TIMEOUT_S", 0.3)

    def slow_check(message) -> str | None:
        time.sleep(1.5)
        return None

    client = FixTestClient("ALICE", "unused")
    async with acceptor_for_alice(tmp_path, authenticate=slow_check) as port:
        try:
            await client.connect(port)
            await asyncio.wait_for(_until(lambda: client.of_type("A")), 10)
            client.send("1", [(112, "still-there")])
            await asyncio.wait_for(_until(lambda: client.of_type("0")), 5)
            assert client.of_type("0")[-1].get(112) == "still-there"
        finally:
            await client.close()
