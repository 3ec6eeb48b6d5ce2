"""Killed processes during a live session: no set and no event is lost."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from server.config import Settings
from tests.live import LiveClient
from tests.processes import Process, Server, Worker
from tests.test_deployment import login


@pytest.fixture
async def spawn(tmp_path: Path, pg_schema: str) -> AsyncIterator[Callable[..., Any]]:
    # Depending on pg_schema makes the processes stop before their schema is dropped.
    started: list[Process] = []

    def start(kind: type[Process], settings: Settings) -> Any:
        process = kind(settings, tmp_path / f"{kind.__name__.lower()}-{len(started)}.log")
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


async def start_session(session: aiohttp.ClientSession, url: str, user: dict[str, Any]) -> str:
    async with session.post(
        f"{url}/categories", json={"name": "Push"}, headers=user["headers"]
    ) as r:
        assert r.status == 201, await r.text()
        category_id = (await r.json())["id"]
    async with session.post(
        f"{url}/sessions", json={"categoryId": category_id}, headers=user["headers"]
    ) as response:
        assert response.status == 201, await response.text()
        session_id: str = (await response.json())["id"]
    return session_id


async def log_set(
    session: aiohttp.ClientSession, url: str, user: dict[str, Any], session_id: str, number: int
) -> int:
    body = {
        "clientId": f"set-{number}",
        "exercise": {"type": "weight", "name": "Bench Press"},
        "value": 60 + number,
        "reps": 5,
    }
    async with session.post(
        f"{url}/sessions/{session_id}/sets", json=body, headers=user["headers"]
    ) as response:
        return response.status


async def events_until(
    live: LiveClient, name: str, count: int, timeout: float = 30
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout):
        while len(found) < count:
            event, data = await live.next_event(timeout=timeout)
            if event == name:
                found.append(data)
    return found


async def test_killed_instance_loses_no_event(
    spawn: Callable[..., Any], pg_settings: Settings
) -> None:
    first = spawn(Server, pg_settings)
    second = spawn(Server, pg_settings)
    spawn(Worker, pg_settings)
    await first.wait_ready()
    await second.wait_ready()

    async with aiohttp.ClientSession() as http:
        user = await login(http, first.url)
        session_id = await start_session(http, first.url, user)
        device = LiveClient()
        await device.connect(second.url, user["accessToken"])
        for number in range(5):
            assert await log_set(http, first.url, user, session_id, number) == 201
        seen = await events_until(device, "session:set_logged", 5)
        last_event_id = seen[-1]["eventId"]

        second.kill()
        await device.sio.shutdown()
        for number in range(5, 15):
            assert await log_set(http, first.url, user, session_id, number) == 201

        again = LiveClient()
        await again.connect(first.url, user["accessToken"], lastEventId=last_event_id)
        missed = await events_until(again, "session:set_logged", 10)
        assert [item["set"]["clientId"] for item in missed] == [f"set-{n}" for n in range(5, 15)]
        await again.close()


async def test_killed_worker_loses_no_record(
    spawn: Callable[..., Any], pg_settings: Settings
) -> None:
    server = spawn(Server, pg_settings)
    worker = spawn(Worker, pg_settings)
    await server.wait_ready()

    async with aiohttp.ClientSession() as http:
        user = await login(http, server.url)
        session_id = await start_session(http, server.url, user)
        device = LiveClient()
        await device.connect(server.url, user["accessToken"])
        for number in range(3):
            assert await log_set(http, server.url, user, session_id, number) == 201
        worker.kill()
        for number in range(3, 6):
            assert await log_set(http, server.url, user, session_id, number) == 201
        spawn(Worker, pg_settings)

        # Every set is heavier than the last, so each one must end up the heaviest load.
        async with asyncio.timeout(40):
            while True:
                event, data = await device.next_event(timeout=40)
                if (
                    event == "record:achieved"
                    and data["kind"] == "max_load"
                    and data["value"] == 65
                ):
                    break
        async with http.get(f"{server.url}/sessions/{session_id}", headers=user["headers"]) as r:
            state = await r.json()
        sets = state["exercises"][0]["setsDetail"]
        assert [s["clientId"] for s in sets] == [f"set-{n}" for n in range(6)]
        await device.close()


async def test_retry_after_instance_killed_stores_set_once(
    spawn: Callable[..., Any], pg_settings: Settings
) -> None:
    first = spawn(Server, pg_settings)
    second = spawn(Server, pg_settings)
    await first.wait_ready()
    await second.wait_ready()

    async with aiohttp.ClientSession() as http:
        user = await login(http, first.url)
        session_id = await start_session(http, first.url, user)
        device = LiveClient()
        await device.connect(second.url, user["accessToken"])
        assert await log_set(http, first.url, user, session_id, 1) == 201
        first.kill()
        # The phone did not see the reply and sends the same set to the other instance.
        assert await log_set(http, second.url, user, session_id, 1) == 200
        async with http.get(f"{second.url}/sessions/{session_id}", headers=user["headers"]) as r:
            state = await r.json()
        assert len(state["exercises"][0]["setsDetail"]) == 1
        logged = await events_until(device, "session:set_logged", 1)
        assert logged[0]["set"]["clientId"] == "set-1"
        await device.close()
