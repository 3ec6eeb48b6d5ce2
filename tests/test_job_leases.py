"""Job leases across real worker processes: a killed worker's job moves, a live one's stays.

The workers run `python -m tests.job_worker`, the worker command with the test-only tasks. The
job blocks on a PostgreSQL advisory lock that the test holds.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from server.config import Settings
from server.services import Services
from storage import jobs
from storage.models import Job, User
from tests.job_tasks import (
    LOCKED,
    held_deliveries,
    hold_lock,
    new_lock_key,
    recorded_runs,
    register_test_tasks,
    wait_for_lock_waiter,
)
from tests.processes import ROOT, Process, environment

# Long enough that a loaded machine keeps heartbeats fresh, short enough for a test.
REDELIVERY_SECONDS = 3.0


class JobWorker(Process):
    """A worker process that also runs the test-only tasks."""

    def __init__(self, settings: Settings, log_path: Path):
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "tests.job_worker"],
            cwd=ROOT,
            env=environment(settings),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )


@pytest.fixture
def lease_settings(pg_settings: Settings) -> Settings:
    return pg_settings.model_copy(update={"task_redelivery_seconds": REDELIVERY_SECONDS})


@pytest.fixture
async def sender(lease_settings: Settings) -> AsyncIterator[Services]:
    """The services of a server: the outbox relay and a broker that sends the test tasks."""
    services = Services(lease_settings)
    register_test_tasks(services.broker)
    await services.start()
    yield services
    await services.stop()


@pytest.fixture
def workers(tmp_path: Path, lease_settings: Settings) -> Iterator[Callable[..., list[JobWorker]]]:
    started: list[JobWorker] = []

    def start(count: int = 2) -> list[JobWorker]:
        for _ in range(count):
            started.append(JobWorker(lease_settings, tmp_path / f"worker-{len(started)}.log"))
        return started

    yield start
    for process in started:
        process.stop()


async def start_locked_job(services: Services, lock: str) -> str:
    async with services.write() as session:
        user = User(email=f"{lock}@example.com", password_hash="x")
        session.add(user)
        await session.flush()
        job = await jobs.create_job(
            session, user_id=user.id, kind="test", params={"lock": lock}, task_name=LOCKED
        )
    return job.id


async def get_job(services: Services, job_id: str) -> Job:
    async with services.db.read() as session:
        job = await jobs.get_job(session, job_id=job_id)
    assert job is not None
    return job


async def wait_for_state(services: Services, job_id: str, timeout: float = 30) -> Job:
    async with asyncio.timeout(timeout):
        while (job := await get_job(services, job_id)).state not in jobs.FINISHED:
            await asyncio.sleep(0.1)
    return job


async def test_killed_worker_job_runs_on_another(
    sender: Services, workers: Callable[..., list[JobWorker]], lease_settings: Settings
) -> None:
    processes = workers(2)
    key = new_lock_key()
    lock = await hold_lock(key)
    try:
        job_id = await start_locked_job(sender, key)
        await wait_for_lock_waiter(lock, key)
        [first_run] = await recorded_runs(lease_settings, job_id)
        victim = next(p for p in processes if p.popen.pid == first_run.pid)
        survivor = next(p for p in processes if p is not victim)
        victim.kill()
        killed_at = time.time()
    finally:
        await lock.execute("ROLLBACK")
        await lock.close()

    job = await wait_for_state(sender, job_id)
    assert job.state == "succeeded"
    assert job.attempts == 2
    assert job.result == {"pid": survivor.popen.pid}
    runs = await recorded_runs(lease_settings, job_id)
    assert [run.pid for run in runs] == [victim.popen.pid, survivor.popen.pid]
    assert runs[1].task_id == runs[0].task_id
    # The stream hands the message over once it has been idle for the redelivery time, counted
    # from its delivery, which came before the kill.
    assert runs[1].at - killed_at <= REDELIVERY_SECONDS + lease_settings.task_poll_seconds + 1
    assert "redelivering abandoned task" in survivor.output()


async def test_long_job_keeps_lease_across_workers(
    sender: Services, workers: Callable[..., list[JobWorker]], lease_settings: Settings
) -> None:
    workers(2)
    key = new_lock_key()
    lock = await hold_lock(key)
    try:
        job_id = await start_locked_job(sender, key)
        await wait_for_lock_waiter(lock, key)
        await asyncio.sleep(3 * REDELIVERY_SECONDS)
        assert len(await recorded_runs(lease_settings, job_id)) == 1
        assert await held_deliveries(lease_settings, job_id) >= 1
        running = await get_job(sender, job_id)
        assert running.state == "running"
    finally:
        await lock.execute("ROLLBACK")
        await lock.close()

    job = await wait_for_state(sender, job_id)
    assert job.state == "succeeded"
    assert job.attempts == 1
    assert len(await recorded_runs(lease_settings, job_id)) == 1
