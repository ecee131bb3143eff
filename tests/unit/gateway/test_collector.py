"""The garbage-collection schedule: small young generations, the full collection only when scheduled."""

from __future__ import annotations

import asyncio
import gc
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
        gc.unfreeze()
        gc.set_threshold(*thresholds)


class Node:
    """An object the collector tracks."""

    def __init__(self) -> None:
        self.children: list[Node] = []


def test_young_collections_run_and_the_full_one_never_does_on_its_own(collector_state: list[int]) -> None:
    collector.settle_after_start()
    collector_state.clear()
    survivors = [Node() for _ in range(200_000)]
    assert 0 in collector_state and 1 in collector_state
    assert 2 not in collector_state
    assert len(survivors) == 200_000


async def test_the_full_collection_runs_on_its_schedule(collector_state: list[int]) -> None:
    collector.settle_after_start()
    collector_state.clear()
    cycle = Node()
    cycle.children.append(cycle)
    del cycle
    task = asyncio.create_task(collector.collect_fully_every(0.01))
    for _ in range(200):
        if 2 in collector_state:
            break
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert 2 in collector_state
