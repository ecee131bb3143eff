"""QuickFIX as counterparty: logon, heartbeats, gaps both ways, logout, restart with sequences intact."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

import pytest
import quickfix as fix

from config.settings import StoreSettings
from gateway.fix_transport import AcceptedSession, FixAcceptor
from ledger.sqlite_store import SqliteStore
from ledger.writer import GroupCommitWriter
from session.fix.auth import hash_password, make_authenticator
from session.fix.session import SessionConfig
from tests.e2e.fix.quickfix_client import QuickFixClient, wait_for

PASSWORD = "alice-password"
WRITERS: list[tuple[GroupCommitWriter, asyncio.Task[None]]] = []


async def stop_gateway(acceptor: FixAcceptor, store: SqliteStore) -> None:
    await acceptor.close()
    while WRITERS:
        writer, task = WRITERS.pop()
        await writer.close()
        await task
    await store.close()


class RecordingApplication:
    def __init__(self) -> None:
        self.logons: list[tuple[str, str]] = []
        self.messages: list[tuple[str, str, list]] = []
        self.logouts: list[str] = []

    def on_logon(self, session_id: str, account: str, dialect: object) -> None:
        self.logons.append((session_id, account))

    def on_message(self, session_id: str, msg_type: str, fields: list) -> None:
        self.messages.append((session_id, msg_type, fields))

    def on_logout(self, session_id: str) -> None:
        self.logouts.append(session_id)


async def start_gateway(
    store_path: Path, application: RecordingApplication
) -> tuple[FixAcceptor, SqliteStore, int]:
    store = SqliteStore(StoreSettings(sqlite_path=str(store_path)))
    await store.open()
    writer = GroupCommitWriter(store)
    WRITERS.append((writer, asyncio.create_task(writer.run())))
    config = SessionConfig(
        session_id="ALICE-GATEWAY",
        our_comp_id="GATEWAY",
        their_comp_id="ALICE",
        authenticate=make_authenticator(
            username="alice", password_hash=hash_password(PASSWORD), ed25519_public_key_pem=""
        ),
    )
    acceptor = FixAcceptor(
        sessions={("ALICE", "GATEWAY"): AcceptedSession(config, "alice")},
        store=store,
        persistence=writer,
        application=application,
        message_bytes_max=65536,
        receive_buffer_bytes_max=1 << 20,
    )
    port = await acceptor.listen("127.0.0.1", 0)
    return acceptor, store, port


def make_test_request(request_id: str):
    message = fix.Message()
    message.getHeader().setField(fix.MsgType(fix.MsgType_TestRequest))
    message.setField(fix.TestReqID(request_id))
    return message


def news(text: str):
    message = fix.Message()
    message.getHeader().setField(fix.MsgType("B"))
    message.setField(fix.Headline(text))
    return message


@pytest.mark.timeout(120)
async def test_quickfix_session_lifecycle(tmp_path: Path) -> None:
    application = RecordingApplication()
    acceptor, store, port = await start_gateway(tmp_path / "gateway.sqlite3", application)
    client = QuickFixClient(port, tmp_path / "quickfix", password=PASSWORD)
    client.start()
    try:
        await wait_for(lambda: client.application.logons == 1, what="QuickFIX logon")
        assert application.logons == [("ALICE-GATEWAY", "alice")]

        client.send(make_test_request("PING-1"))
        await wait_for(
            lambda: any("112=PING-1" in m for m in client.application.admin_in), what="heartbeat reply"
        )

        # Forced gap from the client: its sequence number jumps; we ask for a resend and it gap-fills
        # (a TestRequest is an admin message, so it is never resent: the gap fill covers it).
        session = client.session
        session.setNextSenderMsgSeqNum(session.getExpectedSenderNum() + 5)
        client.send(make_test_request("LOST-IN-GAP"))
        gateway_session = acceptor.connected["ALICE-GATEWAY"].session
        await wait_for(
            lambda: gateway_session.next_incoming_seq == session.getExpectedSenderNum(), what="gap closed"
        )
        client.send(make_test_request("PING-2"))
        await wait_for(
            lambda: any("112=PING-2" in m for m in client.application.admin_in), what="reply after gap"
        )

        # Forced gap the other way: the client expects an older number and asks us for a resend.
        expected = session.getExpectedTargetNum()
        session.setNextTargetMsgSeqNum(expected - 2)
        client.send(make_test_request("PING-3"))
        await wait_for(lambda: session.getExpectedTargetNum() > expected, what="our resend and gap fill")
        client.send(news("hello"))
        await wait_for(
            lambda: any("35=j" in m for m in client.application.admin_in + client.application.app_in),
            what="BusinessMessageReject for an unsupported type",
        )
        assert application.messages == []

        sent_before = session.getExpectedSenderNum()
        received_before = session.getExpectedTargetNum()
        client.stop()
        await wait_for(lambda: application.logouts == ["ALICE-GATEWAY"], what="logout")
    finally:
        client.stop()
        await stop_gateway(acceptor, store)

    # QuickFIX keeps sessions in a process-wide registry: the old initiator must be gone before a new one
    # registers the same session.
    del client
    gc.collect()

    # The gateway restarts on the same database; the client reconnects and both continue their sequences.
    application = RecordingApplication()
    acceptor, store, port = await start_gateway(tmp_path / "gateway.sqlite3", application)
    # Both logouts were persisted: the client's (sent_before) and our reply (received_before).
    assert await store.load_fix_session("ALICE-GATEWAY") == (sent_before + 1, received_before + 1)
    client = QuickFixClient(port, tmp_path / "quickfix", password=PASSWORD)
    client.start()
    try:
        await wait_for(lambda: client.application.logons == 1, what="logon after restart")
        # Nothing was reset: the client continued from its stored numbers, and so did we (our logon reply
        # is number received_before + 1; QuickFIX may ask for our logout reply again, which we gap-fill).
        gateway_session = acceptor.connected["ALICE-GATEWAY"].session
        await wait_for(
            lambda: client.session.getExpectedTargetNum() == received_before + 2, what="our sequence"
        )
        await wait_for(
            lambda: gateway_session.next_incoming_seq == client.session.getExpectedSenderNum(), what="in sync"
        )
        assert gateway_session.next_incoming_seq > sent_before + 1
    finally:
        client.stop()
        await stop_gateway(acceptor, store)


@pytest.mark.timeout(60)
async def test_a_wrong_password_is_logged_out(tmp_path: Path) -> None:
    application = RecordingApplication()
    acceptor, store, port = await start_gateway(tmp_path / "gateway.sqlite3", application)
    client = QuickFixClient(port, tmp_path / "quickfix", password="wrong")
    client.start()
    try:
        await wait_for(
            lambda: any("Invalid Password" in m for m in client.application.admin_in), what="logout text"
        )
        assert client.application.logons == 0 and application.logons == []
    finally:
        client.stop()
        await stop_gateway(acceptor, store)
