"""Publishing events to a user's devices, on this instance and every other one."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple, Protocol

from redis.exceptions import RedisError

from events.names import RESYNC, user_room, watch_room

log = logging.getLogger(__name__)


class RoomEvent(NamedTuple):
    """An event for one room, stored in the history of `user_id`."""

    user_id: int
    room: str
    name: str
    data: dict[str, Any]


class BusEvent(NamedTuple):
    """An event for a user's devices, and for the watchers of a live session."""

    user_id: int
    name: str
    data: dict[str, Any]
    session_id: int | None = None
    watchers: Iterable[int] = ()


class EventPublisher(Protocol):
    async def publish_events(self, events: Sequence[RoomEvent]) -> list[str]:
        """Store each event in its user's history, then send it to its room; return the ids."""
        ...


class DroppingPublisher:
    """The publisher of a process with no sockets and no Redis, such as an embedded import."""

    async def publish_events(self, events: Sequence[RoomEvent]) -> list[str]:
        for event in events:
            log.debug("event %s for user %s has no one to reach", event.name, event.user_id)
        return ["0-0"] * len(events)


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
        return (await self.publish_all([BusEvent(user_id, name, data, session_id, watchers)]))[0]

    async def publish_all(self, events: Sequence[BusEvent]) -> list[str | None]:
        """Send events in their order, in one step; return each owner's event id or None."""
        rooms: list[RoomEvent] = []
        owners: list[int] = []
        for event in events:
            owners.append(len(rooms))
            rooms.append(RoomEvent(event.user_id, user_room(event.user_id), event.name, event.data))
            if event.session_id is None:
                continue
            for watcher in event.watchers:
                room = watch_room(event.session_id, watcher)
                rooms.append(RoomEvent(watcher, room, event.name, event.data))
        if not rooms:
            return []
        try:
            ids = await self._publisher.publish_events(rooms)
        except (RedisError, OSError) as error:
            names = sorted({event.name for event in rooms})
            users = {event.user_id for event in rooms}
            log.warning("events %s for users %s lost, a resync follows: %r", names, users, error)
            self._lost |= users
            if self._resync_task is None or self._resync_task.done():
                self._resync_task = asyncio.create_task(self._send_resyncs(), name="event-resync")
            return [None] * len(events)
        return [ids[index] for index in owners]

    async def close(self) -> None:
        if self._resync_task is not None:
            self._resync_task.cancel()
            await asyncio.gather(self._resync_task, return_exceptions=True)

    async def _send_resyncs(self) -> None:
        while self._lost:
            await asyncio.sleep(self._retry_seconds)
            for user_id in list(self._lost):
                try:
                    resync = RoomEvent(user_id, user_room(user_id), RESYNC, {})
                    await self._publisher.publish_events([resync])
                except (RedisError, OSError):
                    break
                self._lost.discard(user_id)
                log.info("sent resync to user %s after lost events", user_id)
