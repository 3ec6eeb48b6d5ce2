"""Real `nappatzim scheduler` processes send each periodic task once per tick.

The scheduler and worker processes run with a shifted wall clock (tests/shifted_clock), so the
tick boundary a test needs, such as Monday 08:00 in Paris, comes seconds after they start.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import date, datetime, timedelta
from datetime import time as wall_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from redis.asyncio import Redis
from sqlalchemy import select

from server.config import Settings
from storage.db import Database
from storage.models import Notification, User
from storage.notifications import WEEKLY_SUMMARY
from tasks.registry import PURGE_EXPIRED, SEND_WEEKLY_SUMMARIES
from tasks.scheduler import SCHEDULES, Schedule, tick_task_id
from tests.conftest import REDIS_URL
from tests.helpers import random_email
from tests.processes import Process, Scheduler, Worker, shifted_clock
from tests.smtp import SmtpSink, smtp_server

# Real seconds from starting the processes to the tick boundary they are to cross.
LEAD_SECONDS = 20.0
# Waits poll and end as soon as their condition holds. The limits allow for a loaded machine.
START_TIMEOUT = 90.0
TICK_TIMEOUT = 150.0
PARIS = ZoneInfo("Europe/Paris")
# The line taskiq's receiver logs at INFO before it runs a message.
RUN_LINE = re.compile(r"Executing task \S+ with ID: (\S+)")
SCHEDULE = {schedule.task_name: schedule for schedule in SCHEDULES}
MINUTELY = [schedule for schedule in SCHEDULES if schedule.every_seconds == 60]


class Deployment:
    """A worker and schedulers on one shifted clock; every process stops at the end."""

    def __init__(self, settings: Settings, folder: Path, clock_shift: float):
        self.settings = settings
        self._folder = folder
        self._env = shifted_clock(clock_shift)
        self.processes: list[Process] = []
        self.killed: list[Process] = []

    def start_worker(self) -> Worker:
        worker = Worker(self.settings, self._log_path("worker"), **self._env)
        self.processes.append(worker)
        return worker

    def start_scheduler(self) -> Scheduler:
        scheduler = Scheduler(self.settings, self._log_path("scheduler"), **self._env)
        self.processes.append(scheduler)
        return scheduler

    def kill(self, process: Process) -> None:
        process.kill()
        self.killed.append(process)

    def check_running(self) -> None:
        for process in self.processes:
            if process not in self.killed and process.popen.poll() is not None:
                raise AssertionError(f"{process.log_path.name} exited early:\n{self.logs()}")

    def logs(self) -> str:
        return "\n".join(f"--- {item.log_path.name}\n{item.output()}" for item in self.processes)

    def stop(self) -> None:
        for process in self.processes:
            process.stop()

    def _log_path(self, kind: str) -> Path:
        return self._folder / f"{kind}-{len(self.processes)}.log"


@pytest.fixture
def mail() -> Iterator[SmtpSink]:
    with smtp_server() as sink:
        yield sink


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
def deployments(tmp_path: Path, pg_schema: str) -> Iterator[list[Deployment]]:
    """Collect the deployments a test starts, and stop them before pg_schema drops the schema."""
    started: list[Deployment] = []
    yield started
    for deployment in started:
        deployment.stop()


def process_settings(settings: Settings) -> Settings:
    # The default redelivery time, because the fast test value would deliver a periodic task
    # that takes a few seconds on a loaded machine again while it runs.
    return settings.model_copy(update={"task_redelivery_seconds": 60.0})


async def wait_until(
    condition: Callable[[], Awaitable[bool]], what: str, deployment: Deployment, timeout: float
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await condition():
        deployment.check_running()
        if loop.time() > deadline:
            raise AssertionError(
                f"timed out after {timeout:g}s waiting for {what}\n" + deployment.logs()
            )
        await asyncio.sleep(0.5)


async def sent_task_ids(redis: Redis, settings: Settings) -> list[str]:
    entries: Any = await redis.xrange(f"{settings.redis_prefix}tasks")
    return [orjson.loads(fields["data"])["task_id"] for _, fields in entries]


async def queue_drained(redis: Redis, settings: Settings) -> bool:
    """Return True once the workers have read and acknowledged every message in the queue."""
    stream = f"{settings.redis_prefix}tasks"
    last_added = (await redis.xinfo_stream(stream))["last-generated-id"]
    groups = await redis.xinfo_groups(stream)
    (group,) = [item for item in groups if item["name"] == f"{settings.redis_prefix}workers"]
    return bool(group["pending"] == 0 and group["last-delivered-id"] == last_added)


def sent_ticks(task_ids: list[str], schedule: Schedule) -> list[int]:
    prefix = tick_task_id(schedule, 0)[:-1]
    return sorted(int(task_id[len(prefix) :]) for task_id in task_ids if task_id.startswith(prefix))


def next_monday(zone: ZoneInfo) -> date:
    """Return the first Monday after today in `zone`.

    The summary week ends at that Monday's midnight, after users the test creates now.
    """
    today = datetime.now(zone).date()
    return today + timedelta(days=7 - today.weekday())


@pytest.mark.timeout(480)
async def test_ticks_once_across_restart(
    pg_settings: Settings, redis: Redis, deployments: list[Deployment], tmp_path: Path
) -> None:
    """Two schedulers cross an hour, and the one that sent the hourly tick is killed and restarted.

    The restart falls inside the hourly tick for certain, and inside the minute tick unless
    the new process takes most of a minute to start.
    """
    settings = process_settings(pg_settings)
    now = time.time()
    boundary = math.ceil((now + LEAD_SECONDS) / 3600) * 3600
    deployment = Deployment(settings, tmp_path, boundary - LEAD_SECONDS - now)
    deployments.append(deployment)
    worker = deployment.start_worker()
    schedulers = [deployment.start_scheduler() for _ in range(2)]

    at_boundary = [tick_task_id(item, boundary // item.every_seconds) for item in SCHEDULES]

    async def boundary_sent() -> bool:
        return set(at_boundary) <= set(await sent_task_ids(redis, settings))

    await wait_until(boundary_sent, "the ticks at the hour", deployment, START_TIMEOUT)
    hourly = tick_task_id(SCHEDULE[PURGE_EXPIRED], boundary // 3600)

    async def hourly_logged() -> bool:
        return any(f"sent task {hourly}" in item.output() for item in schedulers)

    await wait_until(hourly_logged, f"a scheduler to log {hourly}", deployment, 30)
    senders = [item for item in schedulers if f"sent task {hourly}" in item.output()]
    assert len(senders) == 1, deployment.logs()
    sender = senders[0]
    deployment.kill(sender)
    replacement = deployment.start_scheduler()

    async def replacement_started() -> bool:
        return "scheduler started" in replacement.output()

    await wait_until(replacement_started, "the restarted scheduler", deployment, START_TIMEOUT)
    next_minute = [tick_task_id(item, boundary // 60 + 1) for item in MINUTELY]

    async def next_minute_sent() -> bool:
        return set(next_minute) <= set(await sent_task_ids(redis, settings))

    await wait_until(next_minute_sent, "the ticks a minute later", deployment, TICK_TIMEOUT)
    for scheduler in deployment.processes:
        if scheduler is not worker:
            scheduler.stop()

    async def drained() -> bool:
        return await queue_drained(redis, settings)

    await wait_until(drained, "the worker to run every tick", deployment, TICK_TIMEOUT)
    deployment.stop()

    task_ids = await sent_task_ids(redis, settings)
    sent = Counter(task_ids)
    assert [task_id for task_id, count in sent.items() if count > 1] == []
    for schedule in SCHEDULES:
        ticks = sent_ticks(task_ids, schedule)
        assert ticks == list(range(ticks[0], ticks[-1] + 1)), schedule.task_name
        assert boundary // schedule.every_seconds in ticks, schedule.task_name
    for schedule in MINUTELY:
        assert boundary // 60 + 1 in sent_ticks(task_ids, schedule), schedule.task_name
    assert f"sent task {hourly}" in sender.output()
    assert f"sent task {hourly}" not in replacement.output()
    assert Counter(RUN_LINE.findall(worker.output())) == sent


@pytest.mark.timeout(480)
async def test_weekly_summary_once_from_two_schedulers(
    pg_settings: Settings,
    redis: Redis,
    mail: SmtpSink,
    deployments: list[Deployment],
    tmp_path: Path,
) -> None:
    """Two schedulers and a worker cross Monday 08:00 in Paris and the minute after it."""
    settings = process_settings(mail.settings_for(pg_settings))
    monday = next_monday(PARIS)
    due = int(datetime.combine(monday, wall_time(8, 0), PARIS).timestamp())
    iso_year, iso_week, _ = (monday - timedelta(days=7)).isocalendar()
    paris = [
        User(email=random_email(), password_hash="x", timezone="Europe/Paris") for _ in range(3)
    ]
    # 08:00 in Paris is 15:00 or 16:00 in Tokyo, where no summary is due.
    tokyo = User(email=random_email(), password_hash="x", timezone="Asia/Tokyo")
    db = Database(settings.sqlalchemy_url, schema=settings.database_schema)
    try:
        async with db.transaction() as session:
            session.add_all([*paris, tokyo])

        deployment = Deployment(settings, tmp_path, due - LEAD_SECONDS - time.time())
        deployments.append(deployment)
        worker = deployment.start_worker()
        for _ in range(2):
            deployment.start_scheduler()

        async def summaries_mailed() -> bool:
            return all(mail.to(user.email) for user in paris)

        await wait_until(summaries_mailed, "the summary emails", deployment, START_TIMEOUT)
        # Summaries stay due for the whole hour, so the run of the next minute must send none.
        summaries = SCHEDULE[SEND_WEEKLY_SUMMARIES]
        next_run = tick_task_id(summaries, due // 60 + 1)

        async def next_run_sent() -> bool:
            return next_run in await sent_task_ids(redis, settings)

        await wait_until(next_run_sent, "the next summary run", deployment, TICK_TIMEOUT)
        for process in deployment.processes:
            if process is not worker:
                process.stop()

        async def drained() -> bool:
            return await queue_drained(redis, settings)

        await wait_until(drained, "the worker to run every tick", deployment, TICK_TIMEOUT)
        deployment.stop()

        async with db.read() as session:
            rows = await session.scalars(
                select(Notification).where(Notification.kind == WEEKLY_SUMMARY)
            )
            summary_keys = sorted(row.dedup_key for row in rows)
    finally:
        await db.dispose()

    for user in paris:
        (message,) = mail.to(user.email)
        assert message["Subject"] == f"Your week {iso_week} of {iso_year}"
    assert mail.to(tokyo.email) == []
    label = f"{iso_year}-W{iso_week:02d}"
    assert summary_keys == sorted(f"weekly:{user.id}:{label}" for user in paris)
    task_ids = await sent_task_ids(redis, settings)
    ticks = sent_ticks(task_ids, summaries)
    assert ticks == sorted(set(ticks))
    assert due // 60 in ticks
    runs = Counter(RUN_LINE.findall(worker.output()))
    for tick in ticks:
        assert runs[tick_task_id(summaries, tick)] == 1, tick
