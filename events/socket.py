"""The Socket.IO server that shares the aiohttp app's port."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import socketio

from events.names import user_room

log = logging.getLogger(__name__)

# Return the user id an access token belongs to, or raise ValueError with the reason.
TokenVerifier = Callable[[str], int]


class LiveNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    """The default namespace: each connection joins the room of the user its token names."""

    def __init__(self, verify_token: TokenVerifier):
        super().__init__("/")
        self._verify_token = verify_token

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
        await self.save_session(sid, {"user_id": user_id})
        await self.enter_room(sid, user_room(user_id))
        log.debug("socket connected", extra={"sid": sid, "user_id": user_id})


def create_socket_server(
    verify_token: TokenVerifier,
    *,
    redis_url: str | None,
    channel: str,
    cors_origins: list[str] | str | None = None,
) -> socketio.AsyncServer:
    """Create the server; with `redis_url`, emits reach the sockets of every instance."""
    manager = None
    if redis_url is not None:
        manager = socketio.AsyncRedisManager(redis_url, channel=channel, logger=log)
    server = socketio.AsyncServer(
        async_mode="aiohttp",
        client_manager=manager,
        cors_allowed_origins=cors_origins,
        logger=log,
        engineio_logger=False,
    )
    server.register_namespace(LiveNamespace(verify_token))
    return server


def create_write_only_manager(redis_url: str, *, channel: str) -> socketio.AsyncRedisManager:
    """Create the manager a worker emits through; it sends to Redis and receives nothing."""
    return socketio.AsyncRedisManager(redis_url, channel=channel, write_only=True, logger=log)
