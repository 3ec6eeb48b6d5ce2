"""A deployment of real processes: two servers and workers on PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from server.config import Settings
from tests.conftest import PG_ADMIN_DSN, PG_DATABASE
from tests.helpers import PASSWORD, random_email
from tests.live import LiveClient
from tests.processes import Process, Server, Worker

WORKOUT = {
    "notes": "heavy day",
    "exercises": [
        {
            "type": "weight",
            "name": "Bench Press",
            "unit": "kg",
            "order": 1,
            "setsDetail": [
                {"order": 1, "value": 100, "reps": 5},
                {"order": 2, "value": 102.5, "reps": 3},
                {"order": 3, "value": 60, "reps": 12},
                {"order": 4, "value": None, "reps": 10},
            ],
        }
    ],
}


@pytest.fixture
async def spawn(tmp_path: Path, pg_schema: str) -> AsyncIterator[Callable[..., Any]]:
    """Start processes that are all stopped at the end of the test.

    Depending on pg_schema makes the processes stop before their schema is dropped.
    """
    started: list[Process] = []

    def start(kind: type[Process], settings: Settings) -> Any:
        process = kind(settings, tmp_path / f"{kind.__name__.lower()}-{len(started)}.log")
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


async def login(session: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    email = random_email()
    credentials = {"email": email, "password": PASSWORD}
    async with session.post(f"{url}/auth/register", json=credentials) as response:
        assert response.status == 201, await response.text()
    async with session.post(f"{url}/auth/login", json=credentials) as response:
        assert response.status == 200, await response.text()
        result: dict[str, Any] = await response.json()
    result["headers"] = {"Authorization": f"Bearer {result['accessToken']}"}
    return result


async def post_workout(session: aiohttp.ClientSession, url: str, user: dict[str, Any]) -> str:
    async with session.post(
        f"{url}/categories", json={"name": "Push"}, headers=user["headers"]
    ) as response:
        assert response.status == 201, await response.text()
        category_id = (await response.json())["id"]
    async with session.post(
        f"{url}/workouts", json={**WORKOUT, "categoryId": category_id}, headers=user["headers"]
    ) as response:
        assert response.status == 201, await response.text()
        workout_id: str = (await response.json())["id"]
    return workout_id


def check_worked_example(exercise: dict[str, Any]) -> None:
    assert exercise["name"] == "Bench Press"
    assert exercise["category"] == "Push"
    assert exercise["volume"] == pytest.approx(1527.5)
    assert exercise["reps"] == 30
    assert exercise["sets"] == 4
    assert exercise["maxLoad"] == 102.5
    assert exercise["bestE1rm"] == pytest.approx(116.6667, abs=1e-3)


async def test_event_crosses_instances(spawn: Callable[..., Any], pg_settings: Settings) -> None:
    first = spawn(Server, pg_settings)
    second = spawn(Server, pg_settings)
    spawn(Worker, pg_settings)
    await first.wait_ready()
    await second.wait_ready()

    async with aiohttp.ClientSession() as session:
        user = await login(session, first.url)
        live = LiveClient()
        await live.connect(second.url, user["accessToken"])
        workout_id = await post_workout(session, first.url, user)

        _, created = await live.next_event("workout:created", timeout=15)
        assert created["id"] == workout_id
        _, progress = await live.next_event("progress:updated", timeout=15)
        assert progress["workoutIds"] == [workout_id]
        check_worked_example(progress["exercises"][0])
        assert created["eventId"] < progress["eventId"] or len(created["eventId"]) < len(
            progress["eventId"]
        )
        await live.close()


async def hold_progress_lock(user_id: str, schema: str) -> asyncpg.Connection:
    """Take the user's progress lock in an open transaction, so the job blocks on it."""
    connection = await asyncpg.connect(PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{PG_DATABASE}")
    await connection.execute("BEGIN")
    await connection.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"progress:{user_id}"
    )
    return connection


async def wait_for_blocked_job(connection: asyncpg.Connection, timeout: float = 20) -> None:
    async with asyncio.timeout(timeout):
        while True:
            waiting = await connection.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            )
            if waiting:
                return
            await asyncio.sleep(0.1)


async def test_killed_worker_job_completes_once(
    spawn: Callable[..., Any], pg_settings: Settings
) -> None:
    server = spawn(Server, pg_settings)
    first_worker = spawn(Worker, pg_settings)
    await server.wait_ready()

    async with aiohttp.ClientSession() as session:
        user = await login(session, server.url)
        live = LiveClient()
        await live.connect(server.url, user["accessToken"])
        lock = await hold_progress_lock(user["userId"], pg_settings.database_schema or "")
        try:
            await post_workout(session, server.url, user)
            await wait_for_blocked_job(lock)
            first_worker.kill()
        finally:
            await lock.execute("ROLLBACK")
            await lock.close()

        second_worker = spawn(Worker, pg_settings)
        _, progress = await live.next_event("progress:updated", timeout=30)
        check_worked_example(progress["exercises"][0])
        records = []
        while True:
            try:
                name, data = await live.next_event(timeout=3 * pg_settings.task_redelivery_seconds)
            except TimeoutError:
                break
            if name == "record:achieved":
                records.append((data["kind"], data["setId"]))
            assert name != "progress:updated", "the job ran twice"
        assert len(records) == len(set(records)), "a record was announced twice"
        assert "max_load" in {kind for kind, _ in records}
        assert "redelivering abandoned task" in second_worker.output()
        await live.close()
