"""Tasks that exist only in tests: they fail, block on a lock, and record each run in Redis.

Runs are recorded in Redis under the test's key prefix, so a test reads the runs of worker
processes too. Register them with `register_test_tasks` on every broker that sends or runs them.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import asyncpg
from redis.asyncio import Redis
from sqlalchemy import text
from taskiq import AsyncBroker, Context, TaskiqDepends

from server.config import Settings
from storage import jobs
from tasks.context import services_of
from tasks.leases import JobRun, run_job
from tasks.retry import PermanentError, TransientError
from tests.conftest import PG_ADMIN_DSN, PG_DATABASE, REDIS_URL
from tests.processes import free_port

if TYPE_CHECKING:
    from server.services import Services

FLAKY = "test.flaky"
LOCKED = "test.locked"
PLAIN = "test.plain"


def runs_key(prefix: str, key: str) -> str:
    return f"{prefix}test-runs:{key}"


def held_key(prefix: str, key: str) -> str:
    return f"{prefix}test-held:{key}"


def new_lock_key() -> str:
    """Name a PostgreSQL advisory lock for a LOCKED job to wait for, passed as `params.lock`."""
    return f"test-job:{uuid.uuid4().hex}"


async def record_run(services: Services, key: str, task_id: str) -> int:
    """Append `time pid task_id` to the key's runs and return how many runs there were."""
    assert services.redis is not None, "test tasks need Redis"
    entry = f"{time.time()} {os.getpid()} {task_id}"
    count: int = await services.redis.rpush(runs_key(services.settings.redis_prefix, key), entry)
    return count


async def fail(kind: str) -> None:
    """Fail the way `kind` names, with a real error where one can be made."""
    if kind == "transient":
        raise TransientError("the test service is down")
    if kind == "permanent":
        raise PermanentError("the test input is invalid")
    if kind == "refused":
        # free_port() returns a port that nothing listens on.
        reader, writer = await asyncio.open_connection("127.0.0.1", free_port())
        writer.close()
    if kind == "bug":
        settings: dict[str, Any] = {}
        settings["missing"].strip()
    raise AssertionError(f"unknown failure kind {kind!r}")


async def flaky_job(job_id: str, context: Context = TaskiqDepends()) -> None:
    """Fail the job's first `params.failures` runs with `params.error`, then finish it."""
    services = services_of(context)

    async def body(run: JobRun) -> None:
        runs = await record_run(services, job_id, context.message.task_id)
        if runs <= run.job.params.get("failures", 0):
            await fail(run.job.params.get("error", "transient"))
        async with services.write() as session:
            await jobs.finish_job(session, job_id=job_id, result={"runs": runs})

    if not await run_job(services, job_id, body):
        await _record_held(services, job_id)


async def locked_job(job_id: str, context: Context = TaskiqDepends()) -> None:
    """Wait for the advisory lock `params.lock`, which a test may hold, then finish the job."""
    services = services_of(context)

    async def body(run: JobRun) -> None:
        await record_run(services, job_id, context.message.task_id)
        async with services.write() as session:
            await session.execute(
                text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                {"key": run.job.params["lock"]},
            )
            await jobs.finish_job(session, job_id=job_id, result={"pid": os.getpid()})

    if not await run_job(services, job_id, body):
        await _record_held(services, job_id)


async def plain_task(key: str, failures: int, context: Context = TaskiqDepends()) -> None:
    """A task without a job: fail transiently on the first `failures` runs."""
    services = services_of(context)
    if await record_run(services, key, context.message.task_id) <= failures:
        raise TransientError("the test service is down")


async def _record_held(services: Services, job_id: str) -> None:
    assert services.redis is not None
    await services.redis.incr(held_key(services.settings.redis_prefix, job_id))


def register_test_tasks(broker: AsyncBroker) -> None:
    broker.register_task(flaky_job, task_name=FLAKY)
    broker.register_task(locked_job, task_name=LOCKED)
    broker.register_task(plain_task, task_name=PLAIN)


@dataclass(frozen=True)
class Run:
    """A recorded run of a test task."""

    at: float
    pid: int
    task_id: str


async def recorded_runs(settings: Settings, key: str) -> list[Run]:
    """Return the recorded runs of the job or key, oldest first."""
    redis = Redis.from_url(REDIS_URL)
    try:
        entries = await redis.lrange(runs_key(settings.redis_prefix, key), 0, -1)
    finally:
        await redis.aclose()
    runs = []
    for entry in entries:
        moment, pid, task_id = entry.decode().split(" ")
        runs.append(Run(float(moment), int(pid), task_id))
    return runs


async def held_deliveries(settings: Settings, job_id: str) -> int:
    """Return how many deliveries of the job found it held by another run."""
    redis = Redis.from_url(REDIS_URL)
    try:
        value = await redis.get(held_key(settings.redis_prefix, job_id))
    finally:
        await redis.aclose()
    return int(value or 0)


async def hold_lock(key: str) -> asyncpg.Connection:
    """Take an advisory lock in an open transaction; roll back to release it."""
    connection = await asyncpg.connect(PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{PG_DATABASE}")
    await connection.execute("BEGIN")
    await connection.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", key)
    return connection


async def wait_for_lock_waiter(
    connection: asyncpg.Connection, key: str, timeout: float = 20
) -> None:
    """Wait until a session waits for the advisory lock of `key`.

    pg_locks shows a bigint advisory key as two 32-bit halves: classid is the high half and
    objid the low one, with objsubid 1. Other tests' locks on the same server do not count.
    """
    async with asyncio.timeout(timeout):
        while not await connection.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            " AND objsubid = 1"
            " AND ((classid::bigint << 32) | objid::bigint) = hashtextextended($1, 0)",
            key,
        ):
            await asyncio.sleep(0.1)
