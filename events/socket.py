"""The Socket.IO server that shares the aiohttp app's port."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import socketio

from events.lean_queue import LeanSocketServer
from events.manager import LiveManager, LiveRedisManager
from events.names import user_room

log = logging.getLogger(__name__)

# Return the user id an access token belongs to, or raise ValueError with the reason.
TokenVerifier = Callable[[str], int]
# Handle a live-session client event and return its acknowledgement. The arguments are the
# namespace, the sid, the user id, the event name and the event data.
SessionEventHandler = Callable[["LiveNamespace", str, int, str, Any], Awaitable[dict[str, Any]]]


class LiveNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    """The default namespace: each connection joins the room of the user its token names."""

    def __init__(
        self, verify_token: TokenVerifier, session_events: SessionEventHandler | None = None
    ):
        super().__init__("/")
        self._verify_token = verify_token
        self._session_events = session_events

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        if not isinstance(token, str) or not token:
            raise socketio.exceptions.ConnectionRefusedError(
                "missing token: connect with auth={token: <access token>}", {"code": 401}
            )
        try:
            user_id = self._verify_token(token)
        except ValueError as error:
            raise socketio.exceptions.ConnectionRefusedError(str(error), {"code": 401}) from None
        last_event_id = auth.get("lastEventId")
        if not isinstance(last_event_id, str) or not last_event_id:
            last_event_id = None
        await self.save_session(sid, {"user_id": user_id})
        manager = self.server.manager
        # Live events for this socket wait until it has its connect reply and any replay.
        manager.track(sid, user_id, last_event_id or "")
        await self.enter_room(sid, user_room(user_id))
        self.server.start_background_task(self._after_connect, sid, last_event_id)
        log.debug("socket connected", extra={"sid": sid, "user_id": user_id})

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        self.server.manager.forget(sid)

    async def _after_connect(self, sid: str, last_event_id: str | None) -> None:
        manager = self.server.manager
        # The connect reply is queued just before the manager marks the socket connected.
        for _ in range(500):
            if manager.is_connected(sid, "/"):
                break
            await asyncio.sleep(0.01)
        else:
            return
        if last_event_id is None:
            await manager.release(sid)
        else:
            await manager.replay(sid, last_event_id)

    async def trigger_event(self, event: str, *args: Any) -> Any:
        # No method name can hold the ':' of `session:log_set`, so it is handled by
        # `on_session_log_set`.
        if event.startswith("session:"):
            event = event.replace(":", "_", 1)
        return await super().trigger_event(event, *args)

    async def on_session_log_set(self, sid: str, data: Any = None, *_: Any) -> dict[str, Any]:
        return await self._session_event(sid, "session:log_set", data)

    async def on_session_update_set(self, sid: str, data: Any = None, *_: Any) -> dict[str, Any]:
        return await self._session_event(sid, "session:update_set", data)

    async def on_session_delete_set(self, sid: str, data: Any = None, *_: Any) -> dict[str, Any]:
        return await self._session_event(sid, "session:delete_set", data)

    async def on_session_start_timer(self, sid: str, data: Any = None, *_: Any) -> dict[str, Any]:
        return await self._session_event(sid, "session:start_timer", data)

    async def on_session_stop_timer(self, sid: str, data: Any = None, *_: Any) -> dict[str, Any]:
        return await self._session_event(sid, "session:stop_timer", data)

    async def on_session_watch(self, sid: str, data: Any = None, *_: Any) -> dict[str, Any]:
        return await self._session_event(sid, "session:watch", data)

    async def on_session_leave(self, sid: str, data: Any = None, *_: Any) -> dict[str, Any]:
        return await self._session_event(sid, "session:leave", data)

    async def _session_event(self, sid: str, event: str, data: Any) -> dict[str, Any]:
        if self._session_events is None:
            return {"ok": False, "error": "live sessions are not served here", "status": 503}
        user_id: int = (await self.get_session(sid))["user_id"]
        return await self._session_events(self, sid, user_id, event, data)


def create_socket_server(
    verify_token: TokenVerifier,
    *,
    redis_url: str | None,
    channel: str,
    prefix: str,
    cors_origins: list[str] | str | None = None,
    session_events: SessionEventHandler | None = None,
) -> socketio.AsyncServer:
    """Create the server; with `redis_url`, emits reach the sockets of every instance."""
    manager: LiveManager | LiveRedisManager
    if redis_url is None:
        manager = LiveManager()
    else:
        manager = LiveRedisManager(redis_url, channel=channel, prefix=prefix)
    server = LeanSocketServer(
        async_mode="aiohttp",
        client_manager=manager,
        cors_allowed_origins=cors_origins,
        logger=log,
        engineio_logger=False,
    )
    server.register_namespace(LiveNamespace(verify_token, session_events))
    return server


def create_write_only_manager(redis_url: str, *, channel: str, prefix: str) -> LiveRedisManager:
    """Create the manager a worker publishes through; it sends to Redis and receives nothing."""
    return LiveRedisManager(redis_url, channel=channel, prefix=prefix, write_only=True)
