"""Socket.IO client managers that keep each device's events ordered and complete.

Both managers deliver an event that carries an `eventId` to a socket at most once and in id
order: while a socket replays what it missed, live events for it are held back, and events
at or below the last id it received are dropped. `LiveManager` serves the embedded mode;
`LiveRedisManager` spreads events over Redis to every instance, on one channel per room, so
an instance decodes only the messages its own sockets need.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import socketio
from engineio import packet as eio_packet
from socketio import packet

from events.bus import RoomEvent
from events.history import (
    MemoryHistory,
    OutgoingEvent,
    RedisHistory,
    StoredEvent,
    parse_event_id,
)
from events.names import RESYNC

log = logging.getLogger(__name__)

# Rooms whose events travel on a channel of their own; other messages use the main channel.
ROUTED_ROOM_PREFIXES = ("user:", "watch:")
EVENT_ID_PLACEHOLDER = "\x00event-id\x00"


@dataclass(slots=True)
class SocketState:
    """The delivery position of a connected socket: its last event id and held-back events."""

    user_id: int
    last_id: tuple[int, int] | None = None
    held: list[tuple[str, dict[str, Any]]] | None = field(default=None)


def utc_timestamp() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class ReplayMixin:
    """Per-socket ordering, deduplication and replay, shared by both managers."""

    server: socketio.AsyncServer
    rooms: dict[str, dict[Any, Any]]

    def _init_replay(self) -> None:
        self.sockets: dict[str, SocketState] = {}

    def track(self, sid: str, user_id: int, last_event_id: str) -> None:
        """Start tracking a socket, holding its live events back until `release` or `replay`."""
        self.sockets[sid] = SocketState(user_id, parse_event_id(last_event_id), held=[])

    def forget(self, sid: str) -> None:
        self.sockets.pop(sid, None)

    async def release(self, sid: str) -> None:
        """Send a socket the live events held back since it connected."""
        state = self.sockets.get(sid)
        if state is None or state.held is None:
            return
        held, state.held = state.held, None
        for name, data in held:
            if self._admit(state, name, data):
                await self._send_direct(sid, name, data)

    async def replay(self, sid: str, last_event_id: str) -> None:
        """Send a socket the events after `last_event_id`, then the live ones held back.

        When the history no longer reaches back that far, the socket gets `resync` and
        should reload its state over REST.
        """
        state = self.sockets.get(sid)
        if state is None:
            return
        if state.held is None:
            state.held = []
        try:
            missed = await self.history_since(state.user_id, last_event_id)
        except Exception as error:  # Redis down: the client reloads instead
            log.warning("replay for socket %s failed: %r", sid, error)
            missed = None
        if missed is None:
            await self._send_direct(sid, RESYNC, {"eventId": None, "ts": utc_timestamp()})
            state.last_id = None
        else:
            for event in missed:
                await self._send_direct(sid, event.name, event.data)
                state.last_id = parse_event_id(event.event_id)
        held, state.held = state.held, None
        for name, data in held:
            if self._admit(state, name, data):
                await self._send_direct(sid, name, data)

    async def history_since(self, user_id: int, last_event_id: str) -> list[StoredEvent] | None:
        raise NotImplementedError

    def _admit(self, state: SocketState, event: str, data: Any) -> bool:
        """Tell whether to send an event to a socket now; hold it back during a replay."""
        key = parse_event_id(data.get("eventId")) if isinstance(data, dict) else None
        if key is None:
            return True
        if state.held is not None:
            state.held.append((event, data))
            return False
        if state.last_id is not None and key <= state.last_id:
            return False
        state.last_id = key
        return True

    async def deliver(self, event: str, data: Any, namespace: str, room: Any) -> None:
        """Send an event to this instance's sockets in `room`, encoding it once."""
        namespace = namespace or "/"
        if namespace not in self.rooms:
            return
        encoded = self.server.packet_class(
            packet.EVENT, namespace=namespace, data=[event, data]
        ).encode()
        packets = [eio_packet.Packet(eio_packet.MESSAGE, item) for item in _as_list(encoded)]
        for sid, eio_sid in list(self.get_participants(namespace, room)):  # type: ignore[attr-defined]
            state = self.sockets.get(sid)
            if state is not None and not self._admit(state, event, data):
                continue
            for item in packets:
                await self.server._send_eio_packet(eio_sid, item)

    async def _send_direct(self, sid: str, event: str, data: Any) -> None:
        namespace = "/"
        eio_sid = self.eio_sid_from_sid(sid, namespace)  # type: ignore[attr-defined]
        if eio_sid is None:
            return
        encoded = self.server.packet_class(
            packet.EVENT, namespace=namespace, data=[event, data]
        ).encode()
        for item in _as_list(encoded):
            await self.server._send_eio_packet(eio_sid, eio_packet.Packet(eio_packet.MESSAGE, item))


def _as_list(encoded: Any) -> list[Any]:
    return encoded if isinstance(encoded, list) else [encoded]


class LiveManager(ReplayMixin, socketio.AsyncManager):  # type: ignore[misc]
    """The embedded mode's manager: events and their history stay in this process."""

    def __init__(self) -> None:
        super().__init__()
        self._init_replay()
        self.history = MemoryHistory()

    async def publish_events(self, events: Sequence[RoomEvent]) -> list[str]:
        ids = []
        for event in events:
            payload = {**event.data, "ts": utc_timestamp()}
            event_id = self.history.append(event.user_id, event.name, payload)
            await self.deliver(event.name, {**payload, "eventId": event_id}, "/", event.room)
            ids.append(event_id)
        return ids

    async def history_since(self, user_id: int, last_event_id: str) -> list[StoredEvent] | None:
        events = await self.history.since(user_id, last_event_id)
        if events is None:
            return None
        return [StoredEvent(e.event_id, e.name, {**e.data, "eventId": e.event_id}) for e in events]

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        target = to or room
        if callback is None and skip_sid is None and isinstance(data, dict) and "eventId" in data:
            await self.deliver(event, data, namespace, target)
            return
        await super().emit(
            event, data, namespace, room=target, skip_sid=skip_sid, callback=callback, **kwargs
        )


class LiveRedisManager(ReplayMixin, socketio.AsyncRedisManager):  # type: ignore[misc]
    """A Redis manager with one channel per user and watch room.

    python-socketio's own Redis manager publishes every emit on one channel, so every
    instance decodes every message. Here an instance subscribes to the channel of a room
    while one of its sockets is in it. Control messages (room changes, disconnects,
    broadcasts) stay on the main channel that every instance reads.
    """

    def __init__(self, redis_url: str, *, channel: str, prefix: str, write_only: bool = False):
        super().__init__(redis_url, channel=channel, write_only=write_only, logger=log)
        self._init_replay()
        self._history_client = _redis_client(redis_url)
        self.history = RedisHistory(self._history_client, prefix)
        self._subscribed: set[str] = set()
        self._subscription_lock = asyncio.Lock()
        self._listening = asyncio.Event()
        self._connections = 0

    def room_channel(self, room: Any) -> str:
        channel: str = self.channel
        if isinstance(room, str) and room.startswith(ROUTED_ROOM_PREFIXES):
            return f"{channel}#{room}"
        return channel

    async def publish_events(self, events: Sequence[RoomEvent]) -> list[str]:
        """Store events in their users' histories and publish them, all in one Redis step."""
        outgoing = []
        placeholder = orjson.dumps(EVENT_ID_PLACEHOLDER)[1:-1]
        for event in events:
            payload = {**event.data, "ts": utc_timestamp()}
            message = {
                "method": "emit",
                "event": event.name,
                "data": [{**payload, "eventId": EVENT_ID_PLACEHOLDER}],
                "binary": False,
                "namespace": "/",
                "room": event.room,
                "skip_sid": None,
                "callback": None,
                # Not this instance's host id: the sender receives its own event from Redis
                # like every other instance, so all of them see one order.
                "host_id": "event-bus",
            }
            before, _, after = orjson.dumps(message).partition(placeholder)
            channel = self.room_channel(event.room)
            outgoing.append(
                OutgoingEvent(event.user_id, event.name, payload, channel, (before, after))
            )
        return await self.history.append_and_publish(outgoing)

    async def history_since(self, user_id: int, last_event_id: str) -> list[StoredEvent] | None:
        events = await self.history.since(user_id, last_event_id)
        if events is None:
            return None
        return [StoredEvent(e.event_id, e.name, {**e.data, "eventId": e.event_id}) for e in events]

    async def _handle_emit(self, message: dict[str, Any]) -> None:
        data = message["data"]
        if message.get("callback") is None and not message.get("skip_sid") and len(data) == 1:
            await self.deliver(
                message["event"], data[0], message.get("namespace") or "/", message.get("room")
            )
            return
        await super()._handle_emit(message)

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: Any = None,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        target = to or room
        if kwargs.get("ignore_queue") or callback is not None or skip_sid is not None:
            await super().emit(
                event,
                data,
                namespace=namespace,
                room=target,
                skip_sid=skip_sid,
                callback=callback,
                **kwargs,
            )
            return
        message = {
            "method": "emit",
            "event": event,
            "data": [data],
            "binary": False,
            "namespace": namespace or "/",
            "room": target,
            "skip_sid": None,
            "callback": None,
            "host_id": self.host_id,
        }
        await self._handle_emit(message)
        await self._publish(message)

    async def _publish(self, data: Any) -> Any:
        channel = (
            self.room_channel(data.get("room")) if data.get("method") == "emit" else self.channel
        )
        for attempt in (1, 2):
            try:
                if not self.connected:  # type: ignore[has-type]
                    self._redis_connect()
                return await self.redis.publish(channel, orjson.dumps(data))
            except Exception as error:  # the library logs and gives up in the same way
                self.connected = False
                if attempt == 2:
                    log.error("cannot publish to Redis, message dropped: %r", error)
        return None

    async def enter_room(self, sid: str, namespace: str, room: str, eio_sid: Any = None) -> None:
        await super().enter_room(sid, namespace, room, eio_sid=eio_sid)
        if not self.write_only and not self._listening.is_set():
            # The subscription starts with the first connection; events published before it
            # exists would miss this socket.
            try:
                await asyncio.wait_for(self._listening.wait(), timeout=2)
            except TimeoutError:
                log.warning("joined room %s before the Redis subscription was ready", room)
        await self._sync_subscriptions()

    async def leave_room(self, sid: str, namespace: str, room: str) -> None:
        await super().leave_room(sid, namespace, room)
        await self._sync_subscriptions()

    async def disconnect(self, sid: str, namespace: str, **kwargs: Any) -> None:
        self.forget(sid)
        await super().disconnect(sid, namespace, **kwargs)
        await self._sync_subscriptions()

    async def _handle_close_room(self, message: dict[str, Any]) -> None:
        await super()._handle_close_room(message)
        await self._sync_subscriptions()

    def _needed_channels(self) -> set[str]:
        needed = {self.channel}
        for rooms in self.rooms.values():
            for room, members in rooms.items():
                channel = self.room_channel(room)
                if channel != self.channel and members:
                    needed.add(channel)
        return needed

    async def _sync_subscriptions(self) -> None:
        if self.write_only or self.pubsub is None or not self._subscribed:
            return
        async with self._subscription_lock:
            needed = self._needed_channels()
            added, removed = needed - self._subscribed, self._subscribed - needed
            try:
                if added:
                    await self.pubsub.subscribe(*added)
                if removed:
                    await self.pubsub.unsubscribe(*removed)
            except Exception as error:  # the listener resubscribes everything on reconnect
                log.warning("room subscription change failed: %r", error)
                return
            self._subscribed = needed

    async def _redis_listen_with_retries(self) -> Any:
        retry_sleep = 1.0
        while True:
            try:
                self._redis_connect()
                async with self._subscription_lock:
                    self._subscribed = self._needed_channels()
                    await self.pubsub.subscribe(*self._subscribed)
                self._listening.set()
                self._connections += 1
                if self._connections > 1:
                    # Messages published while the subscription was down are lost; replay
                    # each local socket from the last event it received.
                    self.server.start_background_task(self._catch_up)
                retry_sleep = 1.0
                async for message in self.pubsub.listen():
                    yield message
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.error("Redis subscription lost, retrying in %.0fs: %r", retry_sleep, error)
                self._subscribed = set()
                self._listening.clear()
                await asyncio.sleep(retry_sleep)
                retry_sleep = min(retry_sleep * 2, 10.0)

    async def _listen(self) -> Any:
        async for message in self._redis_listen_with_retries():
            if message["type"] == "message" and "data" in message:
                yield orjson.loads(message["data"])

    async def _catch_up(self) -> None:
        for sid, state in list(self.sockets.items()):
            if state.last_id is None:
                # The socket's position is unknown, so it reloads over REST.
                await self._send_direct(sid, RESYNC, {"eventId": None, "ts": utc_timestamp()})
            else:
                await self.replay(sid, f"{state.last_id[0]}-{state.last_id[1]}")

    async def close(self) -> None:
        await self._history_client.aclose()


def _redis_client(url: str) -> Any:
    from redis.asyncio import Redis

    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
