"""A real Socket.IO client that records the events it receives, for tests."""

from __future__ import annotations

import asyncio
from typing import Any

import socketio


class LiveClient:
    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        self.connect_errors: list[Any] = []

        @self.sio.on("*")
        async def record(name: str, data: dict[str, Any]) -> None:
            await self.events.put((name, data))

        @self.sio.event
        async def connect_error(data: Any) -> None:
            self.connect_errors.append(data)

    async def connect(self, url: str, token: str | None, **auth: Any) -> None:
        payload = {"token": token, **auth} if token is not None else auth
        await self.sio.connect(url, auth=payload, transports=["websocket"], wait_timeout=10)

    async def next_event(
        self, name: str | None = None, timeout: float = 10
    ) -> tuple[str, dict[str, Any]]:
        """Return the next event, skipping others when `name` is given."""
        async with asyncio.timeout(timeout):
            while True:
                event = await self.events.get()
                if name is None or event[0] == name:
                    return event

    async def close(self) -> None:
        await self.sio.disconnect()
        await self.sio.shutdown()
