"""``trades.aggregate`` reads the store in pages; a run of trades cut by a page's end is never shown cut."""

from __future__ import annotations

from dataclasses import replace

from gateway.ws_market_history import AGGREGATE_PAGE_TRADES, AGGREGATE_TRADES_READ_MAX, _whole_runs
from ledger.journal import TradeEntry

RUN_FIRST, RUN_LAST = 990, 1010  # one taker order filling 21 makers at one price
TRADES = 1500


def entry(trade_id: int) -> TradeEntry:
    in_run = RUN_FIRST <= trade_id <= RUN_LAST
    return TradeEntry(
        sequence=trade_id,
        symbol="BTCUSDT",
        trade_id=trade_id,
        base="BTC",
        quote="USDT",
        price_minor=500 if in_run else 500 + trade_id,
        quantity_minor=1,
        quote_quantity_minor=500,
        buyer_account_id=1,
        seller_account_id=2,
        buyer_order_id=5_000 if in_run else 5_000 + trade_id,
        seller_order_id=trade_id,
        buyer_is_maker=False,
        buyer_fee_minor=0,
        seller_fee_minor=0,
        ts_ns=7 if in_run else trade_id * 1_000,
    )


class Pages:
    """A store's trades 1..TRADES, read oldest first from a trade id, or newest first."""

    def __init__(self) -> None:
        self.sizes: list[int] = []

    async def from_id(self, from_trade_id: int, limit: int) -> list[TradeEntry]:
        self.sizes.append(limit)
        return [entry(trade_id) for trade_id in range(max(from_trade_id, 1), TRADES + 1)][:limit]

    async def latest(self, limit: int) -> list[TradeEntry]:
        self.sizes.append(limit)
        return [entry(trade_id) for trade_id in range(max(TRADES - limit + 1, 1), TRADES + 1)]


async def test_a_run_cut_by_the_end_of_a_page_is_read_whole_from_a_longer_page() -> None:
    pages = Pages()
    runs = await _whole_runs(lambda limit: pages.from_id(1, limit), 1000, newest=False, from_id=1)
    assert pages.sizes == [AGGREGATE_PAGE_TRADES, 2 * AGGREGATE_PAGE_TRADES]
    (run,) = [run for run in runs if run.first.trade_id == RUN_FIRST]
    assert (run.last.trade_id, run.quantity_minor) == (RUN_LAST, RUN_LAST - RUN_FIRST + 1)
    assert len(runs) == 1000 and runs[0].first.trade_id == 1


async def test_runs_that_fit_in_the_first_page_need_no_second() -> None:
    pages = Pages()
    runs = await _whole_runs(lambda limit: pages.from_id(1, limit), 10, newest=False, from_id=1)
    assert pages.sizes == [AGGREGATE_PAGE_TRADES]
    assert [run.first.trade_id for run in runs] == list(range(1, 11))


async def test_a_from_id_inside_a_run_starts_at_the_next_run() -> None:
    pages = Pages()
    runs = await _whole_runs(
        lambda limit: pages.from_id(RUN_FIRST + 4, limit), 2, newest=False, from_id=RUN_FIRST + 5
    )
    assert [run.first.trade_id for run in runs] == [RUN_LAST + 1, RUN_LAST + 2]


async def test_the_newest_runs_leave_out_one_cut_by_the_start_of_a_page() -> None:
    pages = Pages()
    runs = await _whole_runs(pages.latest, 500, newest=True, from_id=0)
    assert pages.sizes == [AGGREGATE_PAGE_TRADES]  # trades 501..1500: the run is whole inside it
    assert runs[-1].first.trade_id == TRADES and len(runs) == 500
    everything = await _whole_runs(pages.latest, 1000, newest=True, from_id=0)
    assert pages.sizes[1:] == [AGGREGATE_PAGE_TRADES, 2 * AGGREGATE_PAGE_TRADES]
    assert (
        len(everything) == 1000 and everything[0].first.trade_id == TRADES - 1000 - (RUN_LAST - RUN_FIRST) + 1
    )


async def test_reading_stops_at_its_bound_when_one_run_is_longer() -> None:
    """A run longer than ``AGGREGATE_TRADES_READ_MAX`` trades is never shown, and no more is read."""
    sizes: list[int] = []

    async def one_endless_run(limit: int) -> list[TradeEntry]:
        sizes.append(limit)
        return [
            replace(entry(RUN_FIRST), trade_id=trade_id, sequence=trade_id)
            for trade_id in range(1, limit + 1)
        ]

    assert await _whole_runs(one_endless_run, 10, newest=False, from_id=1) == []
    assert max(sizes) <= AGGREGATE_TRADES_READ_MAX and sizes[-1] >= AGGREGATE_TRADES_READ_MAX // 2
