"""The Binance-compatible WebSocket API at ``/ws-api/v3`` (and, on the same port, the market streams).

Each connection reads requests in order and starts each one at once (so its command reaches the router
in arrival order); answers go out through one bounded queue per connection as they complete. A client
whose queue fills is disconnected, never waited for. The protocol rules (envelope, parameters,
signatures, rate limits, response shapes) live in ``session.binance``; this module runs them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import itertools
import secrets
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import structlog
from websockets.asyncio.server import Server, ServerConnection, serve

from book.reports import ExecutionKind, OrderReport
from book.types import CancelAllOrders, CancelOrder, Command, OrderStatus, ReplaceOrder
from config.money import format_minor
from config.settings import LimitSettings, Settings, SymbolSettings
from gateway.address_bans import AddressBans
from gateway.book_task import Result
from gateway.connection_limits import ConnectionAttempts, ConnectionsPerAddress
from gateway.exchange import Exchange
from gateway.market_data import MarketDataBroadcaster
from gateway.orders import OrderState
from gateway.recovery import order_state
from gateway.ws_connection import GatewayConnection
from gateway.ws_market_history import HISTORY_LIMIT_DEFAULT, HISTORY_LIMIT_MAX, MarketHistory, mini_ticker
from gateway.ws_outbox import Outbox
from gateway.ws_streams import (
    AVERAGE_PRICE_WINDOW_S,
    CONNECTION_LIFETIME_S,
    GOING_AWAY,
    MarketStreams,
)
from ledger.ledger import Ledger
from ledger.store import ApiKeyRecord, HistoryQuery, PreventedMatchQuery, Store
from session.binance import envelope
from session.binance.auth import ApiKey, Permission, SignedRequestChecker
from session.binance.errors import (
    AMEND_NO_CHANGE,
    AMEND_QUANTITY_INCREASE,
    AMEND_UNKNOWN_ORDER,
    BAD_PARAMETER_COMBINATION,
    CANCEL_REPLACE_FAILED,
    CANCEL_REPLACE_PARTIAL,
    CLIENT_ORDER_ID_INVALID,
    DUPLICATE_SYMBOLS,
    INVALID_CANCEL_RESTRICTIONS,
    INVALID_SYMBOL,
    INVALID_SYMBOL_STATUS,
    NO_SUCH_ORDER,
    NOT_LOGGED_ON,
    SESSION_KEY_REVOKED,
    SUBSCRIPTION_ACTIVE,
    SUBSCRIPTION_INACTIVE,
    SYMBOL_STATUS_MISMATCH,
    TIME_RANGE_TOO_LONG,
    UNKNOWN_METHOD,
    UNKNOWN_ORDER_CANCEL,
    ApiError,
    ApiFailure,
    amend_error,
    bad_parameter,
    cancel_error,
    invalid_parameter,
    ip_banned,
    new_order_error,
    one_of_two_missing,
)
from session.binance.market import (
    average_price,
    depth,
    exchange_info,
    recent_trades,
    symbol_info,
    ticker_24hr,
    ticker_book,
    ticker_price,
    trading_status,
)
from session.binance.orders import (
    PlaceOrder,
    account_trade,
    amend_result,
    cancel_result,
    execution_report,
    order_amendment,
    order_fields,
    place_order,
    place_result,
    prevented_match,
)
from session.binance.rate_limits import RateCounter, RateLimit
from session.binance.requests import RETURN_RATE_LIMITS, TIME_MS_MAX, ApiRequest, Params, parse_request
from session.binance.signing import KeyType, Verifier
from session.binance.streams import TIME_UNITS
from session.binance.time_unit import event_in_microseconds, result_in_microseconds

log = structlog.get_logger("gateway.ws_api")
API_PATH = "/ws-api/v3"
TIME_UNIT = "timeUnit"
# Binance's -1194, refused at the handshake: every answer on the connection would be in the wrong unit.
INVALID_TIME_UNIT_BODY = (
    '{"code":-1194,"msg":"Invalid value for time unit; expected either MICROSECOND or MILLISECOND."}\n'
)
SIGNED_PARAMETERS = ("apiKey", "signature", "timestamp", "recvWindow")
# Binance pings every 20 s and disconnects a connection whose pong has not come within a minute.
PING_INTERVAL_S = 20.0
PONG_TIMEOUT_S = 60.0
SYMBOL_STATUSES = ("TRADING", "HALT", "BREAK")
INTERNAL_ERROR = ApiError(500, -1000, "An unknown error occurred while processing the request.")
HMAC_NOT_SUPPORTED = ApiError(400, -4056, "HMAC_SHA256 API key is not supported.")
# A client past a limit gets 429s; one that keeps going to this multiple of the weight limit has its
# address banned (418, see ``AddressBans``) and is disconnected.
BAN_AT_LIMIT_MULTIPLE = 2
IP_BANNED = 418
# Subscription ids a connection may use over its lifetime (0 to 65,534), as Binance allows.
SUBSCRIPTION_IDS_MAX = 65_535
CONNECT_WEIGHT = 2
SUBSCRIPTION_IDS_USED = ApiError(400, -2042, "Maximum subscription ID reached for this connection.")


ORDER_LIMIT_MODES = ("DO_NOTHING", "CANCEL_ONLY")
CANCEL_RESTRICTIONS = {"ONLY_NEW": OrderStatus.NEW, "ONLY_PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED}


def _cancel_restriction(params: Params) -> OrderStatus | None:
    """The status a cancel is restricted to (``cancelRestrictions``), or None."""
    value = params.text("cancelRestrictions")
    if value is None:
        return None
    if value not in CANCEL_RESTRICTIONS:
        raise ApiFailure(INVALID_CANCEL_RESTRICTIONS)
    return CANCEL_RESTRICTIONS[value]


def _too_many(error: ApiError, counter: RateCounter, now_ms: float) -> ApiFailure:
    """A 429 with when the client may retry, as Binance sends it."""
    return ApiFailure(error, data={"serverTime": int(now_ms), "retryAfter": counter.window_end_ms})


class ApiKeyDirectory:
    """The registered API keys, each with the verifier of its key type; updated by the admin commands."""

    def __init__(self, records: Iterable[ApiKeyRecord]) -> None:
        self._keys: dict[str, ApiKey] = {}
        # The dict's own get (the dict is only ever changed in place): every signed request looks a key up.
        self.lookup: Callable[[str], ApiKey | None] = self._keys.get
        self._revoke_listeners: list[Callable[[str], None]] = []
        for record in records:
            self.add(record)

    def on_revoke(self, listener: Callable[[str], None]) -> None:
        """Call ``listener`` with each key revoked from now on (what was granted with it ends)."""
        self._revoke_listeners.append(listener)

    def add(self, record: ApiKeyRecord) -> None:
        if record.revoked:
            return
        key_type = KeyType(record.key_type)
        verifier = Verifier(key_type, secret=record.secret, public_key_pem=record.public_key_pem)
        permissions = frozenset(Permission(name) for name in record.permissions.split(",") if name)
        self._keys[record.api_key] = ApiKey(record.api_key, record.account_id, verifier, permissions)

    def revoke(self, api_key: str) -> None:
        self._keys.pop(api_key, None)
        for listener in self._revoke_listeners:
            listener(api_key)


def _weight(method: _Method, request: ApiRequest) -> int:
    return method.weight if type(method.weight) is int else method.weight(request.params)


def _depth_weight(params: Mapping[str, Any]) -> int:
    """Binance's weight of a depth request by its limit (a bad limit is refused later, at weight 5)."""
    try:
        limit = int(params.get("limit", 100))
    except (TypeError, ValueError):
        return 5
    return next((weight for bound, weight in ((100, 5), (500, 25), (1000, 50)) if limit <= bound), 250)


def _ticker_price_weight(params: Mapping[str, Any]) -> int:
    return 2 if "symbol" in params else 4


def _ticker_24hr_weight(params: Mapping[str, Any]) -> int:
    """2 for up to 20 symbols, 40 for up to 100, 80 for more or for all of them."""
    if "symbol" in params:
        return 2
    listed = params.get("symbols")
    count = len(listed) if isinstance(listed, list) else 101
    return 2 if count <= 20 else 40 if count <= 100 else 80


def _per_symbol_weight(params: Mapping[str, Any]) -> int:
    """4 per symbol, at most 200."""
    listed = params.get("symbols")
    return min(4 * len(listed), 200) if isinstance(listed, list) else 4


def _open_orders_weight(params: Mapping[str, Any]) -> int:
    return 6 if params.get("symbol") not in (None, "") else 80


HISTORY_WINDOW_MS = 24 * 3600 * 1000  # the longest startTime..endTime of allOrders and myTrades


def _my_trades_weight(params: Mapping[str, Any]) -> int:
    return 5 if params.get("orderId") not in (None, "") else 20


def _prevented_matches_weight(params: Mapping[str, Any], symbols: Mapping[str, Any]) -> int:
    """Binance's: 2 by preventedMatchId or for a symbol that is not one, else 20 (by orderId)."""
    symbol = params.get("symbol")
    by_order_id = params.get("preventedMatchId") in (None, "")
    return 20 if by_order_id and isinstance(symbol, str) and symbol in symbols else 2


def _order_test_weight(params: Mapping[str, Any]) -> int:
    return 20 if params.get("computeCommissionRates") in (True, "true", "TRUE") else 1


def _commission_rate(bps: int) -> str:
    """Basis points as Binance's fraction with 8 decimals (10 -> "0.00100000")."""
    return format_minor(bps * 10_000, 8)


NO_COMMISSION = _commission_rate(0)
# We have no BNB discount; the block is there because Binance's answers always carry it.
NO_DISCOUNT = {
    "enabledForAccount": False,
    "enabledForSymbol": False,
    "discountAsset": "BNB",
    "discount": NO_COMMISSION,
}


@dataclass(eq=False)
class _UserDataSubscription:
    """Pushes a subscribed account's executionReport and outboundAccountPosition events.

    It lasts until unsubscribed, the connection closes, the key it was granted with is revoked, or (when
    started by ``userDataStream.subscribe``) the session logs out; it then sends eventStreamTerminated
    and nothing after it, not even events of turns that were committing as it ended.
    """

    connection: _ApiConnection
    subscription_id: int
    account_id: int
    api_key: str
    by_logon: bool
    active: bool = True

    def offer_report(self, report: OrderReport, commit: asyncio.Future[None]) -> bool:
        """Render now (balances as of this turn), push once ``commit`` has made the change durable.

        A refused placement is no event (its answer carries the error), but for the new order of a
        cancelReplace whose cancel went through, as Binance's stream shows it."""
        if self.connection.closing or not self.active:
            return False
        api = self.connection.api
        if report.execution is ExecutionKind.REJECTED and report.order_id not in api.rejections_reported:
            return True
        subscription_id = self.subscription_id
        execution, position = api.report_events(report).encoded(self.connection.microseconds)
        messages = (
            envelope.event_encoded(subscription_id, execution),
            envelope.event_encoded(subscription_id, position),
        )
        commit.add_done_callback(lambda done: self._push_committed(done, messages))
        return True

    def _push_committed(self, commit: asyncio.Future[None], messages: tuple[bytes, ...]) -> None:
        if self.active and not commit.cancelled() and commit.exception() is None:
            for message in messages:
                self.connection.push(message)

    def terminate(self) -> None:
        self.active = False
        terminated = {"e": "eventStreamTerminated", "E": int(time.time() * 1000)}
        if self.connection.microseconds:
            terminated = event_in_microseconds(terminated)
        self.connection.push(envelope.event(self.subscription_id, terminated))

    def disconnect(self, reason: str) -> None:
        self.connection.close(reason)


@dataclass(slots=True)
class _ReportEvents:
    """One report's executionReport and outboundAccountPosition, rendered once for every subscription
    of its account (the exchange offers the report to each in turn) and encoded once per time unit."""

    report: OrderReport
    ledger_sequence: int  # the balances' moment: a later change of the ledger renders anew
    events: tuple[dict[str, Any], dict[str, Any]]
    by_time_unit: dict[bool, tuple[bytes, bytes]] = field(default_factory=dict)

    def encoded(self, microseconds: bool) -> tuple[bytes, bytes]:
        encoded = self.by_time_unit.get(microseconds)
        if encoded is None:
            events = [event_in_microseconds(event) for event in self.events] if microseconds else self.events
            encoded = self.by_time_unit[microseconds] = (
                envelope.payload(events[0]),
                envelope.payload(events[1]),
            )
        return encoded


@dataclass(eq=False)
class _ApiConnection:
    api: WsApi
    websocket: ServerConnection
    outbox: Outbox
    weight: RateCounter  # shared by the connections from one address
    connected_ms: int
    address: str = ""
    return_rate_limits: bool = True
    microseconds: bool = False  # timeUnit=MICROSECOND: every time it is sent in us
    session_key: ApiKey | None = None
    authorized_ms: int = 0
    last_api_key: str | None = None
    subscriptions: dict[int, _UserDataSubscription] = field(default_factory=dict)
    subscription_ids: Iterator[int] = field(default_factory=lambda: iter(range(SUBSCRIPTION_IDS_MAX)))
    closing: bool = False
    answers_not_started: int = 0  # requests whose task has yet to take its first step

    def push(self, message: bytes) -> bool:
        """Queue a JSON message; False (and the connection closes) when the client has fallen behind."""
        if self.closing:
            return False
        if not self.outbox.put_json(message):
            self.closing = True
            return False
        return True

    def close(self, reason: str) -> None:
        self.closing = True
        self.outbox.close(reason)

    def close_after_queued(self, reason: str) -> None:
        """Close once what is queued has been written (the outbox flushes on the next loop turn)."""
        self.closing = True
        asyncio.get_running_loop().call_soon(self.outbox.close, reason)


Handler = Callable[[_ApiConnection, ApiRequest, Params], Awaitable[Any]]
# A method that only submits to a book: its submission's future and how to answer from its result.
Submitter = Callable[
    [_ApiConnection, ApiRequest, Params], tuple[asyncio.Future[Result], Callable[[Result], Any]]
]


@dataclass(slots=True)
class _Answering:
    """A request being answered: what its answer's envelope needs."""

    connection: _ApiConnection
    now_ms: float
    wants_limits: bool
    request_id: Any = None
    request: ApiRequest | None = None
    method: _Method | None = None


@dataclass(frozen=True, slots=True)
class _Method:
    handler: Handler | None  # None for a method that ``submits``
    weight: int | Callable[[Mapping[str, Any]], int]  # a fixed weight, or one from the request's params
    places_orders: bool = False  # its answers report the key's ORDERS count
    permission: Permission | None = None
    # Binance charges its weight only when the request fails (CHANGELOG 2026-03-27: trading methods).
    free_if_successful: bool = False
    # Answered without a task of its own where it can be: see ``WsApi._begin_answer``.
    submits: Submitter | None = None


async def _submitted(
    submits: Submitter, connection: _ApiConnection, request: ApiRequest, params: Params
) -> Any:
    """A submitting method run as a handler, in a task, behind requests whose tasks have yet to start."""
    submitted, answer_from = submits(connection, request, params)
    return answer_from(await submitted)


def _placement_answer(placed: PlaceOrder, symbol: SymbolSettings, result: Result) -> dict:
    """``order.place``'s answer from what its submission did, or the refusal to raise."""
    order_id = placed.command.order_id
    reports = [report for report in result.reports if report.order_id == order_id]
    by_quote = placed.command.quote_quantity_minor is not None
    if result.error is not None and not reports:
        raise ApiFailure(new_order_error(result.error, by_quote=by_quote))
    if reports and reports[0].execution is ExecutionKind.REJECTED:
        raise ApiFailure(new_order_error(reports[0].reject_reason, by_quote=by_quote))
    return place_result(reports, symbol, placed.response_type, result.prevented_matches)


def _cancel_answer(order_id: int, symbol: SymbolSettings, cancel_id: str, result: Result) -> dict:
    """``order.cancel``'s answer from what its submission did, or the refusal to raise."""
    if result.error is not None:
        raise ApiFailure(cancel_error(result.error))
    report = next(r for r in result.reports if r.order_id == order_id)
    return cancel_result(report, symbol, cancel_id)


def _params_only(handler: Callable[[Params], Awaitable[Any]]) -> Handler:
    """A handler that needs neither the connection nor the request, only their parameters."""
    return lambda connection, request, params: handler(params)


# The API and the combined streams (Binance's documents name /stream/ as well); raw streams are /ws/<name>.
_SERVED_PATHS = frozenset((API_PATH, "/stream", "/stream/", "/ws"))


class WsApi:
    """Serves ``/ws-api/v3`` for the exchange."""

    def __init__(
        self,
        *,
        settings: Settings,
        exchange: Exchange,
        ledger: Ledger,
        broadcaster: MarketDataBroadcaster,
        keys: ApiKeyDirectory,
        streams: MarketStreams,
        store: Store,
    ) -> None:
        self.settings = settings
        self.store = store
        self.streams = streams
        self.symbols: Mapping[str, SymbolSettings] = settings.symbols
        self.exchange = exchange
        self.ledger = ledger
        self.broadcaster = broadcaster
        self.keys = keys
        self.checker = SignedRequestChecker(keys.lookup)
        self.limits: LimitSettings = settings.limits
        self.weight_limit = RateLimit(
            "REQUEST_WEIGHT", "MINUTE", 1, self.limits.request_weight_per_minute_max
        )
        self.orders_limit = RateLimit("ORDERS", "SECOND", 10, self.limits.orders_per_10s_per_key_max)
        self._orders_by_key: dict[str, RateCounter] = {}
        self._connections = ConnectionsPerAddress(self.limits.connections_per_address_max)
        self._attempts = ConnectionAttempts(self.limits.connection_attempts_per_5_minutes_max, 300)
        self._weight_by_address: dict[str, RateCounter] = {}
        self._bans = AddressBans()
        self._api_connections: set[_ApiConnection] = set()
        self.connection_lifetime_s: float = CONNECTION_LIFETIME_S
        self.execution_ids = itertools.count(time.time_ns())
        self._report_events: _ReportEvents | None = None
        # New orders of cancelReplaces whose cancel went through: their refusal is a user data event.
        self.rejections_reported: set[int] = set()
        self._subscriptions_by_key: dict[str, set[_UserDataSubscription]] = {}
        keys.on_revoke(self._end_subscriptions_of)
        history = MarketHistory(store, symbol_of=self._symbol, ticker_symbols_of=self._ticker_symbols)
        self._methods: dict[str, _Method] = {
            "ping": _Method(self._ping, 1),
            "time": _Method(self._time, 1),
            "exchangeInfo": _Method(self._exchange_info, 20),
            "depth": _Method(self._depth, _depth_weight),
            "trades.recent": _Method(self._trades_recent, 25),
            "trades.historical": _Method(_params_only(history.stored_trades), 25),
            "trades.aggregate": _Method(_params_only(history.aggregate_trades), 4),
            "ticker.price": _Method(self._ticker_price, _ticker_price_weight),
            "ticker.book": _Method(self._ticker_book, _ticker_price_weight),
            "ticker.24hr": _Method(self._ticker_24hr, _ticker_24hr_weight),
            "ticker.tradingDay": _Method(_params_only(history.trading_day_tickers), _per_symbol_weight),
            "ticker": _Method(_params_only(history.window_tickers), _per_symbol_weight),
            "avgPrice": _Method(self._average_price, 2),
            "klines": _Method(_params_only(history.klines), 2),
            "uiKlines": _Method(_params_only(history.klines), 2),
            "order.place": _Method(
                None,
                1,
                submits=self._order_place,
                places_orders=True,
                permission=Permission.TRADE,
                free_if_successful=True,
            ),
            "order.test": _Method(self._order_test, _order_test_weight, permission=Permission.TRADE),
            "order.cancel": _Method(
                None, 1, permission=Permission.TRADE, free_if_successful=True, submits=self._order_cancel
            ),
            "order.cancelReplace": _Method(
                self._cancel_replace,
                1,
                places_orders=True,
                permission=Permission.TRADE,
                free_if_successful=True,
            ),
            "order.status": _Method(self._order_status, 4, permission=Permission.USER_DATA),
            "order.amend.keepPriority": _Method(self._order_amend, 4, permission=Permission.TRADE),
            "order.amendments": _Method(self._order_amendments, 4, permission=Permission.USER_DATA),
            "openOrders.status": _Method(
                self._open_orders, _open_orders_weight, permission=Permission.USER_DATA
            ),
            "openOrders.cancelAll": _Method(
                self._cancel_all, 1, permission=Permission.TRADE, free_if_successful=True
            ),
            "allOrders": _Method(self._all_orders, 20, permission=Permission.USER_DATA),
            "myTrades": _Method(self._my_trades, _my_trades_weight, permission=Permission.USER_DATA),
            "myFilters": _Method(self._my_filters, 40, permission=Permission.USER_DATA),
            "myPreventedMatches": _Method(
                self._my_prevented_matches,
                lambda params: _prevented_matches_weight(params, self.symbols),
                permission=Permission.USER_DATA,
            ),
            "account.status": _Method(self._account_status, 20, permission=Permission.USER_DATA),
            "account.commission": _Method(self._account_commission, 20, permission=Permission.USER_DATA),
            "account.rateLimits.orders": _Method(
                self._unfilled_order_count, 40, permission=Permission.USER_DATA
            ),
            "session.logon": _Method(self._session_logon, 2),
            "session.status": _Method(self._session_status, 2),
            "session.logout": _Method(self._session_logout, 2),
            "session.subscriptions": _Method(self._session_subscriptions, 2),
            "userDataStream.subscribe": _Method(self._subscribe, 2),
            "userDataStream.subscribe.signature": _Method(
                self._subscribe_signature, 2, permission=Permission.USER_STREAM
            ),
            "userDataStream.unsubscribe": _Method(self._unsubscribe, 2),
        }

    async def serve(self, host: str, port: int) -> Server:
        """Listen for the API and the streams; no permessage-deflate, since frames are built once and
        shared between connections (``ws_outbox``) and small JSON messages gain little from it."""
        return await serve(
            self._connection,
            host,
            port,
            max_size=self.limits.max_message_bytes,
            ping_interval=PING_INTERVAL_S,
            ping_timeout=PONG_TIMEOUT_S,
            compression=None,
            process_request=self._check_path,
            create_connection=GatewayConnection,
        )

    @property
    def api_connections_open(self) -> int:
        return len(self._api_connections)

    def announce_shutdown(self) -> None:
        """Send Binance's ``serverShutdown`` event to every API connection, ahead of the close frames of
        the server's shutdown (nothing is awaited before these writes)."""
        now_ms = int(time.time() * 1000)
        event, in_us = envelope.server_shutdown(now_ms), envelope.server_shutdown(now_ms * 1000)
        for connection in self._api_connections:
            connection.push(in_us if connection.microseconds else event)

    def _check_path(self, connection: GatewayConnection, request: Any) -> Any:
        address = str(connection.remote_address[0]) if connection.remote_address else ""
        retry_after_s = self._attempts.refusal_s(address)
        if retry_after_s is not None:
            response = connection.respond(
                429, f"too many connection attempts from this address; retry in {retry_after_s} s\n"
            )
            response.headers["Retry-After"] = str(retry_after_s)
            return response
        path = request.path.split("?")[0]
        if path not in _SERVED_PATHS and not path.startswith("/ws/"):
            return connection.respond(
                404, f"unknown path; the API is at {API_PATH}, streams at /ws and /stream\n"
            )
        if path == API_PATH:
            time_unit = parse_qs(urlsplit(request.path).query).get(TIME_UNIT, ["MILLISECOND"])[-1]
            if time_unit not in TIME_UNITS:
                return connection.respond(400, INVALID_TIME_UNIT_BODY)
            connection.hold_messages()
        return None

    # Connections ------------------------------------------------------------------------------------

    async def _connection(self, websocket: GatewayConnection) -> None:
        address = str(websocket.remote_address[0]) if websocket.remote_address else ""
        if not self._connections.admit(address):
            log.info("websocket refused: too many connections", address=address)
            await websocket.close(1008, "too many connections from this address")
            return
        try:
            if websocket.request.path.startswith(API_PATH):
                await self._api_connection(websocket, address)
            else:
                await self.streams.serve_connection(websocket)
        finally:
            self._connections.release(address)
            if not self._connections.open_count(address) and address in self._weight_by_address:
                self._forget_weight_after_window(address)

    def _weight_of(self, address: str) -> RateCounter:
        counter = self._weight_by_address.get(address)
        if counter is None:
            counter = self._weight_by_address[address] = RateCounter(self.weight_limit)
        return counter

    def _forget_weight_after_window(self, address: str) -> None:
        """Drop an address's weight once its window ends with no connection open (a reconnect within
        the window keeps its count, so the counters are bounded by the addresses seen per window)."""

        def forget() -> None:
            counter = self._weight_by_address.get(address)
            ended = counter is not None and counter.window_end_ms <= time.time() * 1000
            if ended and not self._connections.open_count(address):
                del self._weight_by_address[address]

        delay_s = self._weight_by_address[address].window_end_ms / 1000 - time.time()
        asyncio.get_running_loop().call_later(max(delay_s, 0.0) + 0.001, forget)

    async def _api_connection(self, websocket: GatewayConnection, address: str) -> None:
        """Answer each request as its message completes, until the connection closes: at once, from a
        callback, or in a task of its own (``_begin_answer``). Requests are answered as they finish,
        not in order, as Binance does."""
        now_ms = time.time() * 1000
        query = parse_qs(urlsplit(websocket.request.path).query)
        connection = _ApiConnection(
            api=self,
            websocket=websocket,
            outbox=Outbox(websocket, self.limits.websocket_buffer_bytes_max),
            weight=self._weight_of(address),
            connected_ms=int(now_ms),
            address=address,
            return_rate_limits=query.get(RETURN_RATE_LIMITS, ["true"])[-1] != "false",
            microseconds=TIME_UNITS[query.get(TIME_UNIT, ["MILLISECOND"])[-1]],
        )
        connection.weight.charge_weight(now_ms, CONNECT_WEIGHT)
        pending: set[asyncio.Task[None]] = set()
        loop = asyncio.get_running_loop()

        def answer(message: str | bytes) -> None:
            if not connection.closing:
                later = self._begin_answer(connection, message)
                if later is not None:
                    connection.answers_not_started += 1
                    task = loop.create_task(later)
                    pending.add(task)
                    task.add_done_callback(pending.discard)

        self._api_connections.add(connection)
        try:
            websocket.deliver_messages(answer)
            async with asyncio.timeout(self.connection_lifetime_s):
                await websocket.wait_closed()
        except TimeoutError:
            await websocket.close(GOING_AWAY, "connection lifetime of 24 h reached")
        finally:
            self._api_connections.discard(connection)
            connection.closing = True
            for subscription in list(connection.subscriptions.values()):
                self._end_subscription(subscription)
            if pending:
                await asyncio.wait(pending, timeout=5)

    def _begin_answer(
        self, connection: _ApiConnection, message: str | bytes
    ) -> Coroutine[Any, Any, None] | None:
        """Read, check and charge a request as it arrives; answer it, or return the coroutine that will.

        A method that only submits to a book (``order.place``, ``order.cancel``) is answered from a
        callback on its submission's future, without a task of its own: a task and its two steps cost
        about as much as reading the order. It submits at once only when no earlier request of the
        connection waits for its task's first step, so requests still act in the order they came (a
        logon before the order it signs, a cancel before the order that needs its funds).
        """
        answering = _Answering(connection, time.time() * 1000, connection.return_rate_limits)
        try:
            request = parse_request(message)
            answering.request_id, answering.request = request.request_id, request
            method = self._methods.get(request.method)
            if method is None:
                raise ApiFailure(UNKNOWN_METHOD)
            answering.method = method
            asked = request.params.get(RETURN_RATE_LIMITS)
            if asked is not None:
                answering.wants_limits = asked not in (False, "false")
            self._charge(connection, method, request, answering.now_ms)
            params = Params(request.params)
            if method.submits is None:
                assert method.handler is not None
                return self._answer_later(answering, method.handler(connection, request, params))
            if connection.answers_not_started:
                return self._answer_later(answering, _submitted(method.submits, connection, request, params))
            submitted, answer_from = method.submits(connection, request, params)
        except Exception as error:
            self._send_error(answering, error)
            return None
        submitted.add_done_callback(functools.partial(self._answer_submitted, answering, answer_from))
        return None

    async def _answer_later(self, answering: _Answering, result: Awaitable[Any]) -> None:
        answering.connection.answers_not_started -= 1
        try:
            answer = await result
        except Exception as error:
            self._send_error(answering, error)
        else:
            self._send_result(answering, answer)

    def _answer_submitted(
        self, answering: _Answering, answer_from: Callable[[Result], Any], submitted: asyncio.Future[Result]
    ) -> None:
        if submitted.cancelled():  # the exchange is stopping: like a task's, the answer goes unsent
            return
        try:
            answer = answer_from(submitted.result())
        except Exception as error:
            self._send_error(answering, error)
        else:
            self._send_result(answering, answer)

    def _send_result(self, answering: _Answering, result: Any) -> None:
        connection, request = answering.connection, answering.request
        assert request is not None and answering.method is not None
        try:
            if connection.microseconds:
                result = result_in_microseconds(request.method, result)
            limits = (
                self._rate_limits(connection, answering.now_ms, answering.method.places_orders)
                if answering.wants_limits
                else None
            )
            frame = envelope.success(answering.request_id, result, limits)
        except Exception as error:
            self._send_error(answering, error)
            return
        connection.push(frame)

    def _send_error(self, answering: _Answering, error: Exception) -> None:
        connection, method, now_ms = answering.connection, answering.method, answering.now_ms
        if not isinstance(error, ApiFailure):
            log.error("ws api request failed", request_id=answering.request_id, exc_info=error)
            connection.push(envelope.failure(answering.request_id, INTERNAL_ERROR, None))
            return
        request_id = error.request_id if answering.request_id is None else answering.request_id
        if method is not None and method.free_if_successful:
            assert answering.request is not None
            connection.weight.charge_weight(now_ms, _weight(method, answering.request))
        orders_report = method is not None and method.places_orders
        limits = self._rate_limits(connection, now_ms, orders_report) if answering.wants_limits else None
        data = error.data
        if connection.microseconds and data is not None:
            data = result_in_microseconds("", data)
        connection.push(envelope.failure(request_id, error.error, limits, data))
        if error.error.status == IP_BANNED:
            connection.close_after_queued("IP banned for repeated violation of rate limits")

    def _charge(
        self, connection: _ApiConnection, method: _Method, request: ApiRequest, now_ms: float
    ) -> None:
        """Count the request's weight (none yet for a method free if successful, which is still
        refused once the address is past its limit)."""
        banned_until_ms = self._bans.banned_until(connection.address, now_ms)
        weight = connection.weight
        if banned_until_ms is None:
            error = weight.charge_weight(now_ms, 0 if method.free_if_successful else _weight(method, request))
            if error is None:
                return
            if weight.count <= BAN_AT_LIMIT_MULTIPLE * weight.limit.limit:
                raise _too_many(error, weight, now_ms)
            banned_until_ms = self._bans.ban(connection.address, now_ms)
            log.warning("address banned", address=connection.address, until_ms=banned_until_ms)
        raise ApiFailure(
            ip_banned(banned_until_ms), data={"serverTime": int(now_ms), "retryAfter": banned_until_ms}
        )

    def _order_refusal(self, key: ApiKey) -> ApiFailure | None:
        """Count one order against the key that authorized it (the key that signed it, else the
        session's), across all of its connections; or the 429 past its limit, counting nothing."""
        now_ms = time.time() * 1000
        counter = self._orders_by_key.get(key.api_key)
        if counter is None:
            counter = self._orders_by_key[key.api_key] = RateCounter(self.orders_limit)
        error = counter.charge(now_ms, 1)
        return None if error is None else _too_many(error, counter, now_ms)

    def _rate_limits(self, connection: _ApiConnection, now_ms: float, orders: bool) -> list[dict[str, Any]]:
        weight = connection.weight.report(now_ms)
        counter = self._orders_by_key.get(connection.last_api_key) if orders else None
        return [weight] if counter is None else [counter.report(now_ms), weight]

    def _authenticate(
        self, connection: _ApiConnection, request: ApiRequest, permission: Permission
    ) -> ApiKey:
        try:
            key = self.checker.check(
                request.params, time.time() * 1000, permission, session_key=connection.session_key
            )
        except ApiFailure as failure:
            if failure.error is SESSION_KEY_REVOKED:
                connection.session_key = None
            raise
        connection.last_api_key = key.api_key
        return key

    def _symbol(self, params: Params) -> SymbolSettings:
        symbol = self.symbols.get(params.text("symbol", required=True, length_max=20) or "")
        if symbol is None:
            raise ApiFailure(INVALID_SYMBOL)
        return symbol

    def report_events(self, report: OrderReport) -> _ReportEvents:
        """The user data events of ``report``, rendered at its first subscription's offer and reused by
        the others (with four subscriptions of an account, rendering was 40% of the gateway's time)."""
        rendered = self._report_events
        if (
            rendered is None
            or rendered.report is not report
            or rendered.ledger_sequence != self.ledger.sequence
        ):
            symbol = self.symbols[report.symbol]
            event = execution_report(
                report, symbol, event_ns=time.time_ns(), execution_id=next(self.execution_ids)
            )
            position = self.account_position(report.account_id, symbol)
            rendered = self._report_events = _ReportEvents(report, self.ledger.sequence, (event, position))
        return rendered

    def account_position(self, account_id: int, symbol: SymbolSettings) -> dict[str, Any]:
        now_ms = int(time.time() * 1000)
        balances = []
        for asset in (symbol.base, symbol.quote):
            balance = self.ledger.balance(account_id, asset)
            scale = self.settings.assets[asset].scale
            balances.append(
                {
                    "a": asset,
                    "f": format_minor(balance.available_minor, scale),
                    "l": format_minor(balance.held_minor, scale),
                }
            )
        return {"e": "outboundAccountPosition", "E": now_ms, "u": now_ms, "B": balances}

    # Public methods ---------------------------------------------------------------------------------

    async def _ping(self, connection: _ApiConnection, request: ApiRequest, params: Params) -> dict:
        params.finish()
        return {}

    async def _time(self, connection: _ApiConnection, request: ApiRequest, params: Params) -> dict:
        params.finish()
        return {"serverTime": int(time.time() * 1000)}

    async def _exchange_info(self, connection: _ApiConnection, request: ApiRequest, params: Params) -> dict:
        wanted = params.text("symbol")
        listed = params.raw("symbols")
        permissions = params.raw("permissions")
        status = params.raw("symbolStatus")
        show_permission_sets = params.boolean("showPermissionSets") is not False
        params.finish()
        if sum(value is not None for value in (wanted, listed, permissions)) > 1 or (
            status is not None and (wanted or listed is not None)
        ):
            raise ApiFailure(BAD_PARAMETER_COMBINATION)
        if status is not None and status not in SYMBOL_STATUSES:
            raise ApiFailure(INVALID_SYMBOL_STATUS)
        names = [wanted] if wanted else (list(listed) if isinstance(listed, list) else list(self.symbols))
        if any(name not in self.symbols for name in names):
            raise ApiFailure(INVALID_SYMBOL)
        if len(set(names)) != len(names):
            raise ApiFailure(DUPLICATE_SYMBOLS)
        infos = [
            symbol_info(
                self.symbols[name],
                halted=self.exchange.books[name].book.halted,
                open_orders_max=self.limits.open_orders_per_account_max,
            )
            for name in names
        ]
        if permissions is not None:
            asked = {permissions} if isinstance(permissions, str) else set(permissions)
            infos = [info for info in infos if any(asked & set(any_of) for any_of in info["permissionSets"])]
        if status is not None:
            infos = [info for info in infos if info["status"] == status]
        if not show_permission_sets:
            for info in infos:
                info["permissionSets"] = []
        return exchange_info(infos, [self.weight_limit, self.orders_limit], int(time.time() * 1000))

    async def _depth(self, connection: _ApiConnection, request: ApiRequest, params: Params) -> dict:
        symbol = self._symbol(params)
        limit = params.integer("limit", minimum=1) or 100
        status = params.raw("symbolStatus")
        params.finish()
        if status is not None:
            if status not in SYMBOL_STATUSES:
                raise ApiFailure(INVALID_SYMBOL_STATUS)
            if trading_status(self.exchange.books[symbol.name].book.halted) != status:
                raise ApiFailure(SYMBOL_STATUS_MISMATCH)
        snapshot = self.broadcaster.snapshot(symbol.name, min(limit, 5000))
        return depth(symbol, snapshot.last_update_id, snapshot.bids, snapshot.asks)

    async def _trades_recent(self, connection: _ApiConnection, request: ApiRequest, params: Params) -> list:
        symbol = self._symbol(params)
        limit = params.integer("limit", minimum=1) or 500
        params.finish()
        return recent_trades(symbol, self.broadcaster.recent_trades(symbol.name, min(limit, 1000)))

    async def _ticker_price(self, connection: _ApiConnection, request: ApiRequest, params: Params) -> Any:
        symbols, single = self._ticker_symbols(params)
        prices = []
        for symbol in symbols:
            last = self.broadcaster.recent_trades(symbol.name, 1)
            prices.append(ticker_price(symbol, last[-1].price_minor if last else 0))
        return prices[0] if single else prices

    async def _ticker_book(self, connection: _ApiConnection, request: ApiRequest, params: Params) -> Any:
        symbols, single = self._ticker_symbols(params)
        books = [ticker_book(symbol, *self.broadcaster.best_bid_offer(symbol.name)) for symbol in symbols]
        return books[0] if single else books

    async def _ticker_24hr(self, connection: _ApiConnection, request: ApiRequest, params: Params) -> Any:
        mini = mini_ticker(params)
        symbols, single = self._ticker_symbols(params)
        now_ms = int(time.time() * 1000)
        tickers = [
            ticker_24hr(
                symbol,
                self.streams.statistics(symbol.name, now_ms),
                *self.broadcaster.best_bid_offer(symbol.name),
                mini=mini,
            )
            for symbol in symbols
        ]
        return tickers[0] if single else tickers

    async def _average_price(self, connection: _ApiConnection, request: ApiRequest, params: Params) -> dict:
        symbol = self._symbol(params)
        params.finish()
        last = self.broadcaster.recent_trades(symbol.name, 1)
        window = self.streams.average_window(symbol.name, int(time.time() * 1000))
        last_trade_ms = last[-1].ts_ns // 1_000_000 if last else 0
        return average_price(symbol, window, AVERAGE_PRICE_WINDOW_S // 60, last_trade_ms)

    def _ticker_symbols(self, params: Params) -> tuple[list[SymbolSettings], bool]:
        """The symbols a ticker request names (``symbol``, or the list ``symbols``, else all of them), kept
        to those whose status is ``symbolStatus`` if it is given; and whether ``symbol`` named one alone,
        whose answer is an object rather than a list."""
        single = params.text("symbol", length_max=20)
        listed = params.raw("symbols")
        status = params.raw("symbolStatus")
        params.finish()
        if single is not None and listed is not None:
            raise ApiFailure(BAD_PARAMETER_COMBINATION)
        if listed is not None and not (
            isinstance(listed, list) and listed and all(isinstance(name, str) for name in listed)
        ):
            raise ApiFailure(invalid_parameter("symbols"))
        if status is not None and status not in SYMBOL_STATUSES:
            raise ApiFailure(INVALID_SYMBOL_STATUS)
        if single is not None:
            names = [single]
        elif listed is not None:
            names = listed
        else:
            names = list(self.symbols)
        if any(name not in self.symbols for name in names):
            raise ApiFailure(INVALID_SYMBOL)
        if len(set(names)) != len(names):
            raise ApiFailure(DUPLICATE_SYMBOLS)
        if status is not None:
            books = self.exchange.books
            names = [name for name in names if trading_status(books[name].book.halted) == status]
            if single is not None and not names:
                raise ApiFailure(SYMBOL_STATUS_MISMATCH)
        return [self.symbols[name] for name in names], single is not None

    # Trading ----------------------------------------------------------------------------------------

    def _order_place(
        self, connection: _ApiConnection, request: ApiRequest, params: Params
    ) -> tuple[asyncio.Future[Result], Callable[[Result], dict]]:
        key = self._authenticate(connection, request, Permission.TRADE)
        refusal = self._order_refusal(key)
        if refusal is not None:
            raise refusal
        symbol = self._symbol(params)
        order_id = self.exchange.new_order_id()
        placed = place_order(
            params,
            symbol,
            order_id=order_id,
            account_id=key.account_id,
            ts_ns=time.time_ns(),
            client_order_id=f"ws{order_id}",
        )
        params.finish(*SIGNED_PARAMETERS)
        submitted = self._submit(symbol.name, placed.command, placed.client_order_id)
        return submitted, functools.partial(_placement_answer, placed, symbol)

    async def _order_test(self, connection: _ApiConnection, request: ApiRequest, params: Params) -> dict:
        """Check an order as ``order.place`` would, up to the book: nothing is placed or counted."""
        key = self._authenticate(connection, request, Permission.TRADE)
        symbol = self._symbol(params)
        placed = place_order(
            params,
            symbol,
            order_id=self.exchange.peek_next_order_id(),
            account_id=key.account_id,
            ts_ns=time.time_ns(),
            client_order_id="",
        )
        with_rates = params.boolean("computeCommissionRates")
        params.finish(*SIGNED_PARAMETERS)
        filter_failure = self.exchange.filter_failure(symbol.name, placed.command)
        if filter_failure is not None:
            raise ApiFailure(new_order_error(filter_failure))
        if not with_rates:
            return {}
        fees = self.settings.fees
        return {
            "standardCommissionForOrder": {
                "maker": _commission_rate(fees.maker_bps),
                "taker": _commission_rate(fees.taker_bps),
            },
            "specialCommissionForOrder": {"maker": NO_COMMISSION, "taker": NO_COMMISSION},
            "taxCommissionForOrder": {"maker": NO_COMMISSION, "taker": NO_COMMISSION},
            "discount": NO_DISCOUNT,
        }

    def _submit(
        self,
        symbol: str,
        command: Command,
        client_order_id: str = "",
        cancel_only_if: OrderStatus | None = None,
    ) -> asyncio.Future[Result]:
        return self.exchange.submit(
            symbol,
            command,
            client_order_id=client_order_id,
            origin="ws",
            unique_among_open_orders=True,
            cancel_only_if=cancel_only_if,
        )

    def _find(
        self, account_id: int, order_id: int | None, client_order_id: str | None, *, mismatch: ApiError
    ) -> OrderState | None:
        """The order by id, else by client order id. Sent both, the order found by id must be known by
        that client order id (now or before a cancel renamed it), or the request is refused with
        ``mismatch``."""
        if order_id is None:
            return self.exchange.find_order(account_id, client_order_id=client_order_id)
        order = self.exchange.find_order(account_id, order_id=order_id)
        names = (order.client_order_id, order.original_client_order_id) if order is not None else ()
        if client_order_id is not None and order is not None and client_order_id not in names:
            raise ApiFailure(mismatch)
        return order

    def _find_by_params(self, account_id: int, params: Params, *, mismatch: ApiError) -> OrderState | None:
        order_id = params.integer("orderId")
        client_order_id = params.client_order_id("origClientOrderId")
        if order_id is None and client_order_id is None:
            raise ApiFailure(one_of_two_missing("origClientOrderId", "orderId"))
        return self._find(account_id, order_id, client_order_id, mismatch=mismatch)

    def _order_cancel(
        self, connection: _ApiConnection, request: ApiRequest, params: Params
    ) -> tuple[asyncio.Future[Result], Callable[[Result], dict]]:
        key = self._authenticate(connection, request, Permission.TRADE)
        symbol = self._symbol(params)
        order = self._find_by_params(key.account_id, params, mismatch=UNKNOWN_ORDER_CANCEL)
        new_client_order_id = params.client_order_id("newClientOrderId")
        restriction = _cancel_restriction(params)
        params.finish(*SIGNED_PARAMETERS)
        if order is None or order.symbol != symbol.name or not order.is_open:
            raise ApiFailure(UNKNOWN_ORDER_CANCEL)
        cancel_id = new_client_order_id or f"ws-cancel-{order.order_id}"
        command = CancelOrder(order_id=order.order_id, account_id=key.account_id, ts_ns=time.time_ns())
        submitted = self._submit(symbol.name, command, cancel_id, restriction)
        return submitted, functools.partial(_cancel_answer, order.order_id, symbol, cancel_id)

    async def _order_amend(self, connection: _ApiConnection, request: ApiRequest, params: Params) -> dict:
        """Reduce an open order's quantity in place: it keeps its time priority (and counts as no new
        order). Without ``newClientOrderId`` the order gets a random client order id, as on Binance."""
        key = self._authenticate(connection, request, Permission.TRADE)
        symbol = self._symbol(params)
        order = self._find_by_params(key.account_id, params, mismatch=AMEND_UNKNOWN_ORDER)
        new_client_order_id = params.client_order_id("newClientOrderId")
        new_quantity = params.decimal_minor("newQty", symbol.base_scale, required=True)
        params.finish(*SIGNED_PARAMETERS)
        assert new_quantity is not None
        if order is None or order.symbol != symbol.name or not order.is_open:
            raise ApiFailure(AMEND_UNKNOWN_ORDER)
        if new_quantity > order.quantity_minor:
            raise ApiFailure(AMEND_QUANTITY_INCREASE)
        if new_quantity == order.quantity_minor:
            raise ApiFailure(AMEND_NO_CHANGE)
        if new_client_order_id is None:
            new_client_order_id = secrets.token_urlsafe(16)  # 22 characters of Binance's legal range
        command = ReplaceOrder(
            order_id=order.order_id,
            account_id=key.account_id,
            price_minor=order.price_minor,
            quantity_minor=new_quantity,
            ts_ns=time.time_ns(),
            keep_priority=True,
        )
        before = order.client_order_id
        result = await self._submit(
            symbol.name, command, "" if new_client_order_id == before else new_client_order_id
        )
        if result.error is not None:
            raise ApiFailure(amend_error(result.error))
        report = next(r for r in result.reports if r.order_id == order.order_id)
        assert result.amendment is not None  # the book refuses a keep_priority replace that is no reduction
        return amend_result(report, symbol, before, result.amendment.execution_id)

    async def _order_amendments(
        self, connection: _ApiConnection, request: ApiRequest, params: Params
    ) -> list:
        """The account's amendments of one order from the store, oldest first (none for an order of
        another account, as for one never amended)."""
        key = self._authenticate(connection, request, Permission.USER_DATA)
        symbol = self._symbol(params)
        order_id = params.integer("orderId", required=True)
        from_id = params.integer("fromExecutionId") or 0
        limit = min(params.integer("limit", minimum=1) or HISTORY_LIMIT_DEFAULT, HISTORY_LIMIT_MAX)
        params.finish(*SIGNED_PARAMETERS)
        assert order_id is not None
        amendments = await self.store.order_amendments(key.account_id, symbol.name, order_id, from_id, limit)
        return [order_amendment(amendment, symbol) for amendment in amendments]

    async def _cancel_replace(self, connection: _ApiConnection, request: ApiRequest, params: Params) -> dict:
        """Cancel an order and place a new one: the new one only if the cancel succeeded (STOP_ON_FAILURE),
        or in any case (ALLOW_FAILURE). Past the order limit, nothing is done (DO_NOTHING) or only the
        cancel (CANCEL_ONLY)."""
        key = self._authenticate(connection, request, Permission.TRADE)
        limit_mode = params.text("orderRateLimitExceededMode") or "DO_NOTHING"
        if limit_mode not in ORDER_LIMIT_MODES:
            raise ApiFailure(invalid_parameter("orderRateLimitExceededMode"))
        over_limit = self._order_refusal(key)
        if over_limit is not None and limit_mode == "DO_NOTHING":
            raise over_limit
        symbol = self._symbol(params)
        mode = params.text("cancelReplaceMode", required=True)
        if mode not in ("STOP_ON_FAILURE", "ALLOW_FAILURE"):
            raise ApiFailure(
                ApiError(400, -1130, "Data sent for parameter 'cancelReplaceMode' is not valid.")
            )
        cancel_order_id = params.integer("cancelOrderId")
        cancel_client_id = params.client_order_id("cancelOrigClientOrderId")
        if cancel_order_id is None and cancel_client_id is None:
            raise ApiFailure(one_of_two_missing("cancelOrderId", "cancelOrigClientOrderId"))
        cancel_new_id = params.client_order_id("cancelNewClientOrderId")
        order_id = self.exchange.new_order_id()
        placed = place_order(
            params,
            symbol,
            order_id=order_id,
            account_id=key.account_id,
            ts_ns=time.time_ns(),
            client_order_id=f"ws{order_id}",
        )
        restriction = _cancel_restriction(params)
        params.finish(*SIGNED_PARAMETERS)
        filter_failure = self.exchange.filter_failure(symbol.name, placed.command)
        if filter_failure is not None:
            raise ApiFailure(new_order_error(filter_failure))
        try:
            order = self._find(
                key.account_id, cancel_order_id, cancel_client_id, mismatch=UNKNOWN_ORDER_CANCEL
            )
        except ApiFailure:
            order = None
        cancel_response: dict | None = None
        cancel_failure: dict | None = None
        if order is None or order.symbol != symbol.name or not order.is_open:
            cancel_failure = {"code": UNKNOWN_ORDER_CANCEL.code, "msg": UNKNOWN_ORDER_CANCEL.msg}
        else:
            cancel_id = cancel_new_id or f"ws-cancel-{order.order_id}"
            command = CancelOrder(order_id=order.order_id, account_id=key.account_id, ts_ns=time.time_ns())
            result = await self._submit(symbol.name, command, cancel_id, restriction)
            if result.error is not None:
                error = cancel_error(result.error)
                cancel_failure = {"code": error.code, "msg": error.msg}
            else:
                report = next(r for r in result.reports if r.order_id == order.order_id)
                cancel_response = cancel_result(report, symbol, cancel_id)
        if over_limit is not None:
            if cancel_failure is not None:
                raise over_limit
            data = {
                "cancelResult": "SUCCESS",
                "newOrderResult": "FAILURE",
                "cancelResponse": cancel_response,
                "newOrderResponse": {"code": over_limit.error.code, "msg": over_limit.error.msg},
            }
            raise ApiFailure(CANCEL_REPLACE_PARTIAL, data=data)
        if cancel_failure is not None and mode == "STOP_ON_FAILURE":
            data = {
                "cancelResult": "FAILURE",
                "newOrderResult": "NOT_ATTEMPTED",
                "cancelResponse": cancel_failure,
                "newOrderResponse": None,
            }
            raise ApiFailure(CANCEL_REPLACE_FAILED, data=data)
        if cancel_failure is None:
            self.rejections_reported.add(order_id)
        try:
            result = await self._submit(symbol.name, placed.command, placed.client_order_id)
        finally:
            self.rejections_reported.discard(order_id)
        reports = [report for report in result.reports if report.order_id == order_id]
        new_error = None
        by_quote = placed.command.quote_quantity_minor is not None
        if result.error is not None and not reports:
            new_error = new_order_error(result.error, by_quote=by_quote)
        elif reports and reports[0].execution is ExecutionKind.REJECTED:
            new_error = new_order_error(reports[0].reject_reason, by_quote=by_quote)
        if new_error is None:
            new_response: dict = place_result(reports, symbol, placed.response_type, result.prevented_matches)
        else:
            new_response = {"code": new_error.code, "msg": new_error.msg}
        data = {
            "cancelResult": "FAILURE" if cancel_failure else "SUCCESS",
            "newOrderResult": "FAILURE" if new_error else "SUCCESS",
            "cancelResponse": cancel_failure or cancel_response,
            "newOrderResponse": new_response,
        }
        if cancel_failure and new_error:
            raise ApiFailure(CANCEL_REPLACE_FAILED, data=data)
        if cancel_failure or new_error:
            raise ApiFailure(CANCEL_REPLACE_PARTIAL, data=data)
        return data

    async def _cancel_all(self, connection: _ApiConnection, request: ApiRequest, params: Params) -> list:
        key = self._authenticate(connection, request, Permission.TRADE)
        symbol = self._symbol(params)
        params.finish(*SIGNED_PARAMETERS)
        command = CancelAllOrders(account_id=key.account_id, ts_ns=time.time_ns())
        result = await self._submit(symbol.name, command)
        canceled = [r for r in result.reports if r.execution is ExecutionKind.CANCELED]
        if not canceled:
            raise ApiFailure(UNKNOWN_ORDER_CANCEL)
        return [cancel_result(report, symbol, f"ws-cancel-{report.order_id}") for report in canceled]

    def _status_fields(self, order: OrderState) -> dict:
        report = order.report(ExecutionKind.STATUS, time.time_ns())
        fields = order_fields(report, self.symbols[order.symbol])
        fields.update(
            {
                "stopPrice": "0.00000000",
                "icebergQty": "0.00000000",
                "time": order.created_ns // 1_000_000,
                "updateTime": order.updated_ns // 1_000_000,
                "isWorking": order.status in (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED),
            }
        )
        return fields

    async def _order_status(self, connection: _ApiConnection, request: ApiRequest, params: Params) -> dict:
        key = self._authenticate(connection, request, Permission.USER_DATA)
        symbol = self._symbol(params)
        order = self._find_by_params(key.account_id, params, mismatch=CLIENT_ORDER_ID_INVALID)
        params.finish(*SIGNED_PARAMETERS)
        if order is None or order.symbol != symbol.name:
            raise ApiFailure(NO_SUCH_ORDER)
        return self._status_fields(order)

    async def _open_orders(self, connection: _ApiConnection, request: ApiRequest, params: Params) -> list:
        key = self._authenticate(connection, request, Permission.USER_DATA)
        symbol = self._symbol(params) if params.has("symbol") else None
        params.finish(*SIGNED_PARAMETERS)
        orders = self.exchange.open_orders(key.account_id, symbol.name if symbol else None)
        return [self._status_fields(order) for order in sorted(orders, key=lambda o: o.order_id)]

    def _history_query(self, account_id: int, symbol: str, params: Params, *, from_id: str) -> HistoryQuery:
        """``startTime``/``endTime`` (ms, a window of at most 24 h; one alone opens a 24 h window from or
        to it), ``limit`` (500, at most 1000) and the id to start from, which a time window overrides."""
        start_ms = params.time_ms("startTime")
        end_ms = params.time_ms("endTime")
        limit = params.integer("limit", minimum=1, maximum=HISTORY_LIMIT_MAX) or HISTORY_LIMIT_DEFAULT
        first_id = params.integer(from_id)
        if start_ms is None and end_ms is None:
            return HistoryQuery(account_id=account_id, symbol=symbol, limit=limit, from_id=first_id)
        if start_ms is None:
            start_ms = max(0, end_ms - HISTORY_WINDOW_MS)
        if end_ms is None:
            end_ms = min(start_ms + HISTORY_WINDOW_MS, TIME_MS_MAX)
        if end_ms - start_ms > HISTORY_WINDOW_MS:
            raise ApiFailure(TIME_RANGE_TOO_LONG)
        return HistoryQuery(
            account_id=account_id,
            symbol=symbol,
            limit=limit,
            since_ns=start_ms * 1_000_000,
            until_ns=end_ms * 1_000_000 + 999_999,
        )

    async def _my_prevented_matches(
        self, connection: _ApiConnection, request: ApiRequest, params: Params
    ) -> list:
        """The account's matches self-trade prevention stopped: one by ``preventedMatchId``, or those of
        ``orderId`` (as maker or taker) from ``fromPreventedMatchId`` on; no other combination."""
        key = self._authenticate(connection, request, Permission.USER_DATA)
        symbol = self._symbol(params)
        match_id = params.integer("preventedMatchId")
        order_id = params.integer("orderId")
        from_id = params.integer("fromPreventedMatchId")
        limit = params.integer("limit", minimum=1)
        params.finish(*SIGNED_PARAMETERS)
        if (match_id is None) == (order_id is None) or (
            match_id is not None and (from_id is not None or limit is not None)
        ):
            raise ApiFailure(BAD_PARAMETER_COMBINATION)
        query = PreventedMatchQuery(
            prevented_match_id=match_id,
            order_id=order_id,
            from_prevented_match_id=from_id or 0,
            limit=min(limit or HISTORY_LIMIT_DEFAULT, HISTORY_LIMIT_MAX),
        )
        records = await self.store.prevented_matches(key.account_id, symbol.name, query)
        return [prevented_match(record, symbol) for record in records]

    async def _my_filters(self, connection: _ApiConnection, request: ApiRequest, params: Params) -> dict:
        """The filters an account's orders on a symbol meet: the symbol's (``exchangeInfo``'s); no exchange
        or asset filter applies here."""
        self._authenticate(connection, request, Permission.USER_DATA)
        symbol = self._symbol(params)
        params.finish(*SIGNED_PARAMETERS)
        info = symbol_info(
            symbol,
            halted=self.exchange.books[symbol.name].book.halted,
            open_orders_max=self.limits.open_orders_per_account_max,
        )
        return {"exchangeFilters": [], "symbolFilters": info["filters"], "assetFilters": []}

    async def _all_orders(self, connection: _ApiConnection, request: ApiRequest, params: Params) -> list:
        """The account's orders on a symbol from the store (what was committed); an order still retained
        in its book is shown from there, as ``order.status`` shows it."""
        key = self._authenticate(connection, request, Permission.USER_DATA)
        symbol = self._symbol(params)
        query = self._history_query(key.account_id, symbol.name, params, from_id="orderId")
        params.finish(*SIGNED_PARAMETERS)
        fields = []
        for record in await self.store.account_orders(query):
            retained = self.exchange.find_order(key.account_id, order_id=record.order_id)
            fields.append(self._status_fields(retained or order_state(record)))
        return fields

    async def _my_trades(self, connection: _ApiConnection, request: ApiRequest, params: Params) -> list:
        key = self._authenticate(connection, request, Permission.USER_DATA)
        symbol = self._symbol(params)
        order_id = params.integer("orderId")
        windowed = params.has("startTime") or params.has("endTime")
        if windowed and (order_id is not None or params.has("fromId")):
            raise ApiFailure(BAD_PARAMETER_COMBINATION)
        query = self._history_query(key.account_id, symbol.name, params, from_id="fromId")
        params.finish(*SIGNED_PARAMETERS)
        if order_id is not None:
            query = dataclasses.replace(query, order_id=order_id)
        trades = await self.store.account_trades(query)
        return [account_trade(symbol, entry.trade, is_buyer=entry.is_buyer) for entry in trades]

    async def _account_status(self, connection: _ApiConnection, request: ApiRequest, params: Params) -> dict:
        key = self._authenticate(connection, request, Permission.USER_DATA)
        omit_zero_balances = params.boolean("omitZeroBalances")
        params.finish(*SIGNED_PARAMETERS)
        fees = self.settings.fees
        balances = []
        for asset, settings in self.settings.assets.items():
            balance = self.ledger.balance(key.account_id, asset)
            if omit_zero_balances and not (balance.available_minor or balance.held_minor):
                continue
            balances.append(
                {
                    "asset": asset,
                    "free": format_minor(balance.available_minor, settings.scale),
                    "locked": format_minor(balance.held_minor, settings.scale),
                }
            )
        can_trade = Permission.TRADE in key.permissions
        return {
            "makerCommission": fees.maker_bps,
            "takerCommission": fees.taker_bps,
            "buyerCommission": 0,
            "sellerCommission": 0,
            "canTrade": can_trade,
            "canWithdraw": False,
            "canDeposit": False,
            "commissionRates": {
                "maker": _commission_rate(fees.maker_bps),
                "taker": _commission_rate(fees.taker_bps),
                "buyer": NO_COMMISSION,
                "seller": NO_COMMISSION,
            },
            "brokered": False,
            "requireSelfTradePrevention": False,
            "preventSor": False,
            "updateTime": int(time.time() * 1000),
            "accountType": "SPOT",
            "balances": balances,
            "permissions": ["SPOT"],
            "uid": key.account_id,
        }

    async def _account_commission(
        self, connection: _ApiConnection, request: ApiRequest, params: Params
    ) -> dict:
        """The account's commission rates on a symbol: ours are the same for every account and symbol."""
        self._authenticate(connection, request, Permission.USER_DATA)
        symbol = self._symbol(params)
        params.finish(*SIGNED_PARAMETERS)
        fees = self.settings.fees
        none = {
            "maker": NO_COMMISSION,
            "taker": NO_COMMISSION,
            "buyer": NO_COMMISSION,
            "seller": NO_COMMISSION,
        }
        return {
            "symbol": symbol.name,
            "standardCommission": {
                **none,
                "maker": _commission_rate(fees.maker_bps),
                "taker": _commission_rate(fees.taker_bps),
            },
            "specialCommission": none,
            "taxCommission": none,
            "discount": NO_DISCOUNT,
        }

    async def _unfilled_order_count(
        self, connection: _ApiConnection, request: ApiRequest, params: Params
    ) -> list:
        key = self._authenticate(connection, request, Permission.USER_DATA)
        params.finish(*SIGNED_PARAMETERS)
        counter = self._orders_by_key.get(key.api_key) or RateCounter(self.orders_limit)
        return [counter.report(time.time() * 1000)]

    # Sessions and user data -------------------------------------------------------------------------

    def _session_answer(self, connection: _ApiConnection) -> dict:
        key = connection.session_key
        return {
            "apiKey": key.api_key if key else None,
            "authorizedSince": connection.authorized_ms if key else None,
            "connectedSince": connection.connected_ms,
            "returnRateLimits": connection.return_rate_limits,
            "serverTime": int(time.time() * 1000),
            "userDataStream": bool(connection.subscriptions),
        }

    async def _session_logon(self, connection: _ApiConnection, request: ApiRequest, params: Params) -> dict:
        if "apiKey" not in request.params or "signature" not in request.params:
            raise ApiFailure(bad_parameter("apiKey" if "apiKey" not in request.params else "signature"))
        key = self.checker.check(request.params, time.time() * 1000, Permission.USER_DATA, session_key=None)
        if key.verifier.key_type is not KeyType.ED25519:
            raise ApiFailure(HMAC_NOT_SUPPORTED)
        params.finish(*SIGNED_PARAMETERS)
        if connection.session_key is not None and connection.session_key.api_key != key.api_key:
            self._end_logon_subscriptions(connection)
        connection.session_key = key
        connection.authorized_ms = int(time.time() * 1000)
        return self._session_answer(connection)

    async def _session_status(self, connection: _ApiConnection, request: ApiRequest, params: Params) -> dict:
        params.finish()
        return self._session_answer(connection)

    async def _session_logout(self, connection: _ApiConnection, request: ApiRequest, params: Params) -> dict:
        params.finish()
        connection.session_key = None
        self._end_logon_subscriptions(connection)
        return self._session_answer(connection)

    def _start_subscription(self, connection: _ApiConnection, key: ApiKey, *, by_logon: bool) -> dict:
        if any(sub.account_id == key.account_id for sub in connection.subscriptions.values()):
            raise ApiFailure(SUBSCRIPTION_ACTIVE)
        limit = self.limits.subscriptions_per_connection_max
        if len(connection.subscriptions) >= limit:
            raise ApiFailure(
                ApiError(
                    400,
                    -1191,
                    f"Too many subscriptions. Connection may create up to '{limit}' subscriptions at a time.",
                )
            )
        subscription_id = next(connection.subscription_ids, None)
        if subscription_id is None:
            raise ApiFailure(SUBSCRIPTION_IDS_USED)
        subscription = _UserDataSubscription(
            connection, subscription_id, key.account_id, key.api_key, by_logon
        )
        connection.subscriptions[subscription_id] = subscription
        self._subscriptions_by_key.setdefault(key.api_key, set()).add(subscription)
        self.exchange.subscribe_account(key.account_id, subscription)
        return {"subscriptionId": subscription_id}

    def _end_subscription(self, subscription: _UserDataSubscription) -> None:
        """Stop a subscription's events; its client hears eventStreamTerminated if still connected."""
        subscription.connection.subscriptions.pop(subscription.subscription_id, None)
        self.exchange.unsubscribe_account(subscription.account_id, subscription)
        of_key = self._subscriptions_by_key.get(subscription.api_key)
        if of_key is not None:
            of_key.discard(subscription)
            if not of_key:
                del self._subscriptions_by_key[subscription.api_key]
        subscription.terminate()

    def _end_subscriptions_of(self, api_key: str) -> None:
        for subscription in list(self._subscriptions_by_key.get(api_key, ())):
            self._end_subscription(subscription)

    def _end_logon_subscriptions(self, connection: _ApiConnection) -> None:
        for subscription in [sub for sub in connection.subscriptions.values() if sub.by_logon]:
            self._end_subscription(subscription)

    async def _subscribe(self, connection: _ApiConnection, request: ApiRequest, params: Params) -> dict:
        params.finish()
        if connection.session_key is None:
            raise ApiFailure(NOT_LOGGED_ON)
        return self._start_subscription(connection, connection.session_key, by_logon=True)

    async def _subscribe_signature(
        self, connection: _ApiConnection, request: ApiRequest, params: Params
    ) -> dict:
        if "apiKey" not in request.params:
            raise ApiFailure(bad_parameter("apiKey"))
        key = self.checker.check(request.params, time.time() * 1000, Permission.USER_STREAM, session_key=None)
        params.finish(*SIGNED_PARAMETERS)
        return self._start_subscription(connection, key, by_logon=False)

    async def _unsubscribe(self, connection: _ApiConnection, request: ApiRequest, params: Params) -> dict:
        subscription_id = params.integer("subscriptionId")
        params.finish()
        chosen = list(connection.subscriptions) if subscription_id is None else [subscription_id]
        if not chosen or any(sid not in connection.subscriptions for sid in chosen):
            raise ApiFailure(SUBSCRIPTION_INACTIVE)
        for sid in chosen:
            self._end_subscription(connection.subscriptions[sid])
        return {}

    async def _session_subscriptions(
        self, connection: _ApiConnection, request: ApiRequest, params: Params
    ) -> list:
        params.finish()
        return [{"subscriptionId": sid} for sid in sorted(connection.subscriptions)]
