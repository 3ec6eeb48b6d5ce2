"""Publishing events to a user's devices, on this instance and every other one."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any, Protocol

from redis.exceptions import RedisError

from events.names import RESYNC, user_room, watch_room

log = logging.getLogger(__name__)


class EventPublisher(Protocol):
    async def publish_event(self, user_id: int, room: str, name: str, data: dict[str, Any]) -> str:
        """Store the event in the user's history, then send it to `room`; return its id."""
        ...


class DroppingPublisher:
    """The publisher of a process with no sockets and no Redis, such as an embedded import."""

    async def publish_event(self, user_id: int, room: str, name: str, data: dict[str, Any]) -> str:
        log.debug("event %s for user %s has no one to reach", name, user_id)
        return "0-0"


class EventBus:
    """Send events to users' rooms through a publisher that stamps `eventId` and `ts`.

    A failed publish is logged and remembered. Once publishing works again, each user who
    lost an event gets `resync`, the signal for their devices to reload over REST.
    """

    def __init__(self, publisher: EventPublisher, *, retry_seconds: float = 1.0):
        self._publisher = publisher
        self._retry_seconds = retry_seconds
        self._lost: set[int] = set()
        self._resync_task: asyncio.Task[None] | None = None

    async def publish(
        self,
        user_id: int,
        name: str,
        data: dict[str, Any],
        *,
        session_id: int | None = None,
        watchers: Iterable[int] = (),
    ) -> str | None:
        """Send one event to every device of a user, and to the watchers of a live session.

        Return the owner's event id, or None if the event was lost. Events describe state
        that stays readable over REST, so a failure does not fail the caller.
        """
        event_id = await self._publish_one(user_id, user_room(user_id), name, data)
        if session_id is not None:
            for watcher_id in watchers:
                await self._publish_one(watcher_id, watch_room(session_id, watcher_id), name, data)
        return event_id

    async def close(self) -> None:
        if self._resync_task is not None:
            self._resync_task.cancel()
            await asyncio.gather(self._resync_task, return_exceptions=True)

    async def _publish_one(
        self, user_id: int, room: str, name: str, data: dict[str, Any]
    ) -> str | None:
        try:
            return await self._publisher.publish_event(user_id, room, name, data)
        except (RedisError, OSError) as error:
            log.warning("event %s for user %s lost, a resync follows: %r", name, user_id, error)
            self._lost.add(user_id)
            if self._resync_task is None or self._resync_task.done():
                self._resync_task = asyncio.create_task(self._send_resyncs(), name="event-resync")
            return None

    async def _send_resyncs(self) -> None:
        while self._lost:
            await asyncio.sleep(self._retry_seconds)
            for user_id in list(self._lost):
                try:
                    await self._publisher.publish_event(user_id, user_room(user_id), RESYNC, {})
                except (RedisError, OSError):
                    break
                self._lost.discard(user_id)
                log.info("sent resync to user %s after lost events", user_id)
