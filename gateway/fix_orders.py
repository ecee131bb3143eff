"""The FIX application: order entry, order status, mass cancel and market data over a logged-on session.

The session layer hands over each application message's body fields in order; this adapter turns them
into commands for the exchange and renders what the exchange reports back as FIX messages. Execution
reports reach a session through its account's report stream (after commit, in order); the direct
result of a command is used only for refusals the book never saw (OrderCancelReject, rejects before
routing). ``on_message`` never awaits, so one session's messages reach the router in arrival order; only
a request naming an order by a ClOrdID still in flight waits for that (see ``_wait_for``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import structlog

from book.reports import ExecutionKind, OrderReport
from book.types import CancelAllOrders, CancelOrder, RejectReason, ReplaceOrder
from config.money import ascii_digits
from config.settings import SymbolSettings
from gateway.book_task import Result
from gateway.exchange import Exchange
from gateway.market_data import MarketDataBroadcaster, MarketDataUpdate
from gateway.orders import OrderState
from session.fix.dialect import FixDialect
from session.fix.dictionary import CLIENT_ID, CLIENT_ID_PATTERN
from session.fix.market_data import (
    EntryType,
    MarketDataRequestProblem,
    incremental_fields,
    parse_market_data_request,
    reject_fields,
    security_list_fields,
    snapshot_fields,
)
from session.fix.order_entry import (
    ORD_STATUS,
    REJECT_CODES,
    SIDES,
    FieldProblem,
    execution_report_fields,
    new_order_command,
    replace_command,
)

log = structlog.get_logger("gateway.fix_orders")

CXL_REJ_TOO_LATE = "0"
CXL_REJ_UNKNOWN_ORDER = "1"
CXL_REJ_DUPLICATE_CLIENT_ORDER_ID = "6"
CXL_REJ_OTHER = "99"
RESPONSE_TO_CANCEL = "1"
RESPONSE_TO_REPLACE = "2"
MASS_BY_SYMBOL = "1"
MASS_ALL = "7"
BUSINESS_REJECT_UNSUPPORTED_TYPE = "3"
BUSINESS_REJECT_OTHER = "0"
EXEC_TYPE_ORDER_STATUS = "I"
INSUFFICIENT_BANDWIDTH = "2"  # MDReqRejReason (281) for a subscription past the session's bound
ILLEGAL_CLIENT_ORDER_ID = f"ClOrdID (11) must match {CLIENT_ID_PATTERN}"
# CxlRejReason (102) for a refusal of a cancel or replace of an open order; any other is 99.
_CXL_REJ_REASONS = {
    RejectReason.UNKNOWN_ORDER: CXL_REJ_UNKNOWN_ORDER,
    RejectReason.DUPLICATE_ORDER_ID: CXL_REJ_DUPLICATE_CLIENT_ORDER_ID,
}


class FixSender(Protocol):
    """The transport side: queue an application message on a session (never blocks)."""

    def send(self, session_id: str, msg_type: str, fields: list[tuple[int, str]]) -> bool:
        """Queue the message; False when the session is gone or its outbound queue is full."""
        ...

    def disconnect(self, session_id: str, reason: str) -> None: ...


class _Fields:
    """Body fields by tag (first occurrence), the read interface of ``session.fix.order_entry``.

    ``get`` is a dict's own, built in C from the last field to the first so each tag keeps its first
    value: a handler reads about eleven fields, each a Python call if ``get`` were a method.
    """

    __slots__ = ("get",)

    def __init__(self, fields: Sequence[tuple[int, str]]) -> None:
        self.get: Callable[[int], str | None] = dict(reversed(fields)).get


@dataclass(slots=True, eq=False)
class _ReportStream:
    """A session's subscription to its account's execution reports."""

    application: FixApplication
    session_id: str

    def offer_report(self, report: OrderReport, commit: asyncio.Future[None]) -> bool:
        # The frame is stored in ``commit`` by the sender and written only after it completes.
        return self.application.send_report(self.session_id, report)

    def disconnect(self, reason: str) -> None:
        self.application.sender.disconnect(self.session_id, reason)


@dataclass(slots=True, eq=False)
class _MarketDataStream:
    """One MarketDataRequest subscription of a session to one symbol.

    An update can leave nothing to send (only levels born and gone within it, or only sides or trades
    not subscribed to), so each X starts its update ids right after the last one sent (or the snapshot):
    a client checking that FirstBookUpdateID follows the previous LastBookUpdateID sees no false gap.
    """

    application: FixApplication
    session_id: str
    request_id: str
    symbol: SymbolSettings
    entry_types: frozenset[EntryType]
    dialect: FixDialect
    next_update_id: int = 0  # set from the snapshot sent with the subscription

    def offer(self, update: MarketDataUpdate) -> bool:
        body = incremental_fields(
            self.request_id,
            self.symbol,
            first_update_id=self.next_update_id,
            last_update_id=update.last_update_id,
            bids=update.bids,
            asks=update.asks,
            trades=update.trades,
            entry_types=self.entry_types,
            dialect=self.dialect,
        )
        if not body:
            return True
        self.next_update_id = update.last_update_id + 1
        return self.application.sender.send(self.session_id, "X", body)

    def disconnect(self, reason: str) -> None:
        self.application.sender.disconnect(self.session_id, reason)


@dataclass(slots=True)
class _SessionState:
    account_id: int
    reports: _ReportStream
    dialect: FixDialect
    market_data: dict[str, list[_MarketDataStream]] = field(default_factory=dict)
    order_window_s: int = 0  # the whole second the order count below belongs to
    orders_in_window: int = 0
    # ClOrdIDs of this session's orders, cancels and replaces not yet answered, with their results.
    in_flight: dict[str, asyncio.Future[Result]] = field(default_factory=dict)


class FixApplication:
    """Application-level FIX for every logged-on session."""

    def __init__(
        self,
        *,
        exchange: Exchange,
        broadcaster: MarketDataBroadcaster,
        symbols: Mapping[str, SymbolSettings],
        sender: FixSender,
        accounts: Mapping[str, int],
        depth_levels_max: int,
        subscriptions_max: int = 1024,
        orders_per_second_max: int = 5000,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        """``accounts`` maps account names (what FIX sessions are configured with) to account ids."""
        self.exchange = exchange
        self.accounts = accounts
        self.broadcaster = broadcaster
        self.symbols = symbols
        self.sender = sender
        self._depth_levels_max = depth_levels_max
        self._subscriptions_max = subscriptions_max
        self._orders_per_second_max = orders_per_second_max
        self._clock_ns = clock_ns
        self._sessions: dict[str, _SessionState] = {}
        self._pending: set[asyncio.Future] = set()
        # Execution ids must never repeat, also across restarts: start from the wall clock in ns.
        self._next_exec_id = clock_ns()
        self._handlers: dict[
            str, Callable[[str, _SessionState, _Fields, Sequence[tuple[int, str]]], None]
        ] = {
            "D": self._new_order,
            "F": self._cancel,
            "G": self._replace,
            "H": self._status,
            "q": self._mass_cancel,
            "AF": self._mass_status,
            "V": self._market_data_request,
            "x": self._security_list_request,
        }

    # Session lifecycle ------------------------------------------------------------------------------

    def on_logon(self, session_id: str, account: str, dialect: FixDialect = FixDialect.FIX44) -> None:
        account_id = self.accounts[account]
        stream = _ReportStream(self, session_id)
        self._sessions[session_id] = _SessionState(account_id=account_id, reports=stream, dialect=dialect)
        self.exchange.subscribe_account(account_id, stream)

    def on_logout(self, session_id: str) -> None:
        state = self._sessions.pop(session_id, None)
        if state is None:
            return
        self.exchange.unsubscribe_account(state.account_id, state.reports)
        for streams in state.market_data.values():
            for stream in streams:
                self.broadcaster.unsubscribe(stream.symbol.name, stream)

    def on_message(self, session_id: str, msg_type: str, fields: Sequence[tuple[int, str]]) -> None:
        """Handle one application message of a logged-on session; unsupported types get a 35=j."""
        if msg_type == "j":
            # Answering the peer's BusinessMessageReject with one of ours could bounce between us forever.
            log.info("fix business message reject received", session=session_id, text=dict(fields).get(58))
            return
        state = self._sessions.get(session_id)
        handler = self._handlers.get(msg_type)
        if state is None or handler is None:
            self._business_reject(
                session_id,
                msg_type,
                fields,
                BUSINESS_REJECT_UNSUPPORTED_TYPE,
                f"Unsupported message type {msg_type}",
            )
            return
        try:
            handler(session_id, state, _Fields(fields), fields)
        except Exception:
            # A fault of ours must not end the connection: the messages read with this one would be lost
            # although their sequence numbers are taken. The client learns this one was not processed.
            log.exception("fix message handling failed", session=session_id, msg_type=msg_type)
            self._business_reject(
                session_id,
                msg_type,
                fields,
                BUSINESS_REJECT_OTHER,
                "The gateway failed to process this message",
            )

    async def drain(self) -> None:
        """Wait for every command already routed to finish (graceful shutdown)."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    # Reports ----------------------------------------------------------------------------------------

    def send_report(
        self, session_id: str, report: OrderReport, extra: Sequence[tuple[int, str]] = ()
    ) -> bool:
        symbol = self.symbols.get(report.symbol)
        if symbol is None:
            return True
        state = self._sessions.get(session_id)
        dialect = state.dialect if state is not None else FixDialect.FIX44
        body = execution_report_fields(report, symbol, self._exec_id(), dialect=dialect)
        body.extend(extra)
        return self.sender.send(session_id, "8", body)

    def _exec_id(self) -> str:
        self._next_exec_id += 1
        return str(self._next_exec_id)

    def _spawn(self, work: asyncio.Future | Coroutine) -> None:
        """Track routed work (a result future or a coroutine run as a task) for ``drain``."""
        future = asyncio.ensure_future(work)
        self._pending.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: asyncio.Future) -> None:
        self._pending.discard(future)
        if not future.cancelled() and future.exception() is not None:
            log.error("fix command failed", error=repr(future.exception()))

    # Order entry ------------------------------------------------------------------------------------

    def _rate_limited(self, state: _SessionState) -> bool:
        """Count a new order or replace against the session's per-second bound; True past it."""
        second = self._clock_ns() // 1_000_000_000
        if second != state.order_window_s:
            state.order_window_s, state.orders_in_window = second, 0
        state.orders_in_window += 1
        return state.orders_in_window > self._orders_per_second_max

    def _new_order(self, session_id: str, state: _SessionState, fields: _Fields, raw: Sequence) -> None:
        client_order_id = fields.get(11) or ""
        if fields.get(97) == "Y" and (
            client_order_id in state.in_flight
            or self.exchange.find_order(state.account_id, client_order_id=client_order_id)
        ):
            # PossResend of an order already taken (FIX test case 19a): the original stands, and a
            # "Duplicate ClOrdID" reject would read as that live order rejected.
            log.info(
                "fix poss resend of a known order ignored", session=session_id, cl_ord_id=client_order_id
            )
            return
        if self._rate_limited(state):
            self._reject_new_order(session_id, state, fields, RejectReason.RATE_LIMITED, "")
            return
        if not CLIENT_ID.fullmatch(client_order_id):
            text = ILLEGAL_CLIENT_ORDER_ID
            self._reject_new_order(session_id, state, fields, RejectReason.INVALID_ORDER, text)
            return
        symbol = self.symbols.get(fields.get(55) or "")
        if symbol is None:
            self._reject_new_order(session_id, state, fields, RejectReason.UNKNOWN_SYMBOL, "")
            return
        command = new_order_command(
            fields,
            symbol,
            order_id=self.exchange.new_order_id(),
            account_id=state.account_id,
            ts_ns=self._clock_ns(),
        )
        if isinstance(command, FieldProblem):
            self._reject_new_order(session_id, state, fields, command.reason, command.text)
            return
        future = self.exchange.submit(
            symbol.name, command, client_order_id=client_order_id, origin=f"fix:{session_id}"
        )

        def answer(result: Result) -> None:
            if result.error is not None and not result.reports:
                self._reject_new_order(session_id, state, fields, result.error, "")

        self._track(state, client_order_id, future, answer)

    def _track(
        self,
        state: _SessionState,
        client_order_id: str,
        future: asyncio.Future[Result],
        callback: Callable[[Result], None],
    ) -> None:
        """Hold a routed request's result for ``drain`` and hand it to ``callback``; until then its ClOrdID
        is in flight (``_wait_for``). One done-callback does both: each one is a loop callback of its own
        (about 3,800 instructions an order)."""
        in_flight = state.in_flight
        if not future.done():
            in_flight[client_order_id] = future
        self._pending.add(future)

        def finish(done: asyncio.Future[Result]) -> None:
            self._pending.discard(done)
            if in_flight.get(client_order_id) is done:
                del in_flight[client_order_id]
            if not done.cancelled():
                callback(done.result())

        future.add_done_callback(finish)

    def _wait_for(
        self, session_id: str, state: _SessionState, msg_type: str, fields: _Fields, raw: Sequence
    ) -> bool:
        """Whether this request waits for the one that gave its order the ClOrdID it names (OrigClOrdID
        41, or a status request's ClOrdID 11): a NewOrderSingle, cancel or replace not yet answered. FIX
        lets a client send these before hearing back (Appendix D, sequencing), and until the book has
        taken the order or committed its new name, the name finds no order: the answer would be "unknown
        order" for a live one. Waiting also keeps one order's requests in the order sent. A cancel or
        replace that waits holds its own ClOrdID as in flight, for the next in a chain."""
        is_status = msg_type == "H"
        name = fields.get(11 if is_status else 41)
        waiting = state.in_flight.get(name) if name else None
        if waiting is None or waiting.done():
            return False
        own = None if is_status else fields.get(11)
        if own and own not in state.in_flight:
            state.in_flight[own] = waiting

        def again(done: asyncio.Future[Result]) -> None:
            if done.cancelled() or self._sessions.get(session_id) is not state:
                return
            if own and state.in_flight.get(own) is done:
                del state.in_flight[own]
            self.on_message(session_id, msg_type, raw)

        waiting.add_done_callback(again)
        return True

    def _reject_new_order(
        self,
        session_id: str,
        state: _SessionState,
        fields: _Fields,
        reason: RejectReason,
        text: str,
        exec_type: str = "8",
    ) -> None:
        """An ExecutionReport (rejected) for an order that never reached a book, or (ExecType I) the
        answer to an OrderStatusRequest for an order that does not exist."""
        side = SIDES.get(fields.get(54) or "")
        code, reason_text = REJECT_CODES[reason]
        body = [
            (37, "NONE"),
            (11, fields.get(11) or "NONE"),
            (17, self._exec_id()),
            (150, exec_type),
            (39, "8"),
            (55, fields.get(55) or "NONE"),
            (54, fields.get(54) if side is not None else "1"),
            (151, "0"),
            (14, "0"),
            (6, "0"),
            (103, code),
            (58, text or reason_text),
        ]
        if exec_type == EXEC_TYPE_ORDER_STATUS and fields.get(790):
            body.append((790, fields.get(790)))
        self.sender.send(session_id, "8", body)

    def _find(self, state: _SessionState, fields: _Fields) -> OrderState | None:
        """The order named by OrderID (37) or OrigClOrdID (41); naming both, they must name one order
        (Binance's rule), or the request is for an unknown order."""
        order_id = fields.get(37)
        original = fields.get(41)
        find = self.exchange.find_order
        if order_id and ascii_digits(order_id):
            order = find(state.account_id, order_id=int(order_id))
            if (
                order is not None
                and original
                and original != order.client_order_id
                and find(state.account_id, client_order_id=original) is not order
            ):
                return None
            return order
        return find(state.account_id, client_order_id=original) if original else None

    @staticmethod
    def _mismatch(order: OrderState, fields: _Fields) -> str:
        """Why the request's Symbol (55) or Side (54) is not the order's, or "": neither can change."""
        if fields.get(55) != order.symbol:
            return f"Symbol (55) {fields.get(55)} is not the order's {order.symbol}"
        if SIDES.get(fields.get(54) or "") is not order.side:
            return f"Side (54) {fields.get(54)} is not the order's side"
        return ""

    def _cancel(self, session_id: str, state: _SessionState, fields: _Fields, raw: Sequence) -> None:
        if self._wait_for(session_id, state, "F", fields, raw):
            return
        order = self._find(state, fields)
        if not CLIENT_ID.fullmatch(fields.get(11) or ""):
            reason, text = RejectReason.INVALID_ORDER, ILLEGAL_CLIENT_ORDER_ID
            self._cancel_reject(session_id, fields, order, RESPONSE_TO_CANCEL, reason, text)
            return
        if order is None or not order.is_open:
            self._cancel_reject(session_id, fields, order, RESPONSE_TO_CANCEL, RejectReason.UNKNOWN_ORDER)
            return
        if mismatch := self._mismatch(order, fields):
            self._cancel_reject(
                session_id, fields, order, RESPONSE_TO_CANCEL, RejectReason.INVALID_ORDER, mismatch
            )
            return
        command = CancelOrder(order_id=order.order_id, account_id=state.account_id, ts_ns=self._clock_ns())
        self._route_amend(session_id, state, fields, order, command, RESPONSE_TO_CANCEL)

    def _replace(self, session_id: str, state: _SessionState, fields: _Fields, raw: Sequence) -> None:
        if self._wait_for(session_id, state, "G", fields, raw):
            return
        order = self._find(state, fields)
        if self._rate_limited(state):
            self._cancel_reject(session_id, fields, order, RESPONSE_TO_REPLACE, RejectReason.RATE_LIMITED)
            return
        if not CLIENT_ID.fullmatch(fields.get(11) or ""):
            reason, text = RejectReason.INVALID_ORDER, ILLEGAL_CLIENT_ORDER_ID
            self._cancel_reject(session_id, fields, order, RESPONSE_TO_REPLACE, reason, text)
            return
        if order is None or not order.is_open:
            self._cancel_reject(session_id, fields, order, RESPONSE_TO_REPLACE, RejectReason.UNKNOWN_ORDER)
            return
        if mismatch := self._mismatch(order, fields):
            self._cancel_reject(
                session_id, fields, order, RESPONSE_TO_REPLACE, RejectReason.INVALID_ORDER, mismatch
            )
            return
        command = replace_command(
            fields,
            self.symbols[order.symbol],
            order_id=order.order_id,
            account_id=state.account_id,
            order_type=order.order_type,
            time_in_force=order.time_in_force,
            ts_ns=self._clock_ns(),
        )
        if isinstance(command, FieldProblem):
            self._cancel_reject(session_id, fields, order, RESPONSE_TO_REPLACE, command.reason, command.text)
            return
        self._route_amend(session_id, state, fields, order, command, RESPONSE_TO_REPLACE)

    def _route_amend(
        self,
        session_id: str,
        state: _SessionState,
        fields: _Fields,
        order: OrderState,
        command: CancelOrder | ReplaceOrder,
        response_to: str,
    ) -> None:
        client_order_id = fields.get(11) or ""
        future = self.exchange.submit(
            order.symbol, command, client_order_id=client_order_id, origin=f"fix:{session_id}"
        )

        def answer(result: Result) -> None:
            if result.error is not None:
                self._cancel_reject(session_id, fields, order, response_to, result.error)

        self._track(state, client_order_id, future, answer)

    def _cancel_reject(
        self,
        session_id: str,
        fields: _Fields,
        order: OrderState | None,
        response_to: str,
        reason: RejectReason,
        text: str = "",
    ) -> None:
        """OrderCancelReject (35=9): the order, if any, is unchanged."""
        if order is None:
            status, code = "8", CXL_REJ_UNKNOWN_ORDER
        elif not order.is_open:
            status, code = ORD_STATUS[order.status], CXL_REJ_TOO_LATE
            text = text or f"Too late: the order is already {order.status.value.lower().replace('_', ' ')}"
        else:
            status = ORD_STATUS[order.status]
            code = _CXL_REJ_REASONS.get(reason, CXL_REJ_OTHER)
        body = [
            (37, str(order.order_id) if order is not None else "NONE"),
            (11, fields.get(11) or "NONE"),
            (41, fields.get(41) or (order.client_order_id if order is not None else "NONE") or "NONE"),
            (39, status),
            (434, response_to),
            (102, code),
            (58, text or REJECT_CODES[reason][1]),
        ]
        self.sender.send(session_id, "9", body)

    def _status(self, session_id: str, state: _SessionState, fields: _Fields, raw: Sequence) -> None:
        if self._wait_for(session_id, state, "H", fields, raw):
            return
        order = self._find(state, fields) or (
            self.exchange.find_order(state.account_id, client_order_id=fields.get(11))
            if fields.get(11)
            else None
        )
        if order is None:
            self._reject_new_order(
                session_id, state, fields, RejectReason.UNKNOWN_ORDER, "Unknown order", EXEC_TYPE_ORDER_STATUS
            )
            return
        report = order.report(ExecutionKind.STATUS, self._clock_ns())
        extra = [(790, fields.get(790))] if fields.get(790) else []
        self.send_report(session_id, report, extra)

    # Mass requests ----------------------------------------------------------------------------------

    def _mass_symbols(self, fields: _Fields, request_type: str | None) -> list[str] | None:
        if request_type == MASS_ALL:
            return list(self.symbols)
        if request_type == MASS_BY_SYMBOL and fields.get(55) in self.symbols:
            return [fields.get(55)]
        return None

    @staticmethod
    def _symbol_named(fields: _Fields) -> list[tuple[int, str]]:
        """The request's Symbol (55) for its OrderMassCancelReport (Binance requires it there)."""
        symbol = fields.get(55)
        return [(55, symbol)] if symbol else []

    def _mass_cancel(self, session_id: str, state: _SessionState, fields: _Fields, raw: Sequence) -> None:
        request_type = fields.get(530)
        symbols = self._mass_symbols(fields, request_type)
        if symbols is None:
            body = [
                (11, fields.get(11) or "NONE"),
                (37, "NONE"),
                *self._symbol_named(fields),
                (530, request_type or "0"),
                (531, "0"),
                # MassCancelRejectReason: 1 an unknown security, 0 a type FIX defines that is not supported.
                (532, "1" if request_type == MASS_BY_SYMBOL else "0"),
                (58, "MassCancelRequestType (530) must be 1 with a known Symbol (55), or 7"),
            ]
            self.sender.send(session_id, "r", body)
            return
        self._spawn(self._route_mass_cancel(session_id, state, fields, symbols, request_type))

    async def _route_mass_cancel(
        self, session_id: str, state: _SessionState, fields: _Fields, symbols: list[str], request_type: str
    ) -> None:
        affected = 0
        for symbol in symbols:
            command = CancelAllOrders(account_id=state.account_id, ts_ns=self._clock_ns())
            result = await self.exchange.execute(symbol, command, origin=f"fix:{session_id}")
            affected += sum(1 for report in result.reports if report.execution is ExecutionKind.CANCELED)
        body = [
            (11, fields.get(11) or "NONE"),
            (37, "NONE"),
            *self._symbol_named(fields),
            (530, request_type),
            (531, request_type),
            (533, str(affected)),
        ]
        self.sender.send(session_id, "r", body)

    def _mass_status(self, session_id: str, state: _SessionState, fields: _Fields, raw: Sequence) -> None:
        request_id = fields.get(584) or ""
        symbols = self._mass_symbols(fields, fields.get(585))
        orders = (
            []
            if symbols is None
            else [
                order for symbol in symbols for order in self.exchange.open_orders(state.account_id, symbol)
            ]
        )
        if not orders:
            body = [
                (37, "NONE"),
                (11, "NONE"),
                (17, self._exec_id()),
                (150, "I"),
                (39, "8"),
                (55, fields.get(55) or "NONE"),
                (54, "1"),
                (151, "0"),
                (14, "0"),
                (6, "0"),
                (584, request_id),
                (911, "0"),
                (912, "Y"),
                (58, "No open orders" if symbols is not None else "MassStatusReqType (585) must be 1 or 7"),
            ]
            self.sender.send(session_id, "8", body)
            return
        now_ns = self._clock_ns()
        for index, order in enumerate(orders):
            extra = [
                (584, request_id),
                (911, str(len(orders))),
                (912, "Y" if index == len(orders) - 1 else "N"),
            ]
            self.send_report(session_id, order.report(ExecutionKind.STATUS, now_ns), extra)

    # Market data ------------------------------------------------------------------------------------

    def _market_data_request(
        self, session_id: str, state: _SessionState, fields: _Fields, raw: Sequence
    ) -> None:
        request = parse_market_data_request(
            list(raw), depth_levels_max=self._depth_levels_max, known_symbols=self.symbols
        )
        if isinstance(request, MarketDataRequestProblem):
            self.sender.send(session_id, "Y", reject_fields(request))
            return
        if request.unsubscribe:
            streams = state.market_data.pop(request.request_id, None)
            if streams is None:
                problem = MarketDataRequestProblem(request.request_id, None, "Unknown MDReqID (262)")
                self.sender.send(session_id, "Y", reject_fields(problem))
            for stream in streams or []:
                self.broadcaster.unsubscribe(stream.symbol.name, stream)
            return
        if request.subscribe and request.request_id in state.market_data:
            problem = MarketDataRequestProblem(request.request_id, "1", "Duplicate MDReqID (262)")
            self.sender.send(session_id, "Y", reject_fields(problem))
            return
        subscribed = sum(len(streams) for streams in state.market_data.values())
        if request.subscribe and subscribed + len(request.symbols) > self._subscriptions_max:
            text = f"A session may follow at most {self._subscriptions_max} symbol subscriptions"
            problem = MarketDataRequestProblem(request.request_id, INSUFFICIENT_BANDWIDTH, text)
            self.sender.send(session_id, "Y", reject_fields(problem))
            return
        streams = []
        for name in request.symbols:
            symbol = self.symbols[name]
            if request.subscribe:
                stream = _MarketDataStream(
                    self, session_id, request.request_id, symbol, request.entry_types, state.dialect
                )
                self.broadcaster.subscribe(name, stream)
                streams.append(stream)
            snapshot = self.broadcaster.snapshot(name, request.depth_levels or self._depth_levels_max)
            if request.subscribe:
                stream.next_update_id = snapshot.last_update_id + 1
            trades = (
                self.broadcaster.recent_trades(name, 100) if EntryType.TRADE in request.entry_types else []
            )
            body = snapshot_fields(
                request.request_id,
                symbol,
                last_update_id=snapshot.last_update_id,
                bids=snapshot.bids,
                asks=snapshot.asks,
                trades=trades,
                entry_types=request.entry_types,
                dialect=state.dialect,
            )
            self.sender.send(session_id, "W", body)
        if streams:
            state.market_data[request.request_id] = streams

    def _security_list_request(
        self, session_id: str, state: _SessionState, fields: _Fields, raw: Sequence
    ) -> None:
        request_id = fields.get(320) or ""
        wanted = fields.get(55)
        symbols = [s for name, s in self.symbols.items() if wanted in (None, name)]
        self.sender.send(session_id, "y", security_list_fields(request_id, str(self._exec_id()), symbols))

    def _business_reject(
        self, session_id: str, msg_type: str, fields: Sequence[tuple[int, str]], code: str, text: str
    ) -> None:
        reference = next((value for tag, value in fields if tag in (11, 262, 320, 584)), "")
        body = [(372, msg_type), (380, code), (58, text)]
        if reference:
            body.insert(0, (379, reference))
        self.sender.send(session_id, "j", body)
