"""The scheduler: sends each periodic task once per tick, however many schedulers run.

Each scheduler wakes every second and sends the current tick of each schedule under the task
id `schedule-<task name>-<tick number>`. The broker adds that message only if no scheduler
added it before, checking and adding in one atomic Redis step (SEND_ONCE_LABEL). So each tick
is sent once with several schedulers running or a scheduler restarted within the tick, and a
scheduler killed at any moment leaves the tick either sent or still free for the next try.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from dataclasses import dataclass

from redis.exceptions import RedisError
from taskiq import AsyncBroker
from taskiq.exceptions import SendTaskError

from server.config import Settings
from tasks.broker import SEND_ONCE_LABEL, ReclaimingStreamBroker, create_broker
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


def tick_task_id(schedule: Schedule, tick: int) -> str:
    """Return the task id of one tick, which `tasks.notify.scheduled_time` parses back."""
    return f"schedule-{schedule.task_name}-{tick}"


async def send_tick(broker: AsyncBroker, schedule: Schedule, tick: int) -> None:
    """Send one tick of the schedule unless a scheduler has sent it already.

    The broker keeps the sent mark for two intervals: long enough for a scheduler restarted
    late in the tick, or one whose clock runs behind by less than an interval.
    """
    task = broker.find_task(schedule.task_name)
    assert task is not None, f"schedule names unknown task {schedule.task_name!r}"
    kicker = task.kicker().with_task_id(tick_task_id(schedule, tick))
    await kicker.with_labels(**{SEND_ONCE_LABEL: schedule.every_seconds * 2}).kiq()


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
    # Only this broker honours SEND_ONCE_LABEL. Another would send every tick each second.
    assert isinstance(broker, ReclaimingStreamBroker), "the scheduler needs the Redis broker"
    await broker.startup()
    log.info("scheduler started with %d schedules", len(schedules))
    try:
        while not stop.is_set():
            now = time.time()
            for schedule in schedules:
                await _send_current_tick(broker, schedule, now)
            await _sleep_until_next_tick(stop, now)
    finally:
        await broker.shutdown()
        log.info("scheduler stopped")


async def _send_current_tick(broker: AsyncBroker, schedule: Schedule, now: float) -> None:
    try:
        await send_tick(broker, schedule, current_tick(schedule, now))
    except (RedisError, SendTaskError) as error:
        log.warning("scheduler could not reach Redis, retrying next second: %r", error)


async def _sleep_until_next_tick(stop: asyncio.Event, now: float) -> None:
    # Waking each second is cheap, and retries soon a send that failed while Redis was down.
    delay = 1.0 - (now % 1.0)
    try:
        await asyncio.wait_for(stop.wait(), timeout=delay)
    except TimeoutError:
        pass
