"""Each user's recent events, kept so a device that reconnects can replay what it missed.

Event ids look like Redis stream ids, `<milliseconds>-<sequence>`, and are ordered per user.
A history keeps every event of the last 24 hours and at least the last 1,000 per user.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import orjson
from redis.asyncio import Redis

RETENTION_SECONDS = 24 * 3600
RETENTION_COUNT = 1000


@dataclass(frozen=True)
class StoredEvent:
    event_id: str
    name: str
    data: dict[str, Any]


def parse_event_id(value: object) -> tuple[int, int] | None:
    """Return an event id as a comparable pair, or None if it is not one."""
    if not isinstance(value, str):
        return None
    milliseconds, dash, sequence = value.partition("-")
    if not dash or not milliseconds.isdigit() or not sequence.isdigit():
        return None
    return int(milliseconds), int(sequence)


class MemoryHistory:
    """The history of the embedded mode, inside the server process."""

    def __init__(self) -> None:
        self._events: dict[int, deque[tuple[tuple[int, int], StoredEvent]]] = {}
        self._last_id: dict[int, tuple[int, int]] = {}
        self._trimmed: dict[int, tuple[int, int]] = {}
        self._sequence = itertools.count()

    def append(self, user_id: int, name: str, data: dict[str, Any]) -> str:
        now = int(time.time() * 1000)
        last = self._last_id.get(user_id, (0, 0))
        key = (now, 0) if now > last[0] else (last[0], last[1] + 1)
        self._last_id[user_id] = key
        event = StoredEvent(f"{key[0]}-{key[1]}", name, data)
        events = self._events.setdefault(user_id, deque())
        events.append((key, event))
        self._trim(user_id, events, now)
        return event.event_id

    async def since(self, user_id: int, last_event_id: str) -> list[StoredEvent] | None:
        """Return the events after `last_event_id`, or None when some of them are gone."""
        last = parse_event_id(last_event_id)
        if last is None:
            return None
        if last > self._last_id.get(user_id, (0, 0)) or last < self._trimmed.get(user_id, (0, 0)):
            return None
        return [event for key, event in self._events.get(user_id, ()) if key > last]

    def _trim(
        self, user_id: int, events: deque[tuple[tuple[int, int], StoredEvent]], now: int
    ) -> None:
        cutoff = now - RETENTION_SECONDS * 1000
        while len(events) > RETENTION_COUNT and events[0][0][0] < cutoff:
            key, _ = events.popleft()
            self._trimmed[user_id] = key


# Add events to their users' streams and publish the Socket.IO message that carries each, in
# one atomic step, so subscribers receive each user's events in id order whichever process sent
# them. Each message is the JSON text around the id. Every 100th event of a stream, the stream
# is trimmed to what is both older than the retention time and outside the last
# RETENTION_COUNT events. KEYS are the streams. ARGV contains the count to keep and the cutoff
# time, then five values per event.
PUBLISH_SCRIPT = """
local keep = tonumber(ARGV[1])
local cutoff_ms = tonumber(ARGV[2])
local ids = {}
for i = 1, #KEYS do
  local base = 2 + (i - 1) * 5
  local id = redis.call('XADD', KEYS[i], '*', 'name', ARGV[base + 1], 'data', ARGV[base + 2])
  redis.call('PUBLISH', ARGV[base + 3], ARGV[base + 4] .. id .. ARGV[base + 5])
  local length = redis.call('XLEN', KEYS[i])
  if length > keep and length % 100 == 0 then
    local newest = redis.call('XREVRANGE', KEYS[i], '+', '-', 'COUNT', keep)
    local boundary = newest[#newest][1]
    local boundary_ms = tonumber(string.match(boundary, '^(%d+)'))
    if cutoff_ms < boundary_ms then
      boundary = cutoff_ms .. '-0'
    end
    redis.call('XTRIM', KEYS[i], 'MINID', boundary)
  end
  ids[i] = id
end
return ids
"""


@dataclass(frozen=True)
class OutgoingEvent:
    """An event for a user's history, with the channel and message that carry it.

    The message is the JSON text before and after the place of the event id.
    """

    user_id: int
    name: str
    data: dict[str, Any]
    channel: str
    message: tuple[bytes, bytes]


class RedisHistory:
    """The history of a deployment: one Redis stream per user, shared by every process."""

    def __init__(self, redis: Redis, prefix: str, *, batch_limit: int = 256):
        self._redis = redis
        self._prefix = prefix
        self._publish = redis.register_script(PUBLISH_SCRIPT)
        self._batch_limit = batch_limit
        self._waiting: list[tuple[list[OutgoingEvent], asyncio.Future[list[str]]]] = []
        self._sender: asyncio.Task[None] | None = None

    def stream(self, user_id: int) -> str:
        return f"{self._prefix}events:{user_id}"

    async def append_and_publish(self, events: list[OutgoingEvent]) -> list[str]:
        """Store the events and publish each one's message with its id; return the ids.

        Calls made while an earlier one is in Redis wait and then go together in one script
        call, in the order they were made, so many concurrent publishers cost few round trips.
        A failed call fails every call it carried.
        """
        if not events:
            return []
        done: asyncio.Future[list[str]] = asyncio.get_running_loop().create_future()
        self._waiting.append((events, done))
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send_waiting(), name="event-history-sender")
        return await done

    async def _send_waiting(self) -> None:
        while self._waiting:
            batch: list[tuple[list[OutgoingEvent], asyncio.Future[list[str]]]] = []
            count = 0
            while self._waiting and (not batch or count < self._batch_limit):
                events, done = self._waiting.pop(0)
                batch.append((events, done))
                count += len(events)
            try:
                ids = await self._send([event for events, _ in batch for event in events])
            except asyncio.CancelledError:
                for _, done in batch + self._waiting:
                    done.cancel()
                self._waiting.clear()
                raise
            except Exception as error:  # every caller in the batch gets the error
                for _, done in batch:
                    if not done.done():
                        done.set_exception(error)
                continue
            start = 0
            for events, done in batch:
                if not done.done():
                    done.set_result(ids[start : start + len(events)])
                start += len(events)

    async def _send(self, events: list[OutgoingEvent]) -> list[str]:
        cutoff = int((time.time() - RETENTION_SECONDS) * 1000)
        args: list[Any] = [RETENTION_COUNT, cutoff]
        for event in events:
            args += [
                event.name,
                orjson.dumps(event.data),
                event.channel,
                event.message[0],
                event.message[1],
            ]
        ids = await self._publish(keys=[self.stream(e.user_id) for e in events], args=args)
        return [_text(event_id) for event_id in ids]

    async def since(self, user_id: int, last_event_id: str) -> list[StoredEvent] | None:
        """Return the events after `last_event_id`, or None when some of them are gone."""
        last = parse_event_id(last_event_id)
        if last is None:
            return None
        stream = self.stream(user_id)
        try:
            info: Any = await self._redis.xinfo_stream(stream)
        except Exception as error:  # redis-py raises ResponseError for a missing key
            if "no such key" in str(error).lower():
                return None
            raise
        newest = parse_event_id(_text(info.get("last-generated-id"))) or (0, 0)
        if last > newest:
            # The position is from a stream that no longer exists (a Redis restart).
            return None
        first_entry = info.get("first-entry")
        first = parse_event_id(_text(first_entry[0])) if first_entry else None
        trimmed = int(info.get("entries-added", 0)) > int(info.get("length", 0))
        if trimmed and (first is None or last < first) and last < newest:
            # Events after the position were trimmed away.
            return None
        entries: Any = await self._redis.xrange(stream, min=f"({last_event_id}", max="+")
        return [
            StoredEvent(_text(entry_id), _text(fields[b"name"]), orjson.loads(fields[b"data"]))
            for entry_id, fields in entries
        ]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
