"""The process: recover from the store, start the book tasks, the writer and every listener; stop cleanly.

``GatewayServer.start`` returns once every listener accepts; ``stop`` stops accepting, logs FIX sessions
out, lets the books drain, commits what is left with a checkpoint and closes the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import ssl
import sys
import time
from dataclasses import dataclass

import structlog

from book.trade_stats import Candle
from book.types import PriceLevelChanged, SelfTradePrevention, Side
from config.errors import GatewayError
from config.settings import Settings
from gateway import collector
from gateway.admin_commands import AdminCommands
from gateway.admin_endpoint import AdminEndpoint
from gateway.admin_token import ensure_admin_token
from gateway.book_task import BookTask
from gateway.exchange import Exchange
from gateway.fix_orders import FixApplication
from gateway.fix_sessions import accepted_session, fix_session_settings
from gateway.fix_transport import AcceptedSession, FixAcceptor
from gateway.http_endpoint import start_http_endpoint
from gateway.logging_setup import configure_logging
from gateway.loop_lag import watch_loop_lag
from gateway.market_data import MarketDataBroadcaster
from gateway.metrics import Metrics
from gateway.recovery import order_record, order_state, restore_book, restore_ledger, trade_event
from gateway.ws_api import ApiKeyDirectory, WsApi
from gateway.ws_streams import TICKER_WINDOW_S, MarketStreams
from ledger.ledger import Ledger
from ledger.postgres_store import PostgresStore
from ledger.sqlite_store import SqliteStore
from ledger.store import BookNumbering, CheckpointChanges, Store, trade_second
from ledger.verify import open_order_problems
from ledger.writer import GroupCommitWriter

log = structlog.get_logger("gateway.server")
BOOK_BATCH_MAX = 256
DRAIN_TIMEOUT_S = 10.0
MINUTE_NS = 60 * 10**9
EXIT_COMMIT_FAILED = 1
EXIT_START_FAILED = 3  # 2 is a configuration error (gateway.cli)
HOUR_MS = 3_600_000


def open_store(settings: Settings) -> Store:
    if settings.store.backend == "postgres":
        return PostgresStore(settings.store, schema=settings.store.postgres_schema)
    return SqliteStore(settings.store)


@dataclass
class Ports:
    """Where the listeners ended up (port 0 in the settings means any free port)."""

    fix: int = 0
    fix_tls: int = 0
    websocket: int = 0
    admin: int = 0
    metrics: int = 0


class GatewayServer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.ports = Ports()
        self.fatal = asyncio.Event()
        self.fatal_error: BaseException | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stp_defaults: dict[int, SelfTradePrevention] = {}

    # Start ------------------------------------------------------------------------------------------

    async def start(self) -> None:
        settings = self.settings
        self.store = open_store(settings)
        await self.store.open()
        state = await self.store.load()
        self.accounts = dict(state.accounts)
        self.writer = GroupCommitWriter(
            self.store,
            checkpoint=self._checkpoint,
            checkpoint_rows_pending=lambda: self.ledger.checkpoint_rows_pending(),
            checkpoint_rows_max=settings.limits.checkpoint_rows_max,
            observe_commit_s=self.metrics.commit_latency_s.observe,
            order_record_of=order_record,
            fix_messages_retained_max=settings.limits.fix_messages_retained_max,
        )
        self.ledger: Ledger = restore_ledger(state, settings.fees, self.writer.journal)
        self._tasks.append(asyncio.create_task(self.writer.run(), name="writer"))
        await self._create_demo_accounts()
        self.broadcaster = MarketDataBroadcaster(
            settings.symbols, on_slow_consumer=self.metrics.slow_consumers.inc
        )
        for name in settings.symbols:
            stored = await self.store.latest_trades(name, self.broadcaster.recent_trades_max)
            self.broadcaster.restore_trades(name, [trade_event(entry) for entry in stored])
        books = {}
        for name, symbol in settings.symbols.items():
            book, orders = restore_book(symbol, state, self._stp_defaults)
            task = BookTask(
                symbol=symbol,
                book=book,
                funds=self.ledger,
                record_order=self.writer.record_order,
                record_amendment=self.writer.record_amendment,
                record_prevented_match=self.writer.record_prevented_match,
                queue_max=settings.limits.book_queue_max,
                open_orders_per_account_max=settings.limits.open_orders_per_account_max,
                default_stp=lambda account_id: self._stp_defaults.get(account_id, SelfTradePrevention.NONE),
                closed_orders_retained_max=settings.limits.closed_orders_retained_max,
                forget_order=lambda state: self.exchange.forget(state),
            )
            task.orders.update(orders)
            retained_max = settings.limits.closed_orders_retained_max
            if retained_max:
                closed = await self.store.closed_orders(name, retained_max)
                task.retain_closed([order_state(record) for record in closed])
            for order in orders.values():
                counts = task.open_orders_per_account
                counts[order.account_id] = counts.get(order.account_id, 0) + 1
            books[name] = task
            self._seed_market_data(name, book)
        problems = open_order_problems(self.ledger, state.open_orders, settings.symbols)
        if problems:
            await self.writer.close()
            await self._tasks.pop()
            await self.store.close()
            raise GatewayError("ledger invariants broken at start: " + "; ".join(problems[:5]))
        self.exchange = Exchange(
            books=books,
            broadcaster=self.broadcaster,
            metrics=self.metrics,
            next_order_id=state.next_order_id,
            on_fatal=self._on_fatal,
        )
        for name, task in books.items():
            self._tasks.append(asyncio.create_task(self._run_book(name, task), name=f"book-{name}"))
            self.metrics.queue_depth.read(name, task.queue.qsize)
        await self._start_fix(settings)
        self.metrics.sessions.labels("fix").set_function(lambda: len(self.fix.connected))
        self.metrics.subscribers.set_function(self.broadcaster.subscriber_count)
        self.api_keys = ApiKeyDirectory(await self.store.api_keys())
        self.streams = MarketStreams(settings=settings, broadcaster=self.broadcaster)
        # The window starts on a minute, so the klines restored from its seconds have whole minutes.
        now_ns = time.time_ns()
        since_ns = (now_ns - TICKER_WINDOW_S * 10**9) // MINUTE_NS * MINUTE_NS
        await self.streams.seed_klines(self._stored_hours, since_ns // 10**6, now_ns // 10**6)
        before_window = []
        for name in settings.symbols:
            trade = await self.store.last_trade_before(name, since_ns)
            if trade is not None:
                before_window.append(trade_second(trade))
        # The trade before the window leaves it at once: the 24 h ticker's previous close (x).
        self.streams.restore(before_window + await self.store.trade_seconds(since_ns))
        self.streams.start()
        self.ws_api = WsApi(
            settings=settings,
            exchange=self.exchange,
            ledger=self.ledger,
            broadcaster=self.broadcaster,
            keys=self.api_keys,
            streams=self.streams,
            store=self.store,
        )
        self.ws_server = await self.ws_api.serve(settings.server.host, settings.server.websocket_port)
        self.ports.websocket = next(iter(self.ws_server.sockets)).getsockname()[1]
        self.metrics.sessions.labels("websocket").set_function(lambda: self.ws_api.api_connections_open)
        token = ensure_admin_token(settings.server.admin_token_path)
        self.admin_commands = AdminCommands(self)
        self.admin = AdminEndpoint(
            handlers=self.admin_commands.handlers(),
            token=token,
            host="127.0.0.1",
            port=settings.server.admin_port,
        )
        await self.admin.start()
        self.ports.admin = self.admin.port
        self.http = await start_http_endpoint(
            settings.server.host, settings.server.metrics_port, self.metrics, self._health
        )
        self.ports.metrics = next(iter(self.http.sockets)).getsockname()[1]
        collector.settle_after_start()
        self._tasks.append(
            asyncio.create_task(watch_loop_lag(self.metrics.loop_lag_s.observe), name="loop-lag")
        )
        self._tasks.append(
            asyncio.create_task(
                collector.collect_fully_every(settings.server.gc_full_collection_interval_s),
                name="garbage-collector",
            )
        )
        log.info(
            "gateway started",
            fix_port=self.ports.fix,
            admin_port=self.ports.admin,
            store=settings.store.backend,
        )

    async def _create_demo_accounts(self) -> None:
        for demo in self.settings.demo_accounts:
            if demo.name not in self.accounts:
                self.accounts[demo.name] = await self.store.create_account(demo.name, time.time_ns())
            for asset, amount in demo.deposits_minor.items():
                self.ledger.deposit(f"demo-{demo.name}-{asset}", self.accounts[demo.name], asset, amount)
        await self.writer.commit_point()

    def _seed_market_data(self, symbol: str, book) -> None:
        """Give the broadcaster every recovered level: it keeps the whole book, and a snapshot's
        deeper levels come into view as the top ones go."""
        depth = book.depth(sys.maxsize)
        levels = [PriceLevelChanged(0, Side.BUY, price, quantity, 1) for price, quantity in depth.bids]
        levels += [PriceLevelChanged(0, Side.SELL, price, quantity, 1) for price, quantity in depth.asks]
        if levels:
            self.broadcaster.publish(symbol, levels, time.time_ns())

    async def _start_fix(self, settings: Settings) -> None:
        sessions: dict[tuple[str, str], AcceptedSession] = {}
        for fix_session in settings.fix_sessions:
            if fix_session.account not in self.accounts:
                raise GatewayError(f"fix_sessions: account {fix_session.account!r} does not exist")
            sessions[(fix_session.sender_comp_id, fix_session.target_comp_id)] = accepted_session(fix_session)
        names = {account_id: name for name, account_id in self.accounts.items()}
        for record in await self.store.fix_session_settings():
            key = (record.sender_comp_id, record.target_comp_id)
            if key in sessions:
                log.warning(
                    "stored FIX session shadowed by the config", sender_comp_id=key[0], target_comp_id=key[1]
                )
                continue
            sessions[key] = accepted_session(fix_session_settings(record, names[record.account_id]))
        self.fix_application = FixApplication(
            exchange=self.exchange,
            broadcaster=self.broadcaster,
            symbols=settings.symbols,
            sender=None,  # set below: the acceptor and the application refer to each other
            accounts=self.accounts,
            depth_levels_max=settings.limits.depth_levels_max,
            subscriptions_max=settings.limits.subscriptions_per_connection_max,
            orders_per_second_max=settings.limits.orders_per_second_per_session_max,
        )
        self.fix = FixAcceptor(
            sessions=sessions,
            store=self.store,
            persistence=self.writer,
            application=self.fix_application,
            message_bytes_max=settings.limits.max_message_bytes,
            receive_buffer_bytes_max=settings.limits.receive_buffer_bytes_max,
            connections_per_address_max=settings.limits.connections_per_address_max,
        )
        self.fix_application.sender = self.fix
        server = settings.server
        self.ports.fix = await self.fix.listen(server.host, server.fix_port)
        if server.tls_certificate_path:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(server.tls_certificate_path, server.tls_private_key_path)
            self.ports.fix_tls = await self.fix.listen(server.host, server.fix_tls_port, tls=context)

    # Running ----------------------------------------------------------------------------------------

    async def _run_book(self, name: str, task: BookTask) -> None:
        book = task.book
        halted = book.halted

        def commit_point() -> asyncio.Future[None]:
            """Record the turn's numbering, and the book's status if a command changed it (so a halt
            commits with the turn whose market data announces it)."""
            nonlocal halted
            self.writer.record_numbering(BookNumbering(name, book.sequence, book.next_trade_id))
            if book.halted is not halted:
                halted = book.halted
                self.writer.record_symbol_halted(name, halted)
            self.writer.record_next_order_id(self.exchange.peek_next_order_id())
            return self.writer.commit_point()

        await task.run(
            batch_max=BOOK_BATCH_MAX,
            commit_point=commit_point,
            prepare=self.exchange.prepare,
            release=lambda output, commit: self.exchange.release(name, output, commit),
        )

    def _checkpoint(self) -> CheckpointChanges:
        return CheckpointChanges(*self.ledger.checkpoint_changes())

    async def _stored_hours(self, symbol: str, since_ms: int, until_ms: int) -> list[Candle]:
        """The store's trades of ``symbol`` in ``[since_ms, until_ms)`` by the hour."""
        return await self.store.trade_candles(symbol, HOUR_MS, 0, since_ms * 10**6, until_ms * 10**6)

    def _on_fatal(self, error: BaseException) -> None:
        self.fatal_error = error
        self.fatal.set()

    def _health(self) -> dict[str, bool]:
        return {
            "writer": not self.fatal.is_set(),
            "books": all(not task.done() for task in self._tasks),
        }

    # Stop -------------------------------------------------------------------------------------------

    async def abort(self) -> None:
        """Close whatever is open, committing nothing more: after a start that failed part way or a
        commit that failed. An open store's connection threads would keep the process from exiting."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for name in ("fix", "admin", "streams"):
            part = getattr(self, name, None)
            if part is not None:
                with contextlib.suppress(Exception):
                    await part.close()
        for name in ("ws_server", "http"):
            listener = getattr(self, name, None)
            if listener is not None:
                listener.close()
        store = getattr(self, "store", None)
        if store is not None:
            with contextlib.suppress(Exception):
                await store.close()

    async def stop(self) -> None:
        """Graceful shutdown: stop accepting, log FIX sessions out, drain the books, commit, close."""
        log.info("gateway stopping")
        await self.fix.logout_all("Gateway shutting down")
        await self.fix.close()
        await self.admin.close()
        self.http.close()
        self.ws_api.announce_shutdown()
        self.ws_server.close()
        await self.streams.close()
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        while (
            any(task.queue.qsize() for task in self.exchange.books.values()) and time.monotonic() < deadline
        ):
            await asyncio.sleep(0.01)
        await self.fix_application.drain()
        for task in self._tasks[1:]:
            task.cancel()
        await asyncio.gather(*self._tasks[1:], return_exceptions=True)
        await self.writer.close()
        await self._tasks[0]
        await self.store.close()
        log.info("gateway stopped")


async def serve(settings: Settings) -> int:
    """Run until SIGTERM or SIGINT (exit 0) or a fatal commit failure (exit 1); exit 3 if it cannot
    start (a port in use, a store it cannot read), having closed what it opened."""
    configure_logging(settings.server.log_format, settings.server.log_level)
    server = GatewayServer(settings)
    try:
        await server.start()
    except Exception as error:
        log.critical("gateway failed to start", error=repr(error))
        print(f"gateway: could not start: {error}", file=sys.stderr, flush=True)
        await server.abort()
        return EXIT_START_FAILED
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signal_number, stop.set)
    print(connection_help(settings, server.ports), flush=True)
    stop_waiter = asyncio.create_task(stop.wait())
    fatal_waiter = asyncio.create_task(server.fatal.wait())
    await asyncio.wait({stop_waiter, fatal_waiter}, return_when=asyncio.FIRST_COMPLETED)
    stop_waiter.cancel()
    fatal_waiter.cancel()
    if server.fatal.is_set():
        log.critical("stopping after a failed commit", error=repr(server.fatal_error))
        await server.abort()
        return EXIT_COMMIT_FAILED
    await server.stop()
    return 0


def connection_help(settings: Settings, ports: Ports) -> str:
    host = settings.server.host
    lines = [f"gateway ready ({settings.store.backend} store)"]
    lines.append(f"  FIX 4.4      tcp://{host}:{ports.fix}")
    for fix_session in settings.fix_sessions:
        lines.append(
            f"    SenderCompID={fix_session.sender_comp_id} TargetCompID={fix_session.target_comp_id} "
            f"(account {fix_session.account})"
        )
    if ports.fix_tls:
        lines.append(f"  FIX over TLS tls://{host}:{ports.fix_tls}")
    lines.append(
        f"  WebSocket API ws://{host}:{ports.websocket}/ws-api/v3  (keys: gateway-admin api-keys create)"
    )
    lines.append(
        f"  streams      ws://{host}:{ports.websocket}/ws/btcusdt@trade  "
        "(and /stream?streams=btcusdt@depth@100ms/btcusdt@ticker)"
    )
    lines.append(f"  metrics      http://{host}:{ports.metrics}/metrics  (health: /healthz)")
    lines.append(
        f"  admin        .venv/bin/gateway-admin --config <config> accounts list  (port {ports.admin})"
    )
    return "\n".join(lines)
