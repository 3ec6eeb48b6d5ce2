"""The scheduler sends each periodic task once per tick, with two schedulers running.

tests/test_scheduler_processes.py runs the same on real processes, across a restart.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import orjson
from redis.asyncio import Redis
from sqlalchemy import func, select

from server.config import Settings
from storage.db import Database
from storage.models import RefreshToken, User
from storage.types import utcnow
from tasks.broker import create_broker
from tasks.registry import PURGE_EXPIRED
from tasks.scheduler import Schedule, schedule_tasks, send_tick, tick_task_id
from tests.conftest import REDIS_URL


async def sent_task_ids(settings: Settings) -> list[str]:
    redis = Redis.from_url(REDIS_URL)
    try:
        entries: Any = await redis.xrange(f"{settings.redis_prefix}tasks")
    finally:
        await redis.aclose()
    return [orjson.loads(fields[b"data"])["task_id"] for _, fields in entries]


async def test_two_schedulers_send_once_per_tick(pg_settings: Settings) -> None:
    schedules = (Schedule(PURGE_EXPIRED, 1),)
    stop = asyncio.Event()
    runs = [asyncio.create_task(schedule_tasks(pg_settings, stop, schedules)) for _ in range(2)]
    try:
        async with asyncio.timeout(30):
            while len(await sent_task_ids(pg_settings)) < 4:
                await asyncio.sleep(0.2)
    finally:
        stop.set()
        await asyncio.gather(*runs)
    task_ids = await sent_task_ids(pg_settings)
    # A tick of one second can pass unsent on a loaded machine, so this checks only that no
    # tick was sent twice. The process test checks that no minute tick is lost.
    assert len(task_ids) == len(set(task_ids))


async def test_send_tick_adds_one_message(pg_settings: Settings) -> None:
    """Concurrent sends of one tick from two brokers add one message and one sent mark."""
    schedule = Schedule(PURGE_EXPIRED, 60)
    brokers = [create_broker(pg_settings) for _ in range(2)]
    for broker in brokers:
        await broker.startup()
    try:
        sends = [send_tick(broker, schedule, 1000) for broker in brokers for _ in range(10)]
        await asyncio.gather(*sends)
        assert await sent_task_ids(pg_settings) == [tick_task_id(schedule, 1000)]

        await send_tick(brokers[1], schedule, 1001)
        assert await sent_task_ids(pg_settings) == [
            tick_task_id(schedule, 1000),
            tick_task_id(schedule, 1001),
        ]
    finally:
        for broker in brokers:
            await broker.shutdown()

    redis = Redis.from_url(REDIS_URL)
    try:
        mark = f"{pg_settings.redis_prefix}tasks:sent:{tick_task_id(schedule, 1000)}"
        ttl = await redis.ttl(mark)
    finally:
        await redis.aclose()
    # The mark outlives the tick, so a scheduler restarted late in it still finds the mark.
    assert 60 < ttl <= 120


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
