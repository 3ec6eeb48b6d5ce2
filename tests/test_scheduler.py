"""The scheduler sends each periodic task once per tick, with two schedulers running."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import orjson
from redis.asyncio import Redis
from sqlalchemy import func, select

from server.config import Settings
from storage.db import Database
from storage.models import RefreshToken, User
from storage.types import utcnow
from tasks.registry import PURGE_EXPIRED
from tasks.scheduler import Schedule, schedule_tasks
from tests.conftest import REDIS_URL


async def test_two_schedulers_send_once_per_tick(pg_settings: Settings) -> None:
    schedules = (Schedule(PURGE_EXPIRED, 1),)
    stop = asyncio.Event()
    runs = [asyncio.create_task(schedule_tasks(pg_settings, stop, schedules)) for _ in range(2)]
    await asyncio.sleep(3.5)
    stop.set()
    await asyncio.gather(*runs)

    redis = Redis.from_url(REDIS_URL)
    try:
        entries = await redis.xrange(f"{pg_settings.redis_prefix}tasks")
    finally:
        await redis.aclose()
    ticks = [
        int(orjson.loads(fields[b"data"])["task_id"].rsplit("-", 1)[1]) for _, fields in entries
    ]
    assert 3 <= len(ticks) <= 5
    assert sorted(ticks) == list(range(min(ticks), min(ticks) + len(ticks)))


async def test_purge_task_deletes_expired_tokens(pg_settings: Settings, worker: None) -> None:
    db = Database(pg_settings.sqlalchemy_url, schema=pg_settings.database_schema)
    async with db.transaction() as session:
        user = User(email="purge@example.com", password_hash="x")
        session.add(user)
        await session.flush()
        session.add(
            RefreshToken(
                user_id=user.id, token_hash="a" * 64, expires_at=utcnow() - timedelta(hours=1)
            )
        )
        session.add(
            RefreshToken(
                user_id=user.id, token_hash="b" * 64, expires_at=utcnow() + timedelta(days=1)
            )
        )

    stop = asyncio.Event()
    run = asyncio.create_task(schedule_tasks(pg_settings, stop, (Schedule(PURGE_EXPIRED, 1),)))
    try:
        async with asyncio.timeout(20):
            while True:
                async with db.read() as session:
                    count = await session.scalar(select(func.count()).select_from(RefreshToken))
                if count == 1:
                    break
                await asyncio.sleep(0.2)
    finally:
        stop.set()
        await run
        await db.dispose()
    async with db.read() as session:
        remaining = await session.scalar(select(RefreshToken.token_hash))
    assert remaining == "b" * 64
    await db.dispose()
