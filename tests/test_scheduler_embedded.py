"""Without Redis the server sends the periodic tasks itself, once per tick, in process."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from taskiq import Context, TaskiqDepends

from server.app import SERVICES, create_app
from server.config import Settings
from storage.db import Database
from storage.models import DeadLetter, RefreshToken, User
from storage.types import utcnow
from tasks.registry import PURGE_EXPIRED
from tasks.scheduler import SCHEDULES, Schedule, current_tick, tick_task_id
from tests.conftest import ClientFactory, start_app

Client = TestClient[Any, Any]
SCHEDULER_TASK = "in-process-scheduler"
RECORD = "test.record"
RECORD_HOURLY = "test.record_hourly"
FAIL = "test.fail"


ServerStarter = Callable[..., Awaitable[Client]]


@pytest.fixture
async def start_server(sqlite_settings: Settings) -> AsyncIterator[ServerStarter]:
    """Start embedded servers that send the given schedules, and stop them after the test.

    Each call takes the schedules and a mapping of extra task names to functions, which it
    registers on the server's broker.
    """
    clients: list[Client] = []

    async def start(
        schedules: tuple[Schedule, ...], tasks: dict[str, Callable[..., Any]] | None = None
    ) -> Client:
        app = create_app(sqlite_settings)
        services = app[SERVICES]
        services.schedules = schedules
        for name, function in (tasks or {}).items():
            services.broker.register_task(function, task_name=name)
        return await start_app(app, clients)

    yield start
    for client in reversed(clients):
        await client.close()


def task_recorder(task_ids: list[str]) -> Callable[..., Any]:
    async def record(context: Context = TaskiqDepends()) -> None:
        task_ids.append(context.message.task_id)

    return record


async def fail() -> None:
    raise RuntimeError("scheduled test task failed")


def scheduler_running() -> bool:
    return any(task.get_name() == SCHEDULER_TASK for task in asyncio.all_tasks())


async def add_refresh_token(db: Database, token_hash: str, expires_in: timedelta) -> None:
    async with db.transaction() as session:
        user = await session.scalar(select(User))
        if user is None:
            user = User(email="purge@example.com", password_hash="x")
            session.add(user)
            await session.flush()
        session.add(
            RefreshToken(user_id=user.id, token_hash=token_hash, expires_at=utcnow() + expires_in)
        )


async def token_hashes(db: Database) -> set[str]:
    async with db.read() as session:
        return set(await session.scalars(select(RefreshToken.token_hash)))


async def wait_for_tokens(db: Database, expected: set[str]) -> None:
    async with asyncio.timeout(20):
        while await token_hashes(db) != expected:
            await asyncio.sleep(0.1)


async def dead_letter_count(db: Database, task_name: str) -> int:
    async with db.read() as session:
        count = await session.scalar(
            select(func.count()).select_from(DeadLetter).where(DeadLetter.task_name == task_name)
        )
    return count or 0


async def test_embedded_server_purges_tokens(
    sqlite_settings: Settings, start_server: ServerStarter
) -> None:
    db = Database(sqlite_settings.sqlalchemy_url)
    try:
        await add_refresh_token(db, "a" * 64, timedelta(hours=-1))
        await add_refresh_token(db, "b" * 64, timedelta(days=1))
        await start_server((Schedule(PURGE_EXPIRED, 1),))
        await wait_for_tokens(db, {"b" * 64})

        # A token added after the first purge is deleted by a later tick.
        await add_refresh_token(db, "c" * 64, timedelta(hours=-1))
        await wait_for_tokens(db, {"b" * 64})
    finally:
        await db.dispose()


async def test_embedded_scheduler_sends_tick_once(start_server: ServerStarter) -> None:
    task_ids: list[str] = []
    schedules = (Schedule(RECORD_HOURLY, 3600), Schedule(RECORD, 1))
    recorder = task_recorder(task_ids)
    first_hour = current_tick(schedules[0], time.time())
    await start_server(schedules, {RECORD: recorder, RECORD_HOURLY: recorder})
    async with asyncio.timeout(20):
        while sum(task_id.startswith(f"schedule-{RECORD}-") for task_id in task_ids) < 4:
            await asyncio.sleep(0.1)

    # The loop woke at least four times, and each wake found the hourly tick already sent.
    runs = Counter(task_ids)
    assert all(count == 1 for count in runs.values()), runs
    hourly = [task_id for task_id in runs if task_id.startswith(f"schedule-{RECORD_HOURLY}-")]
    # Two hourly ticks when the test runs across the start of an hour.
    assert 1 <= len(hourly) <= 2
    assert hourly[0] in (
        tick_task_id(schedules[0], first_hour),
        tick_task_id(schedules[0], first_hour + 1),
    )


async def test_embedded_scheduler_survives_failures(
    start_server: ServerStarter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    task_ids: list[str] = []
    schedules = (Schedule(FAIL, 1), Schedule("test.unknown", 1), Schedule(RECORD, 1))
    client = await start_server(schedules, {FAIL: fail, RECORD: task_recorder(task_ids)})
    db = client.app[SERVICES].db
    # Each failed run of the failing task becomes a dead letter, and the other ticks go on.
    async with asyncio.timeout(20):
        while len(task_ids) < 3 or await dead_letter_count(db, FAIL) < 2:
            await asyncio.sleep(0.1)

    unsent = [
        record
        for record in caplog.records
        if record.name == "tasks.scheduler" and record.levelno == logging.ERROR
    ]
    assert len(unsent) >= 2
    assert "schedule-test.unknown-" in unsent[0].getMessage()
    assert scheduler_running()


async def test_embedded_scheduler_stops_with_app(
    sqlite_settings: Settings, make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    client = await make_client(sqlite_settings)
    assert client.app[SERVICES].schedules == SCHEDULES
    assert scheduler_running()

    await client.close()

    assert not scheduler_running()
    messages = [record.getMessage() for record in caplog.records]
    assert f"in-process scheduler started with {len(SCHEDULES)} schedules" in messages
    assert "in-process scheduler stopped" in messages
    # Services warns of a loop it had to cancel, asyncio of a task left pending.
    warnings = [
        record.getMessage()
        for record in caplog.records
        if record.name in ("server.services", "tasks.scheduler", "asyncio")
        and record.levelno >= logging.WARNING
    ]
    assert warnings == []


async def test_redis_server_runs_no_scheduler(
    pg_settings: Settings, make_client: ClientFactory
) -> None:
    await make_client(pg_settings)
    assert not scheduler_running()
