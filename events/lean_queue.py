"""A small outgoing-packet queue for each engine.io connection.

engine.io keeps an `asyncio.Queue` per connection and waits on it with
`asyncio.wait_for(queue.get(), timeout)`. On an idle connection that costs about 3.7 KB for the
queue's four deques, and a task that `wait_for` wraps around the `get()` coroutine. `LeanQueue`
has the part of the `asyncio.Queue` interface engine.io calls, keeps its items in a list, and
returns a future from `get()`, which `wait_for` awaits without a task of its own.
"""

from __future__ import annotations

import asyncio
from typing import Any

import engineio
import socketio


class LeanQueue:
    """An unbounded FIFO queue whose `get()` returns a future instead of a coroutine."""

    __slots__ = ("_items", "_getters", "_unfinished", "_joined")

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._getters: list[asyncio.Future[Any]] = []
        self._unfinished = 0
        self._joined: asyncio.Future[None] | None = None

    def qsize(self) -> int:
        return len(self._items)

    def empty(self) -> bool:
        return not self._items

    def put_nowait(self, item: Any) -> None:
        """Add an item, or hand it to the oldest waiting `get()` that was not cancelled."""
        self._unfinished += 1
        while self._getters:
            getter = self._getters.pop(0)
            if not getter.done():
                getter.set_result(item)
                return
        self._items.append(item)

    async def put(self, item: Any) -> None:
        self.put_nowait(item)

    def get_nowait(self) -> Any:
        if not self._items:
            raise asyncio.QueueEmpty
        return self._items.pop(0)

    def get(self) -> asyncio.Future[Any]:
        """Return a future of the next item; cancelling it leaves the item in the queue."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self._items:
            future.set_result(self._items.pop(0))
            return future
        # Drop the futures of earlier calls that timed out, so an idle queue keeps none.
        self._getters = [getter for getter in self._getters if not getter.done()]
        self._getters.append(future)
        return future

    def task_done(self) -> None:
        if self._unfinished <= 0:
            raise ValueError("task_done() called too many times")
        self._unfinished -= 1
        if self._unfinished == 0 and self._joined is not None:
            if not self._joined.done():
                self._joined.set_result(None)
            self._joined = None

    async def join(self) -> None:
        """Wait until every item put has been marked done."""
        if self._unfinished == 0:
            return
        if self._joined is None:
            self._joined = asyncio.get_running_loop().create_future()
        await asyncio.shield(self._joined)


class LeanEngineServer(engineio.AsyncServer):  # type: ignore[misc]
    """engine.io's server with a `LeanQueue` per connection."""

    def create_queue(self, *args: Any, **kwargs: Any) -> LeanQueue:
        return LeanQueue()


class LeanSocketServer(socketio.AsyncServer):  # type: ignore[misc]
    """python-socketio's server on `LeanEngineServer`."""

    def _engineio_server_class(self) -> type[engineio.AsyncServer]:
        return LeanEngineServer
