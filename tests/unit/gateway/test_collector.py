"""The garbage-collection schedule: small young generations whose survivors are frozen, the full
collection only when scheduled."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator

import pytest

from gateway import collector


@pytest.fixture
def collector_state() -> Iterator[list[int]]:
    """Restore this process's collector afterwards; yield the generations collected meanwhile."""
    thresholds = gc.get_threshold()
    generations: list[int] = []

    def record(phase: str, info: dict) -> None:
        if phase == "stop":
            generations.append(info["generation"])

    gc.callbacks.append(record)
    try:
        yield generations
    finally:
        gc.callbacks.remove(record)
        if collector.freeze_young_survivors in gc.callbacks:
            gc.callbacks.remove(collector.freeze_young_survivors)
        gc.unfreeze()
        gc.set_threshold(*thresholds)


class Node:
    """An object the collector tracks."""

    def __init__(self) -> None:
        self.children: list[Node] = []


def test_young_collections_run_and_freeze_their_survivors(collector_state: list[int]) -> None:
    """So the middle generation, which would scan them again, and the full one never run on their own."""
    collector.settle_after_start()
    frozen_before = gc.get_freeze_count()
    collector_state.clear()
    survivors = [Node() for _ in range(200_000)]
    assert 0 in collector_state
    assert 1 not in collector_state and 2 not in collector_state
    assert gc.get_freeze_count() - frozen_before > 190_000
    assert len(survivors) == 200_000


async def test_the_full_collection_runs_on_its_schedule_and_frees_frozen_cycles(
    collector_state: list[int],
) -> None:
    collector.settle_after_start()
    collector_state.clear()
    cycle = Node()
    cycle.children.append(cycle)
    freed = weakref.ref(cycle)
    gc.collect(0)
    assert gc.get_freeze_count() and freed() is not None
    del cycle
    gc.collect(0)
    assert freed() is not None  # frozen: no young collection sees it
    task = asyncio.create_task(collector.collect_fully_every(0.01))
    for _ in range(200):
        if 2 in collector_state:
            break
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert 2 in collector_state
    assert freed() is None
    assert gc.get_freeze_count()  # what is alive is frozen again
