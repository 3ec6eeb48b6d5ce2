"""The scheduler: sends each periodic task once per tick, however many schedulers run.

Each scheduler wakes every second and sends the current tick of each schedule under the task
id `schedule-<task name>-<tick number>`. The broker adds that message only if no scheduler
added it before, checking and adding in one atomic Redis step (SEND_ONCE_LABEL). So each tick
is sent once with several schedulers running or a scheduler restarted within the tick, and a
scheduler killed at any moment leaves the tick either sent or still free for the next try.

Without Redis there is no `nappatzim scheduler`, so the server runs `schedule_in_process`
instead: the same ticks and task ids, sent through the in-memory broker.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError
from taskiq import AsyncBroker, InMemoryBroker
from taskiq.exceptions import SendTaskError
from taskiq.kicker import AsyncKicker

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
    kicker = _tick_kicker(broker, schedule, tick)
    await kicker.with_labels(**{SEND_ONCE_LABEL: schedule.every_seconds * 2}).kiq()


def _tick_kicker(broker: AsyncBroker, schedule: Schedule, tick: int) -> AsyncKicker[Any, Any]:
    task = broker.find_task(schedule.task_name)
    assert task is not None, f"schedule names unknown task {schedule.task_name!r}"
    return task.kicker().with_task_id(tick_task_id(schedule, tick))


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


async def schedule_in_process(
    broker: AsyncBroker, stop: asyncio.Event, schedules: tuple[Schedule, ...] = SCHEDULES
) -> None:
    """Send each tick of each schedule once through a broker that runs tasks in this process.

    The last tick sent of each schedule is kept in memory, which is enough because no other
    process sends these ticks. A restart within a tick sends that tick again, and the tasks
    are idempotent. A tick whose send fails is logged and not retried, but the next tick is
    sent.
    """
    # With a shared broker every server would send each tick, as nothing de-duplicates them.
    assert isinstance(broker, InMemoryBroker), "the in-process scheduler needs InMemoryBroker"
    last_sent: dict[Schedule, int] = {}
    log.info("in-process scheduler started with %d schedules", len(schedules))
    while not stop.is_set():
        now = time.time()
        for schedule in schedules:
            tick = current_tick(schedule, now)
            if last_sent.get(schedule) == tick:
                continue
            last_sent[schedule] = tick
            await _kick_in_process(broker, schedule, tick)
        await _sleep_until_next_tick(stop, now)
    log.info("in-process scheduler stopped")


async def _kick_in_process(broker: AsyncBroker, schedule: Schedule, tick: int) -> None:
    # The in-memory broker runs the task in its own asyncio task, whose errors the receiver
    # and RetryMiddleware log. Only a failure to start it arrives here.
    task_id = tick_task_id(schedule, tick)
    try:
        await _tick_kicker(broker, schedule, tick).kiq()
    except Exception:
        log.exception("in-process scheduler failed to send task %s", task_id)
        return
    log.debug("sent task %s", task_id)
