"""Recovery at start: the ledger, the books with their open orders in priority order, the numbering.

Everything comes from the store's ``LoadedState``; nothing a client was told is lost, because nothing
was told before it was committed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from book.order_book import OrderBook, OrderView
from book.types import OrderStatus, OrderType, SelfTradePrevention, Side, TimeInForce, TradeExecuted
from config.settings import FeeSettings, SymbolSettings
from gateway.orders import OrderState
from ledger.journal import JournalEntry, TradeEntry
from ledger.ledger import Ledger
from ledger.store import LoadedState, OrderRecord, strategy_of, strategy_text


def order_state(record: OrderRecord) -> OrderState:
    strategy_id, strategy_type = strategy_of(record.strategy)
    return OrderState(
        order_id=record.order_id,
        symbol=record.symbol,
        account_id=record.account_id,
        client_order_id=record.client_order_id,
        original_client_order_id=record.original_client_order_id,
        side=Side(record.side),
        order_type=OrderType(record.order_type),
        time_in_force=TimeInForce(record.time_in_force),
        self_trade_prevention=SelfTradePrevention(record.self_trade_prevention),
        price_minor=record.price_minor,
        quantity_minor=record.quantity_minor,
        quote_quantity_minor=record.quote_quantity_minor,
        status=OrderStatus(record.status),
        filled_minor=record.filled_minor,
        cumulative_quote_minor=record.cumulative_quote_minor,
        commission_minor=record.commission_minor,
        commission_asset=record.commission_asset,
        created_ns=record.created_ns,
        updated_ns=record.updated_ns,
        origin=record.origin,
        priority_sequence=record.priority_sequence,
        strategy_id=strategy_id,
        strategy_type=strategy_type,
    )


def order_record(state: OrderState) -> OrderRecord:
    """The order's row, for every order of every commit: built positionally, enums by ``_value_``.

    ``Enum.value`` is a Python-level property (about 0.1 us a read here); ``_value_`` is the same
    value, read as a plain attribute. Fields go in ``ORDER_COLUMNS`` order (a test checks each one).
    """
    return OrderRecord._make(
        (
            state.order_id,
            state.symbol,
            state.account_id,
            state.client_order_id,
            state.original_client_order_id,
            state.side._value_,
            state.order_type._value_,
            state.time_in_force._value_,
            state.self_trade_prevention._value_,
            state.price_minor,
            state.quantity_minor,
            state.quote_quantity_minor,
            state.status._value_,
            state.filled_minor,
            state.cumulative_quote_minor,
            state.commission_minor,
            state.commission_asset,
            state.created_ns,
            state.updated_ns,
            state.origin,
            state.priority_sequence,
            # Most orders have no labels: their row skips the call.
            ""
            if state.strategy_id is None and state.strategy_type is None
            else strategy_text(state.strategy_id, state.strategy_type),
        )
    )


def restore_ledger(state: LoadedState, fees: FeeSettings, sink: Callable[[JournalEntry], None]) -> Ledger:
    checkpoint = state.checkpoint
    return Ledger.restore(
        fees=fees,
        checkpoint_sequence=checkpoint.sequence,
        accounts=checkpoint.accounts,
        holds=checkpoint.holds,
        transfers=state.transfers,
        journal_after_checkpoint=state.journal_after_checkpoint,
        sink=sink,
    )


def restore_book(
    symbol: SymbolSettings,
    state: LoadedState,
    stp_defaults: Mapping[int, SelfTradePrevention],
) -> tuple[OrderBook, dict[int, OrderState]]:
    """The symbol's book with its open orders back in their original priority, and their states.

    An admin's last halt or resume of the symbol wins over its configured status: clients were told of it.
    """
    numbering = state.numbering.get(symbol.name)
    book = OrderBook(
        symbol,
        stp_defaults=stp_defaults,
        sequence=numbering.sequence if numbering else 0,
        next_trade_id=numbering.next_trade_id if numbering else 1,
        halted=state.symbol_halted.get(symbol.name),
    )
    orders: dict[int, OrderState] = {}
    for record in state.open_orders:
        if record.symbol != symbol.name:
            continue
        order = order_state(record)
        orders[order.order_id] = order
        book.restore_order(
            OrderView(
                order.order_id,
                order.account_id,
                order.side,
                order.order_type,
                order.price_minor,
                order.quantity_minor,
                order.leaves_minor,
                order.self_trade_prevention,
            )
        )
    return book, orders


def trade_event(entry: TradeEntry) -> TradeExecuted:
    """A stored trade as the market-data event it was (leaves quantities are not stored: zero)."""
    buyer = (entry.buyer_order_id, entry.buyer_account_id)
    seller = (entry.seller_order_id, entry.seller_account_id)
    (maker_order, maker_account), (taker_order, taker_account) = (
        (buyer, seller) if entry.buyer_is_maker else (seller, buyer)
    )
    return TradeExecuted(
        sequence=entry.sequence,
        trade_id=entry.trade_id,
        price_minor=entry.price_minor,
        quantity_minor=entry.quantity_minor,
        quote_quantity_minor=entry.quote_quantity_minor,
        aggressor_side=Side.SELL if entry.buyer_is_maker else Side.BUY,
        maker_order_id=maker_order,
        maker_account_id=maker_account,
        maker_leaves_minor=0,
        taker_order_id=taker_order,
        taker_account_id=taker_account,
        taker_leaves_minor=0,
        ts_ns=entry.ts_ns,
    )
