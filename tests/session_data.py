"""Helpers for the live-session tests: requests, socket calls and event collection."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

from tests.helpers import register
from tests.live import LiveClient
from tests.workout_data import Client, Login, create_category

BENCH = {"type": "weight", "name": "Bench Press", "unit": "kg"}


def url_of(client: Client) -> str:
    return str(client.make_url("/"))


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def start_session(client: Client, login: Login, category_id: str | None = None) -> str:
    if category_id is None:
        category_id = await create_category(client, login)
    response = await client.post(
        "/sessions", json={"categoryId": category_id}, headers=login["headers"]
    )
    assert response.status == 201, await response.text()
    session_id: str = (await response.json())["id"]
    return session_id


def set_body(
    client_id: str,
    value: float | None = 100,
    reps: int = 5,
    exercise: dict[str, Any] | None = None,
    performed_at: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "clientId": client_id,
        "exercise": exercise or BENCH,
        "value": value,
        "reps": reps,
    }
    if performed_at is not None:
        body["performedAt"] = performed_at
    return body


async def post_set(
    client: Client, login: Login, session_id: str, body: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    response = await client.post(
        f"/sessions/{session_id}/sets", json=body, headers=login["headers"]
    )
    reply: dict[str, Any] = await response.json()
    return response.status, reply


async def get_session(client: Client, login: Login, session_id: str) -> dict[str, Any]:
    response = await client.get(f"/sessions/{session_id}", headers=login["headers"])
    assert response.status == 200, await response.text()
    reply: dict[str, Any] = await response.json()
    return reply


async def grant(client: Client, owner: Login, session_id: str, watcher: Login) -> None:
    response = await client.post(
        f"/sessions/{session_id}/watchers",
        json={"email": watcher["email"]},
        headers=owner["headers"],
    )
    assert response.status == 201, await response.text()


async def connect(client: Client, login: Login) -> LiveClient:
    live = LiveClient()
    await live.connect(url_of(client), login["accessToken"])
    return live


async def call(live: LiveClient, event: str, data: Any) -> dict[str, Any]:
    """Send a client event and return its acknowledgement."""
    ack: dict[str, Any] = await live.sio.call(event, data, timeout=10)
    return ack


async def watch(live: LiveClient, session_id: str) -> dict[str, Any]:
    return await call(live, "session:watch", {"sessionId": session_id})


async def collect(live: LiveClient, name: str, count: int, timeout: float = 10) -> list[Any]:
    """Return the data of the next `count` events called `name`, skipping other events."""
    found = []
    for _ in range(count):
        _, data = await live.next_event(name, timeout=timeout)
        found.append(data)
    return found


async def received_within(live: LiveClient, name: str, seconds: float) -> list[Any]:
    """Return the data of every event called `name` that arrives within `seconds`."""
    found = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            event, data = await asyncio.wait_for(live.events.get(), timeout=left)
        except TimeoutError:
            break
        if event == name:
            found.append(data)
    return found


async def users(client: Client, count: int) -> list[Login]:
    return [await register(client) for _ in range(count)]


def iso_at(second: int) -> str:
    moment = datetime(2026, 3, 2, 18, 0, second, tzinfo=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
