"""Publishing events to a user's devices, on this instance and every other one."""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from events.names import user_room, watch_room

log = logging.getLogger(__name__)

Emit = Callable[..., Awaitable[Any]]

# Events kept per user in Redis, so their ids stay ordered across instances.
HISTORY_LENGTH = 2000


class EventBus:
    """Stamp each event with an ordered `eventId` and a `ts`, then emit it to the user's room.

    `emit` is `AsyncServer.emit` in a server, which reaches other instances through the
    Socket.IO client manager, or a write-only `AsyncRedisManager.emit` in a worker. With Redis,
    event ids come from a per-user stream, so they are ordered whichever process publishes;
    without it they come from an in-process counter.
    """

    def __init__(self, emit: Emit, *, redis: Redis | None = None, prefix: str = ""):
        self._emit = emit
        self._redis = redis
        self._prefix = prefix
        self._sequence = itertools.count(1)

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

        Return the owner's event id, or None if the event was dropped. A failure is logged
        and swallowed: events are notifications, and the state they describe stays readable
        over REST.
        """
        event_id = await self._publish_one(user_id, name, data, user_room(user_id))
        if session_id is not None:
            for watcher_id in watchers:
                room = watch_room(session_id, watcher_id)
                await self._publish_one(watcher_id, name, data, room)
        return event_id

    async def _publish_one(
        self, user_id: int, name: str, data: dict[str, Any], room: str
    ) -> str | None:
        ts = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        try:
            event_id = await self._next_id(user_id, name, data, ts)
            payload = {**data, "eventId": event_id, "ts": ts}
            await self._emit(name, payload, room=room)
        except (RedisError, OSError) as error:
            log.warning("event %s for user %s dropped: %r", name, user_id, error)
            return None
        return event_id

    async def _next_id(self, user_id: int, name: str, data: dict[str, Any], ts: str) -> str:
        if self._redis is None:
            return f"{int(time.time() * 1000)}-{next(self._sequence)}"
        entry = {"name": name, "data": orjson.dumps(data), "ts": ts}
        event_id = await self._redis.xadd(
            f"{self._prefix}events:{user_id}",
            entry,  # type: ignore[arg-type]
            maxlen=HISTORY_LENGTH,
            approximate=True,
        )
        return event_id.decode() if isinstance(event_id, bytes) else str(event_id)
