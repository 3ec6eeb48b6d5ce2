"""Redis and PostgreSQL going away and coming back, behind a proxy the test controls."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from server.app import SERVICES
from server.config import Settings
from storage.models import ExerciseProgress
from tests.helpers import register
from tests.proxy import Proxy

Client = TestClient[Any, Any]

WORKOUT = {
    "exercises": [
        {
            "type": "weight",
            "name": "Squat",
            "order": 1,
            "setsDetail": [{"order": 1, "value": 100, "reps": 5}],
        }
    ]
}


@pytest.fixture
async def redis_proxy() -> AsyncIterator[Proxy]:
    proxy = Proxy("127.0.0.1", 6379)
    await proxy.start()
    yield proxy
    await proxy.close()


@pytest.fixture
async def pg_proxy() -> AsyncIterator[Proxy]:
    proxy = Proxy("127.0.0.1", 5432)
    await proxy.start()
    yield proxy
    await proxy.close()


async def create_workout(client: Client, login: dict[str, Any]) -> str:
    response = await client.post("/categories", json={"name": "Legs"}, headers=login["headers"])
    assert response.status == 201, await response.text()
    category_id = (await response.json())["id"]
    response = await client.post(
        "/workouts", json={**WORKOUT, "categoryId": category_id}, headers=login["headers"]
    )
    assert response.status == 201, await response.text()
    workout_id: str = (await response.json())["id"]
    return workout_id


def through_proxy(settings: Settings, pg_proxy: Proxy) -> Settings:
    """Return the settings with PostgreSQL reached through the proxy."""
    url = settings.database_url
    assert url is not None
    proxied = url.replace("127.0.0.1:5432", f"127.0.0.1:{pg_proxy.port}")
    return settings.model_copy(update={"database_url": proxied})


async def test_rest_works_while_redis_down(
    make_client: Any, pg_settings: Settings, redis_proxy: Proxy, worker: None
) -> None:
    settings = pg_settings.model_copy(
        update={"redis_url": f"redis://127.0.0.1:{redis_proxy.port}/0"}
    )
    client = await make_client(settings)
    login = await register(client)

    await redis_proxy.cut()
    workout_id = await create_workout(client, login)
    response = await client.get("/workouts?limit=5", headers=login["headers"])
    assert response.status == 200
    assert [w["id"] for w in (await response.json())["workouts"]] == [workout_id]

    # The progress task waits in the outbox and reaches the worker once Redis is back.
    await redis_proxy.restore()
    progress = await wait_for_progress(client)
    assert progress.volume == 500


async def test_database_down_fails_fast_then_recovers(
    make_client: Any, pg_settings: Settings, pg_proxy: Proxy
) -> None:
    client = await make_client(through_proxy(pg_settings, pg_proxy))
    login = await register(client)

    await pg_proxy.cut()
    started = time.monotonic()
    response = await client.get("/categories", headers=login["headers"])
    elapsed = time.monotonic() - started
    assert response.status == 503
    assert "database unavailable" in (await response.json())["error"]
    response = await client.post("/categories", json={"name": "X"}, headers=login["headers"])
    assert response.status == 503
    response = await client.get("/ready")
    assert response.status == 503
    # NOTE: this bound is the connect timeout, not a speed figure.
    assert elapsed < 10

    await pg_proxy.restore()
    response = await client.get("/categories", headers=login["headers"])
    assert response.status == 200
    response = await client.get("/ready")
    assert response.status == 200


async def test_page_reads_survive_database_restart(
    make_client: Any, pg_settings: Settings, pg_proxy: Proxy
) -> None:
    """Pooled read connections die with the database; the next read still succeeds."""
    client = await make_client(through_proxy(pg_settings, pg_proxy))
    login = await register(client)
    workout_id = await create_workout(client, login)
    response = await client.get("/workouts?limit=5", headers=login["headers"])
    assert response.status == 200

    await pg_proxy.cut()
    response = await client.get("/workouts?limit=5", headers=login["headers"])
    assert response.status == 503
    await pg_proxy.restore()
    response = await client.get("/workouts?limit=5", headers=login["headers"])
    assert response.status == 200

    # Dropped while idle in the pool, without a failed request in between.
    await pg_proxy.cut()
    await pg_proxy.restore()
    response = await client.get("/workouts?limit=5", headers=login["headers"])
    assert response.status == 200
    assert [w["id"] for w in (await response.json())["workouts"]] == [workout_id]


async def test_writes_survive_database_restart(
    make_client: Any, pg_settings: Settings, pg_proxy: Proxy
) -> None:
    """Pooled write connections that died while idle are replaced before a write uses them."""
    client = await make_client(through_proxy(pg_settings, pg_proxy))
    login = await register(client)
    response = await client.post("/categories", json={"name": "Before"}, headers=login["headers"])
    assert response.status == 201

    await pg_proxy.cut()
    await pg_proxy.restore()
    response = await client.post("/categories", json={"name": "After"}, headers=login["headers"])
    assert response.status == 201


async def wait_for_progress(client: Client, timeout: float = 30) -> ExerciseProgress:
    db = client.app[SERVICES].db
    async with asyncio.timeout(timeout):
        while True:
            async with db.read() as session:
                progress = await session.scalar(select(ExerciseProgress))
            if progress is not None:
                return progress
            await asyncio.sleep(0.2)


async def test_worker_survives_redis_outage(
    make_client: Any, pg_settings: Settings, redis_proxy: Proxy
) -> None:
    from tasks.worker import work

    client = await make_client(pg_settings)
    login = await register(client)
    proxied = pg_settings.model_copy(
        update={"redis_url": f"redis://127.0.0.1:{redis_proxy.port}/0"}
    )
    stop = asyncio.Event()
    worker = asyncio.create_task(work(proxied, stop))
    try:
        await asyncio.sleep(0.5)
        await redis_proxy.cut()
        await asyncio.sleep(1.5)
        assert not worker.done()
        await redis_proxy.restore()

        await create_workout(client, login)
        progress = await wait_for_progress(client)
        assert progress.volume == 500
    finally:
        stop.set()
        await asyncio.wait_for(worker, timeout=30)
