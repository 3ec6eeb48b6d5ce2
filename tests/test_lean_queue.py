"""The per-connection packet queue behaves as engine.io expects of an asyncio.Queue."""

from __future__ import annotations

import asyncio

import pytest

from events.lean_queue import LeanQueue


async def test_items_come_out_in_order() -> None:
    queue = LeanQueue()
    for item in ("a", "b", "c"):
        await queue.put(item)
    assert queue.qsize() == 3
    assert await queue.get() == "a"
    assert queue.get_nowait() == "b"
    assert await asyncio.wait_for(queue.get(), 1) == "c"
    assert queue.empty()
    with pytest.raises(asyncio.QueueEmpty):
        queue.get_nowait()


async def test_waiting_get_receives_next_put() -> None:
    queue = LeanQueue()
    waiting = asyncio.ensure_future(asyncio.wait_for(queue.get(), 5))
    await asyncio.sleep(0)
    queue.put_nowait("packet")
    assert await waiting == "packet"
    assert queue.empty()


async def test_timed_out_get_loses_no_item() -> None:
    queue = LeanQueue()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(queue.get(), 0.01)
    queue.put_nowait("after timeout")
    assert queue.qsize() == 1
    assert await queue.get() == "after timeout"


async def test_join_waits_for_every_task_done() -> None:
    queue = LeanQueue()
    await queue.join()
    queue.put_nowait(1)
    queue.put_nowait(2)
    joined = asyncio.ensure_future(queue.join())
    await queue.get()
    queue.task_done()
    await asyncio.sleep(0)
    assert not joined.done()
    await queue.get()
    queue.task_done()
    await asyncio.wait_for(joined, 1)
    with pytest.raises(ValueError):
        queue.task_done()
