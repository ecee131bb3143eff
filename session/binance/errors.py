"""Binance's error vocabulary: HTTP-like status, code and message; the core's reasons mapped to it.

Messages follow errors.md of binance/binance-spot-api-docs so that clients matching on them keep working.
"""

from __future__ import annotations

from dataclasses import dataclass

from book.types import RejectReason
from config.errors import GatewayError


@dataclass(frozen=True, slots=True)
class ApiError:
    """A refused request: ``status`` as in HTTP, ``code`` and ``msg`` as Binance sends them."""

    status: int
    code: int
    msg: str


class ApiFailure(GatewayError):
    """Raised to refuse a request with ``error``; the dispatcher echoes ``request_id`` once it is known."""

    def __init__(self, error: ApiError, request_id: str | int | None = None, data: object = None) -> None:
        super().__init__(f"{error.code} {error.msg}")
        self.error = error
        self.request_id = request_id
        self.data = data


def bad_parameter(name: str) -> ApiError:
    return ApiError(400, -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def one_of_two_missing(first: str, second: str) -> ApiError:
    """-1102 for a request that must name one of two parameters and named neither."""
    return ApiError(400, -1102, f"Param '{first}' or '{second}' must be sent, but both were empty/null!")


def illegal_characters(name: str, legal_range: str) -> ApiError:
    return ApiError(
        400, -1100, f"Illegal characters found in parameter '{name}'; legal range is '{legal_range}'."
    )


def invalid_parameter(name: str) -> ApiError:
    return ApiError(400, -1130, f"Data sent for parameter '{name}' is not valid.")


def not_required(name: str) -> ApiError:
    return ApiError(400, -1106, f"Parameter '{name}' sent when not required.")


def unknown_parameter(name: str) -> ApiError:
    return ApiError(400, -1103, f"An unknown parameter was sent: '{name}'.")


def too_precise(name: str) -> ApiError:
    return ApiError(400, -1111, f"Parameter '{name}' has too much precision.")


INVALID_JSON = ApiError(400, -1135, "Invalid JSON Request")
INVALID_SYMBOL = ApiError(400, -1121, "Invalid symbol.")
INVALID_SYMBOL_STATUS = ApiError(400, -1122, "Invalid symbolStatus.")
INVALID_TICKER_TYPE = ApiError(400, -1139, "Invalid ticker type.")
INVALID_INTERVAL = ApiError(400, -1120, "Invalid interval.")
SYMBOL_STATUS_MISMATCH = ApiError(
    400, -1220, "The symbol's status does not match the requested symbolStatus."
)
BAD_PARAMETER_COMBINATION = ApiError(400, -1128, "Combination of optional parameters invalid.")
TIME_RANGE_TOO_LONG = ApiError(400, -1127, "More than 24 hours between startTime and endTime.")
DUPLICATE_SYMBOLS = ApiError(400, -1151, "Symbol is present multiple times in the list.")
INVALID_SIDE = ApiError(400, -1117, "Invalid side.")
INVALID_ORDER_TYPE = ApiError(400, -1116, "Invalid orderType.")
INVALID_TIME_IN_FORCE = ApiError(400, -1115, "Invalid timeInForce.")
UNSUPPORTED_COMBINATION = ApiError(400, -1014, "Unsupported order combination.")
UNKNOWN_METHOD = ApiError(400, -1020, "This operation is not supported.")
TIMESTAMP_OUTSIDE_WINDOW = ApiError(400, -1021, "Timestamp for this request is outside of the recvWindow.")
TIMESTAMP_AHEAD = ApiError(400, -1021, "Timestamp for this request was 1000ms ahead of the server's time.")
INVALID_SIGNATURE = ApiError(400, -1022, "Signature for this request is not valid.")
BAD_API_KEY_FORMAT = ApiError(400, -2014, "API-key format invalid.")
REJECTED_API_KEY = ApiError(400, -2015, "Invalid API-key, IP, or permissions for action.")
# The logged-on key was revoked since ``session.logon``: the session ends (401, as Binance documents).
SESSION_KEY_REVOKED = ApiError(401, -2015, "Invalid API-key, IP, or permissions for action.")
NOT_LOGGED_ON = ApiError(401, -1002, "You are not authorized to execute this request.")
NO_SUCH_ORDER = ApiError(400, -2013, "Order does not exist.")
UNKNOWN_ORDER_CANCEL = ApiError(400, -2011, "Unknown order sent.")
CLIENT_ORDER_ID_INVALID = ApiError(400, -2039, "Client order ID is not correct for this order ID.")
SUBSCRIPTION_ACTIVE = ApiError(400, -2035, "User Data Stream subscription already active.")
SUBSCRIPTION_INACTIVE = ApiError(400, -2036, "User Data Stream subscription not active.")
INVALID_CANCEL_RESTRICTIONS = ApiError(400, -1145, "Invalid cancelRestrictions")
CANCEL_REPLACE_PARTIAL = ApiError(409, -2021, "Order cancel-replace partially failed.")
CANCEL_REPLACE_FAILED = ApiError(400, -2022, "Order cancel-replace failed.")
SERVER_BUSY = ApiError(
    503, -1008, "Server is currently overloaded with other requests. Please try again in a few minutes."
)


def too_many_requests(limit: int, interval: str) -> ApiError:
    return ApiError(
        429,
        -1003,
        f"Too much request weight used; current limit is {limit} request weight per {interval}. "
        "Please use WebSocket Streams for live updates to avoid polling the API.",
    )


def ip_banned(until_ms: int) -> ApiError:
    return ApiError(
        418,
        -1003,
        f"Way too much request weight used; IP banned until {until_ms}. "
        "Please use WebSocket Streams for live updates to avoid bans.",
    )


def too_many_orders(limit: int, interval: str) -> ApiError:
    return ApiError(429, -1015, f"Too many new orders; current limit is {limit} orders per {interval}.")


# A new order the core refused: -1013 for filter failures (rejected before the matching engine),
# -2010 for what the matching engine says.
_NEW_ORDER_ERRORS: dict[RejectReason, tuple[int, str]] = {
    RejectReason.PRICE_NOT_ON_TICK: (-1013, "Filter failure: PRICE_FILTER"),
    RejectReason.PRICE_BELOW_MIN: (-1013, "Filter failure: PRICE_FILTER"),
    RejectReason.PRICE_ABOVE_MAX: (-1013, "Filter failure: PRICE_FILTER"),
    RejectReason.QUANTITY_NOT_ON_STEP: (-1013, "Filter failure: LOT_SIZE"),
    RejectReason.QUANTITY_BELOW_MIN: (-1013, "Filter failure: LOT_SIZE"),
    RejectReason.QUANTITY_ABOVE_MAX: (-1013, "Filter failure: LOT_SIZE"),
    RejectReason.NOTIONAL_BELOW_MIN: (-1013, "Filter failure: NOTIONAL"),
    RejectReason.TOO_MANY_OPEN_ORDERS: (-1013, "Filter failure: MAX_NUM_ORDERS"),
    RejectReason.SYMBOL_HALTED: (-2010, "Market is closed."),
    RejectReason.INSUFFICIENT_BALANCE: (-2010, "Account has insufficient balance for requested action."),
    RejectReason.POST_ONLY_WOULD_TAKE: (-2010, "Order would immediately match and take."),
    RejectReason.NO_LIQUIDITY: (-2010, "Order book liquidity is less than symbol minimum quantity."),
    RejectReason.DUPLICATE_ORDER_ID: (-2010, "Duplicate order sent."),
    RejectReason.INVALID_ORDER: (-1014, "Unsupported order combination."),
    RejectReason.UNKNOWN_SYMBOL: (-1121, "Invalid symbol."),
    RejectReason.UNKNOWN_ORDER: (-2011, "Unknown order sent."),
    RejectReason.CANCEL_RESTRICTED: (-2011, "Order was not canceled due to cancel restrictions."),
    RejectReason.REPLACE_QUANTITY_NOT_ABOVE_FILLED: (
        -2010,
        "Order amend (quantity increase) is not supported.",
    ),
    RejectReason.NOT_A_REDUCTION: (-2010, "Order amend (quantity increase) is not supported."),
}


QUOTE_MARKET_NO_ORDERS = ApiError(
    400, -2010, "Quote quantity market orders cannot be placed when there are no orders on the book."
)


def new_order_error(reason: RejectReason, *, by_quote: bool = False) -> ApiError:
    """Binance's error for a new order the core refused; a market order ``by_quote`` (quoteOrderQty) on
    an empty book has a message of its own."""
    if reason is RejectReason.QUEUE_FULL:
        return SERVER_BUSY
    if reason is RejectReason.RATE_LIMITED:
        return ApiError(429, -1015, "Too many new orders.")
    if reason is RejectReason.NO_LIQUIDITY and by_quote:
        return QUOTE_MARKET_NO_ORDERS
    code, msg = _NEW_ORDER_ERRORS[reason]
    return ApiError(400, code, msg)


def amend_rejected(message: str) -> ApiError:
    return ApiError(400, -2038, message)


AMEND_UNKNOWN_ORDER = amend_rejected("Unknown order sent.")
AMEND_QUANTITY_INCREASE = amend_rejected("Order amend (quantity increase) is not supported.")
AMEND_NO_CHANGE = amend_rejected("The requested action would change no state; rejecting")


def amend_error(reason: RejectReason) -> ApiError:
    """An ``order.amend.keepPriority`` the core refused: a filter failure as for a new order (-1013),
    the matching engine's reasons as -2038."""
    if reason is RejectReason.QUEUE_FULL:
        return SERVER_BUSY
    if reason is RejectReason.UNKNOWN_ORDER:
        return AMEND_UNKNOWN_ORDER
    code, msg = _NEW_ORDER_ERRORS[reason]
    return ApiError(400, -1013, msg) if code == -1013 else amend_rejected(msg)


def cancel_error(reason: RejectReason) -> ApiError:
    if reason is RejectReason.QUEUE_FULL:
        return SERVER_BUSY
    if reason is RejectReason.UNKNOWN_ORDER:
        return UNKNOWN_ORDER_CANCEL
    return ApiError(400, -2011, _NEW_ORDER_ERRORS[reason][1])
