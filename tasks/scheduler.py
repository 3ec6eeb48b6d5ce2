"""The scheduler: sends each periodic task once per tick, however many schedulers run.

Each scheduler wakes at every tick boundary and claims the tick of each schedule with a Redis
`SET NX`; only the scheduler that wins the claim sends the task. A scheduler restarted within
the tick finds the claim taken and sends nothing.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError
from taskiq import AsyncBroker
from taskiq.exceptions import SendTaskError

from server.config import Settings
from tasks.broker import create_broker
from tasks.registry import (
    PURGE_EXPIRED,
    RESEND_EMAILS,
    SEND_REMINDERS,
    SEND_WEEKLY_SUMMARIES,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Schedule:
    task_name: str
    every_seconds: int


SCHEDULES = (
    Schedule(PURGE_EXPIRED, 3600),
    # Reminders and weekly summaries go out at users' local times, so these run every minute.
    Schedule(SEND_REMINDERS, 60),
    Schedule(SEND_WEEKLY_SUMMARIES, 60),
    Schedule(RESEND_EMAILS, 60),
)


def current_tick(schedule: Schedule, now: float) -> int:
    return int(now // schedule.every_seconds)


async def claim_tick(redis: Redis, prefix: str, schedule: Schedule, tick: int) -> bool:
    """Return True for the one caller that claims this tick of the schedule."""
    key = f"{prefix}schedule:{schedule.task_name}:{tick}"
    claimed = await redis.set(key, "1", nx=True, ex=schedule.every_seconds * 2)
    return bool(claimed)


async def run_scheduler(settings: Settings) -> None:
    """Send periodic tasks until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await schedule_tasks(settings, stop, SCHEDULES)


async def schedule_tasks(
    settings: Settings, stop: asyncio.Event, schedules: tuple[Schedule, ...]
) -> None:
    assert settings.redis_url is not None, "the scheduler needs REDIS_URL"
    broker = create_broker(settings)
    redis = Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=5)
    await broker.startup()
    log.info("scheduler started with %d schedules", len(schedules))
    try:
        while not stop.is_set():
            now = time.time()
            for schedule in schedules:
                await _send_if_claimed(broker, redis, settings.redis_prefix, schedule, now)
            await _sleep_until_next_tick(stop, now)
    finally:
        await broker.shutdown()
        await redis.aclose()
        log.info("scheduler stopped")


async def _send_if_claimed(
    broker: AsyncBroker, redis: Redis, prefix: str, schedule: Schedule, now: float
) -> None:
    tick = current_tick(schedule, now)
    try:
        if not await claim_tick(redis, prefix, schedule, tick):
            return
        task = broker.find_task(schedule.task_name)
        assert task is not None, f"schedule names unknown task {schedule.task_name!r}"
        # NOTE: a Redis failure between the claim and the send skips this tick.
        await task.kicker().with_task_id(f"schedule-{schedule.task_name}-{tick}").kiq()
        log.info("sent %s for tick %d", schedule.task_name, tick)
    except (RedisError, SendTaskError) as error:
        log.warning("scheduler could not reach Redis, retrying next second: %r", error)


async def _sleep_until_next_tick(stop: asyncio.Event, now: float) -> None:
    # Wake each second: cheap, and a claim missed while Redis was down is retried soon.
    delay = 1.0 - (now % 1.0)
    try:
        await asyncio.wait_for(stop.wait(), timeout=delay)
    except TimeoutError:
        pass
