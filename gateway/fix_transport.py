"""The FIX acceptor's asyncio side: it moves bytes, drives timers and persists before it sends.

Each connection gets a parser and, once its first message names a configured session, a sans-I/O
``FixSession`` continued from the store's sequence numbers. Output is collected and flushed once per
loop turn: the frames and sequence numbers go into the group commit first (one transaction for all
sessions and the ledger), then the bytes to the socket.
A second connection for a session that is already logged on is dropped; the first one survives.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Protocol, cast

import structlog

from config.money import ascii_digits
from gateway.connection_limits import ConnectionsPerAddress
from session.fix.codec import FixMessage, FixParser, FrameTooLarge, Garbled
from session.fix.dialect import FixDialect
from session.fix.dictionary import HEADER_TAGS, TRAILER_TAGS
from session.fix.session import (
    ApplicationMessage,
    Disconnect,
    FixSession,
    LoggedOn,
    ResendNeeded,
    SessionConfig,
    SessionEvent,
    State,
)

log = structlog.get_logger("gateway.fix")
TIMER_INTERVAL_S = 1.0
LOGON_TIMEOUT_S = 10.0
# A ResendRequest is served this many stored frames at a time, each piece written before the next is read:
# resending 30,000 ExecutionReports at once stalled the loop 419 ms, in pieces of 200 at most 6 ms.
RESEND_CHUNK_MESSAGES = 200
# Header and trailer fields are the session's, but for PossResend (97): whether a resent message was
# already seen is the application's to judge, by the message's own id (FIX test cases 19a/19b).
_ENVELOPE_TAGS = (frozenset(HEADER_TAGS) | frozenset(TRAILER_TAGS)) - {97}


class FixSessionStore(Protocol):
    async def load_fix_session(self, session_id: str) -> tuple[int, int] | None: ...

    async def reset_fix_session(self, session_id: str, reset_ns: int = 0) -> None: ...

    async def fix_session_last_reset_ns(self, session_id: str) -> int: ...

    async def fetch_sent_messages(
        self, session_id: str, begin_seq: int, end_seq: int
    ) -> list[tuple[int, bytes]]: ...


class FixPersistence(Protocol):
    """The group-commit writer: FIX frames and sequence numbers ride the same transactions as the ledger."""

    def record_fix_session(
        self, session_id: str, next_incoming_seq: int, next_outgoing_seq: int, sent: list[tuple[int, bytes]]
    ) -> None: ...

    def discard_fix_session(self, session_id: str) -> None: ...

    def commit_point(self) -> asyncio.Future[None]: ...


class FixApplicationPort(Protocol):
    def on_logon(self, session_id: str, account: str, dialect: FixDialect) -> None: ...

    def on_message(self, session_id: str, msg_type: str, fields: list[tuple[int, str]]) -> None: ...

    def on_logout(self, session_id: str) -> None: ...


@dataclass(frozen=True, slots=True)
class AcceptedSession:
    """A configured session: its rules, the account it trades for, and its daily reset (``HH:MM`` UTC)."""

    config: SessionConfig
    account: str
    daily_reset_utc: str = ""
    dialect: FixDialect = FixDialect.FIX44

    def __post_init__(self) -> None:
        if self.daily_reset_utc:
            last_reset_instant_s(0.0, self.daily_reset_utc)


def last_reset_instant_s(now_s: float, daily_reset_utc: str) -> float:
    """The latest ``HH:MM`` UTC at or before ``now_s``: sequence numbers start over after it."""
    hours_text, _, minutes_text = daily_reset_utc.partition(":")
    if not (
        ascii_digits(hours_text)
        and ascii_digits(minutes_text)
        and int(hours_text) < 24
        and int(minutes_text) < 60
    ):
        raise ValueError(f"daily_reset_utc {daily_reset_utc!r} must be HH:MM")
    offset_s = int(hours_text) * 3600 + int(minutes_text) * 60
    day_start = now_s // 86400 * 86400
    instant = day_start + offset_s
    return instant if instant <= now_s else instant - 86400


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection and, after logon, its session.

    A protocol, not a stream reader: bytes are parsed and acted on in ``data_received``, in the turn
    they arrive, and output is flushed by a callback once per loop turn. A stream reader and a task per
    connection cost two task wake-ups, an event and a lock for every read (1.3% of the instructions
    of an order that arrives alone). What must wait (the logon's store reads and credential check, a
    sequence reset, a resend from the store) runs as one step task at a time, with reading paused
    and later frames held until it ends, so messages are still handled strictly in order.
    """

    def __init__(self, acceptor: FixAcceptor) -> None:
        self.acceptor = acceptor
        self.transport: asyncio.Transport | None = None
        self.peer: object = None
        self.address = ""
        self.admitted = False
        self.parser = FixParser(
            message_bytes_max=acceptor.message_bytes_max, buffer_bytes_max=acceptor.receive_buffer_bytes_max
        )
        # Parsed, waiting for a step to end: at most a read's worth, as reading is paused during a step.
        self.received: deque[FixMessage | Garbled] = deque()
        self.step: asyncio.Task[None] | None = None
        self.session: FixSession | None = None
        self.session_id = ""
        self.account = ""
        self.dialect = FixDialect.FIX44
        self.daily_reset_utc = ""
        self.reset_instant_s = 0.0
        self.connected_s = 0.0
        self.timer: asyncio.TimerHandle | None = None
        self.flush_scheduled = False
        self.closing = False
        self.logged_on = False
        self.commit: asyncio.Future[None] | None = None  # the commit holding the latest recorded state
        self.writable: asyncio.Future[None] | None = None  # set while the transport's buffer is full
        # The loop, kept: each asyncio.get_running_loop() costs a getpid system call on CPython 3.11.
        self.loop = asyncio.get_running_loop()
        self.closed: asyncio.Future[None] = self.loop.create_future()

    # Protocol ---------------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's TLS transport is no subclass
        self.peer = transport.get_extra_info("peername")
        self.address = str(self.peer[0]) if isinstance(self.peer, tuple) else ""
        acceptor = self.acceptor
        if not acceptor.connections_per_address.admit(self.address):
            log.info("fix connection refused: too many from this address", peer=str(self.peer))
            self.closing = True
            transport.close()
            return
        self.admitted = True
        acceptor.open.add(self)
        self.connected_s = acceptor.clock()
        self.timer = self.loop.call_later(TIMER_INTERVAL_S, acceptor.tick, self)

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        try:
            self.received.extend(self.parser.feed(data))
        except FrameTooLarge as error:
            log.info("fix connection ended", peer=str(self.peer), session=self.session_id, error=repr(error))
            self.end()
            return
        if self.step is None:
            self.handle_received()

    def eof_received(self) -> bool:
        """Act on what came before the end, then close once it is committed and written; a TLS
        transport closes itself here whatever this returns."""
        self.end()
        return self.transport is not None and self.transport.get_extra_info("sslcontext") is None

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        if self.timer is not None:
            self.timer.cancel()
        if self.writable is not None and not self.writable.done():
            self.writable.set_result(None)
        acceptor = self.acceptor
        if acceptor.connected.get(self.session_id) is self:
            del acceptor.connected[self.session_id]
            if self.logged_on:
                acceptor.application.on_logout(self.session_id)
        if self.admitted:
            acceptor.connections_per_address.release(self.address)
        acceptor.open.discard(self)
        if not self.closed.done():
            self.closed.set_result(None)

    def pause_writing(self) -> None:
        self.writable = self.loop.create_future()

    def resume_writing(self) -> None:
        if self.writable is not None and not self.writable.done():
            self.writable.set_result(None)

    # Reading ----------------------------------------------------------------------------------------

    def handle_received(self) -> None:
        """Hand the parsed messages to the session in order, then flush; a logon first binds the session."""
        received = self.received
        now = self.acceptor.clock()
        while received and not self.closing:
            item = received.popleft()
            if isinstance(item, Garbled):
                log.warning("garbled fix frame ignored", session=self.session_id, reason=item.reason)
                continue
            session = self.session
            if session is None:
                self.start_step(self.identify(item, now))
                return
            session.receive(item, now)
            if session.state is State.CLOSED:
                received.clear()
                break
        self.flush()

    async def identify(self, logon: FixMessage, now_s: float) -> None:
        if not await self.acceptor.identify(self, logon):
            self.received.clear()
            self.closing = True
            assert self.transport is not None
            self.transport.close()
            return
        assert self.session is not None
        self.session.receive(logon, now_s)

    def start_step(self, step: Coroutine[object, object, None]) -> None:
        assert self.transport is not None and self.step is None
        self.transport.pause_reading()
        self.step = self.loop.create_task(self.run_step(step))

    async def run_step(self, step: Coroutine[object, object, None]) -> None:
        try:
            await step
        except ConnectionError as error:
            log.info("fix connection ended", peer=str(self.peer), session=self.session_id, error=repr(error))
            self.end()
        except Exception:
            log.exception("fix connection failed", peer=str(self.peer), session=self.session_id)
            self.end()
        finally:
            self.step = None
        assert self.transport is not None
        if not self.transport.is_closing():
            self.transport.resume_reading()
        self.handle_received()

    # Writing ----------------------------------------------------------------------------------------

    def queue_flush(self) -> None:
        """Flush once at the next loop turn, however many sends and timers asked for it in this one."""
        if not self.flush_scheduled:
            self.flush_scheduled = True
            self.loop.call_soon(self.scheduled_flush)

    def scheduled_flush(self) -> None:
        self.flush_scheduled = False
        self.flush()

    def record(self) -> None:
        """Record the session's changed state and frames in the writer's open batch (persist before send).

        Called as soon as a frame is queued, so an ExecutionReport joins the very commit that makes its
        order durable: one commit per acknowledgement, not one for the order and one for the report.
        Only frames to send ask for a commit point; changed sequence numbers alone ride the next one.
        """
        session = self.session
        if session is None or session.stored_messages_obsolete:
            return
        persist = session.take_persist()
        if persist is not None:
            self.acceptor.persistence.record_fix_session(self.session_id, *persist)
            if persist[2]:
                self.commit = self.acceptor.persistence.commit_point()

    def flush(self) -> None:
        """Record, act on what the session reported, and have what was recorded written once committed.

        Received application messages go to the application before their sequence number is durable:
        whatever they cause is committed with it or after it (one writer, commits in order), so a crash
        loses both or neither. The write waits on the commit in a callback, so messages that arrive
        meanwhile are not held behind it; writes stay in order since commits complete in order.
        A sequence reset or a resend makes the rest of the flush a step; a running step flushes at its end.
        """
        session = self.session
        if session is None or self.step is not None:
            return
        events = session.events_received()
        if session.stored_messages_obsolete or any(type(event) is ResendNeeded for event in events):
            self.start_step(self.flush_in_steps(events))
            return
        self.record()
        for event in events:
            self.on_event(event)
        self.write_recorded()

    async def flush_in_steps(self, events: list[SessionEvent]) -> None:
        session = self.session
        assert session is not None
        if session.stored_messages_obsolete:
            await self.acceptor.reset_stored_session(self.session_id)
            session.stored_messages_obsolete = False
        self.record()
        for event in events:
            if isinstance(event, ResendNeeded):
                await self.resend(event.begin_seq, event.end_seq)
            else:
                self.on_event(event)
        self.write_recorded()

    def write_recorded(self) -> None:
        session = self.session
        assert session is not None
        self.record()
        data, commit = session.data_to_send(), self.commit
        if data:
            if commit is None:
                self.write(data)
            else:
                commit.add_done_callback(lambda done: self.write_committed(done, data))
        if self.closing:
            self.close_when_written()

    def write_committed(self, commit: asyncio.Future[None], data: bytes) -> None:
        if not commit.cancelled() and commit.exception() is None:
            self.write(data)

    def write(self, data: bytes) -> None:
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.write(data)

    def end(self) -> None:
        """Stop taking input; flush what was taken, and close once that is committed and written (a
        running step does both when it ends)."""
        self.closing = True
        self.received.clear()
        if self.step is not None:
            return
        if self.session is None:
            self.close_when_written()
        else:
            self.flush()

    def close_when_written(self) -> None:
        """Close after the latest commit: its writes were attached to it (or to earlier ones) first."""
        transport = self.transport
        assert transport is not None
        commit = self.commit
        if commit is None or commit.done():
            self.loop.call_soon(transport.close)
        else:
            commit.add_done_callback(lambda _: transport.close())

    async def settle(self) -> None:
        """Wait until everything recorded is committed, so its pending writes have been made."""
        if self.commit is not None:
            with contextlib.suppress(Exception):
                await self.commit

    async def resend(self, begin_seq: int, end_seq: int) -> None:
        """Serve a ResendRequest in pieces, so a request for a whole long session neither holds all its
        frames in memory nor keeps the loop from other clients; the last piece goes out with the flush."""
        session = self.session
        assert session is not None
        # The store reads only committed frames: one still in the writer's batch would come back
        # missing and be gap-filled over, so a client that asked again for a fill would never get it.
        await self.settle()
        for chunk_begin in range(begin_seq, end_seq + 1, RESEND_CHUNK_MESSAGES):
            if self.transport is None or self.transport.is_closing():
                return
            chunk_end = min(end_seq, chunk_begin + RESEND_CHUNK_MESSAGES - 1)
            stored = await self.acceptor.store.fetch_sent_messages(self.session_id, chunk_begin, chunk_end)
            session.resend(chunk_begin, chunk_end, stored, self.acceptor.clock())
            if chunk_end < end_seq:
                await self.write_queued(session)

    async def write_queued(self, session: FixSession) -> None:
        """Write what the session has queued once all it recorded is committed, behind earlier writes,
        and wait until the transport can take more."""
        self.record()
        while (commit := self.commit) is not None and not commit.done():
            await self.settle()
        if commit is not None and (commit.cancelled() or commit.exception() is not None):
            return
        data = session.data_to_send()
        if data:
            self.write(data)
        if self.writable is not None:
            await self.writable

    def on_event(self, event: SessionEvent) -> None:
        if isinstance(event, LoggedOn):
            self.logged_on = True
            self.acceptor.application.on_logon(self.session_id, self.account, self.dialect)
            log.info("fix logon", session=self.session_id, reset=event.reset_sequence_numbers)
        elif isinstance(event, ApplicationMessage):
            message = event.message
            body = [(tag, value) for tag, value in message.fields if tag not in _ENVELOPE_TAGS]
            self.acceptor.application.on_message(self.session_id, message.msg_type, body)
        elif isinstance(event, Disconnect):
            log.info("fix disconnect", session=self.session_id, reason=event.reason)
            self.closing = True
            self.received.clear()


class FixAcceptor:
    """Accepts FIX sessions on one or more listeners; the ``FixSender`` of the FIX application."""

    def __init__(
        self,
        *,
        sessions: dict[tuple[str, str], AcceptedSession],  # an operator may add to it while running
        store: FixSessionStore,
        persistence: FixPersistence,
        application: FixApplicationPort,
        message_bytes_max: int,
        receive_buffer_bytes_max: int,
        outbound_buffer_bytes_max: int = 4 * 1024 * 1024,
        connections_per_address_max: int = 50,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.sessions = sessions
        self.store = store
        self.persistence = persistence
        self.application = application
        self.clock = clock
        self.connected: dict[str, _Connection] = {}
        self.open: set[_Connection] = set()
        self.message_bytes_max = message_bytes_max
        self.receive_buffer_bytes_max = receive_buffer_bytes_max
        self.connections_per_address = ConnectionsPerAddress(connections_per_address_max)
        self._outbound_buffer_bytes_max = outbound_buffer_bytes_max
        self._servers: list[asyncio.Server] = []

    async def listen(self, host: str, port: int, *, tls: ssl.SSLContext | None = None) -> int:
        """Start a listener; return its port (useful when ``port`` is 0)."""
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _Connection(self), host, port, ssl=tls)
        self._servers.append(server)
        return server.sockets[0].getsockname()[1]

    async def reset_stored_session(self, session_id: str, reset_ns: int = 0) -> None:
        """Start the stored session over at 1/1, after dropping what the writer has not yet committed of
        the numbering that ends here (``discard_fix_session``): committed after the reset, it would land
        on the new numbering."""
        self.persistence.discard_fix_session(session_id)
        await self.store.reset_fix_session(session_id, reset_ns)

    # FixSender --------------------------------------------------------------------------------------

    def send(self, session_id: str, msg_type: str, fields: list[tuple[int, str]]) -> bool:
        connection = self.connected.get(session_id)
        if connection is None or connection.session is None or connection.transport is None:
            return False
        if connection.transport.get_write_buffer_size() > self._outbound_buffer_bytes_max:
            self.disconnect(session_id, "slow consumer: outbound buffer full")
            return False
        if not connection.session.send_application(msg_type, fields, self.clock()):
            return False
        connection.record()
        connection.queue_flush()
        return True

    def disconnect(self, session_id: str, reason: str) -> None:
        connection = self.connected.get(session_id)
        if connection is not None and connection.session is not None:
            connection.session.logout(reason, self.clock())
            connection.queue_flush()

    async def logout_all(self, text: str, timeout_s: float = 5.0) -> None:
        """Log every session out and wait (bounded) for the connections to end: graceful shutdown."""
        for connection in list(self.connected.values()):
            if connection.session is not None:
                connection.session.logout(text, self.clock())
                connection.queue_flush()
        if self.open:
            await asyncio.wait([connection.closed for connection in self.open], timeout=timeout_s)

    async def close(self, timeout_s: float = 5.0) -> None:
        """Stop listening and end every connection, each after what it took is committed and written;
        one still open after ``timeout_s`` is aborted."""
        for server in self._servers:
            server.close()
        for connection in list(self.open):
            connection.end()
        if self.open:
            await asyncio.wait([connection.closed for connection in self.open], timeout=timeout_s)
        for connection in list(self.open):
            if connection.transport is not None:
                connection.transport.abort()
        for server in self._servers:
            await server.wait_closed()

    # Connections ------------------------------------------------------------------------------------

    def tick(self, connection: _Connection) -> None:
        """Once a second: session timers (heartbeats, test requests, logout timeout), logon timeout, reset."""
        if connection.closing:
            return
        now = self.clock()
        session = connection.session
        if session is None:
            # The timeout is for a peer that sends no Logon: one whose Logon is being checked (the step,
            # slow when many log on at once) waits for the check, which answers it either way.
            if connection.step is None and now - connection.connected_s > LOGON_TIMEOUT_S:
                log.info("no logon in time", peer=str(connection.peer))
                connection.end()
                return
        else:
            session.on_timer(now)
            if self._reset_due(connection, now):
                session.logout("Daily session reset", now)
            connection.queue_flush()
        connection.timer = connection.loop.call_later(TIMER_INTERVAL_S, self.tick, connection)

    @staticmethod
    def _reset_due(connection: _Connection, now_s: float) -> bool:
        """A logged-on session crossed its daily reset time: it is logged out and starts over next logon."""
        if not connection.daily_reset_utc or connection.session is None:
            return False
        if connection.session.state is not State.ACTIVE:
            return False
        return last_reset_instant_s(now_s, connection.daily_reset_utc) > connection.reset_instant_s

    @staticmethod
    async def _config_with_logon_checked(config: SessionConfig, logon: FixMessage) -> SessionConfig:
        """Check the Logon's credentials on a worker thread: a scrypt password check holds its thread
        for about 32 ms, which on the loop would stall every session with each logon attempt. The
        session then gets this outcome for this Logon (and the real check for any other)."""
        check = config.authenticate
        outcome = await asyncio.get_running_loop().run_in_executor(None, check, logon)
        return replace(config, authenticate=lambda message: outcome if message is logon else check(message))

    async def identify(self, connection: _Connection, message: FixMessage) -> bool:
        """Bind the connection to the session its first message names (a Logon), or refuse it."""
        key = (message.get(49) or "", message.get(56) or "")
        accepted = self.sessions.get(key)
        if message.msg_type != "A" or accepted is None:
            log.warning(
                "connection refused: first message is not a logon of a configured session", comp_ids=key
            )
            return False
        session_id = accepted.config.session_id
        if session_id in self.connected:
            log.warning("second connection for a connected session dropped", session=session_id)
            return False
        self.connected[session_id] = connection
        connection.session_id = session_id
        if accepted.daily_reset_utc:
            due_s = last_reset_instant_s(self.clock(), accepted.daily_reset_utc)
            if await self.store.fix_session_last_reset_ns(session_id) < int(due_s * 1e9):
                await self.reset_stored_session(session_id, int(due_s * 1e9))
                log.info("daily session reset", session=session_id)
            connection.daily_reset_utc = accepted.daily_reset_utc
            connection.reset_instant_s = due_s
        stored = await self.store.load_fix_session(session_id)
        next_in, next_out = stored if stored is not None else (1, 1)
        config = await self._config_with_logon_checked(accepted.config, message)
        connection.session = FixSession(
            config, next_incoming_seq=next_in, next_outgoing_seq=next_out, now_s=self.clock()
        )
        connection.account = accepted.account
        connection.dialect = accepted.dialect
        return True
