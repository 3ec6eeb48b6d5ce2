"""Retries with backoff, dead letters and job leases, on PostgreSQL and Redis with a worker.

The tasks that fail or block are test-only tasks from tests/job_tasks.py, registered on the
server's broker and on the worker's. They raise real errors and record each run in Redis.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from server.app import SERVICES
from server.config import Settings
from server.services import Services
from storage import jobs, users
from storage.models import DeadLetter, OutboxMessage
from tasks.retry import RetryPolicy
from tasks.worker import work
from tests.conftest import ClientFactory
from tests.helpers import register
from tests.job_tasks import (
    FLAKY,
    LOCKED,
    PLAIN,
    held_deliveries,
    hold_lock,
    new_lock_key,
    recorded_runs,
    register_test_tasks,
    wait_for_lock_waiter,
)
from tests.live import LiveClient
from tests.proxy import Proxy

Client = TestClient[Any, Any]

RETRIES = {
    "task_retry_base_seconds": 0.4,
    "task_retry_factor": 2.0,
    "task_retry_max_seconds": 1.2,
    "task_max_attempts": 3,
}
# Time a retry may take beyond its delay: the relay's poll, the send and the worker's read.
SLACK = 1.5


@pytest.fixture
def retry_settings(pg_settings: Settings) -> Settings:
    return pg_settings.model_copy(update=RETRIES)


@pytest.fixture
async def app(make_client: ClientFactory, retry_settings: Settings) -> Client:
    client: Client = await make_client(retry_settings)
    register_test_tasks(client.server.app[SERVICES].broker)
    return client


async def start_workers(settings: Settings, count: int) -> tuple[asyncio.Event, list[Any]]:
    stop = asyncio.Event()
    runs = []
    for _ in range(count):
        services = Services(settings)
        register_test_tasks(services.broker)
        runs.append(asyncio.create_task(work(settings, stop, services=services)))
    return stop, runs


@pytest.fixture
async def task_worker(retry_settings: Settings) -> AsyncIterator[None]:
    """Run a worker with the test-only tasks registered, in this test's event loop."""
    stop, runs = await start_workers(retry_settings, 1)
    yield
    stop.set()
    await asyncio.wait_for(asyncio.gather(*runs), timeout=30)


async def create_test_job(client: Client, user_id: str, task: str, params: dict[str, Any]) -> str:
    async with client.server.app[SERVICES].write() as session:
        job = await jobs.create_job(
            session, user_id=int(user_id), kind="test", params=params, task_name=task
        )
    return job.id


async def wait_for_job(
    client: Client, headers: dict[str, str], job_id: str, timeout: float = 30
) -> dict[str, Any]:
    """Poll the job until it has succeeded or failed."""
    async with asyncio.timeout(timeout):
        while True:
            response = await client.get(f"/jobs/{job_id}", headers=headers)
            assert response.status == 200, await response.text()
            job: dict[str, Any] = await response.json()
            if job["state"] in jobs.FINISHED:
                return job
            await asyncio.sleep(0.1)


async def dead_letters_of(client: Client, job_id: str) -> list[DeadLetter]:
    async with client.server.app[SERVICES].db.read() as session:
        result = await session.execute(select(DeadLetter).where(DeadLetter.job_id == job_id))
        return list(result.scalars())


async def task_rows(client: Client, settle: float = 5.0) -> int:
    """Count task rows in the outbox, waiting up to `settle` s for them to reach zero.

    A finished task's row is deleted just after the job's final state is written, so a
    check right after the job finished may still see it.
    """
    deadline = asyncio.get_running_loop().time() + settle
    while True:
        async with client.server.app[SERVICES].db.read() as session:
            count = await session.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "task")
            )
        if not count or asyncio.get_running_loop().time() >= deadline:
            return int(count or 0)
        await asyncio.sleep(0.1)


async def next_job_event(live: LiveClient, name: str, job_id: str) -> dict[str, Any]:
    while True:
        _, data = await live.next_event(name, timeout=30)
        if data["jobId"] == job_id:
            return data


async def test_transient_failure_retried_then_succeeds(
    app: Client, retry_settings: Settings, task_worker: None
) -> None:
    login = await register(app)
    live = LiveClient()
    await live.connect(str(app.make_url("/")), login["accessToken"])
    job_id = await create_test_job(
        app, login["userId"], FLAKY, {"failures": 2, "error": "transient"}
    )

    job = await wait_for_job(app, login["headers"], job_id)
    assert job["state"] == "succeeded"
    assert job["id"] == job_id
    assert job["attempts"] == 3
    assert job["result"] == {"runs": 3}
    assert job["error"] is None

    runs = await recorded_runs(retry_settings, job_id)
    assert len(runs) == 3
    assert len({run.task_id for run in runs}) == 1, "a retry changed the task id"
    policy = RetryPolicy.from_settings(retry_settings)
    for attempt in (1, 2):
        gap = runs[attempt].at - runs[attempt - 1].at
        assert gap <= policy.ceiling(attempt) + SLACK, f"retry {attempt} came after {gap:.2f}s"

    for attempt in (1, 2):
        event = await next_job_event(live, "job:progress", job_id)
        assert event["state"] == "retrying"
        assert event["attempts"] == attempt
        assert event["error"] == "the test service is down"
    assert await dead_letters_of(app, job_id) == []
    assert await task_rows(app) == 0
    await live.close()


@pytest.mark.parametrize(
    ("error", "message", "exception"),
    [
        ("permanent", "the test input is invalid", "PermanentError"),
        ("bug", "internal error (KeyError)", "KeyError"),
    ],
)
async def test_permanent_failure_dead_letters_at_once(
    app: Client,
    retry_settings: Settings,
    task_worker: None,
    error: str,
    message: str,
    exception: str,
) -> None:
    login = await register(app)
    job_id = await create_test_job(app, login["userId"], FLAKY, {"failures": 1, "error": error})

    job = await wait_for_job(app, login["headers"], job_id)
    assert job["state"] == "failed"
    assert job["error"] == message
    assert job["attempts"] == 1
    assert len(await recorded_runs(retry_settings, job_id)) == 1

    letters = await dead_letters_of(app, job_id)
    assert len(letters) == 1
    assert letters[0].task_name == FLAKY
    assert letters[0].attempts == 1
    assert letters[0].kwargs == {"job_id": job_id}
    assert exception in letters[0].error
    assert letters[0].retried_at is None
    assert await task_rows(app) == 0


async def test_exhausted_retries_fail_job_live(
    app: Client, retry_settings: Settings, task_worker: None
) -> None:
    login = await register(app)
    live = LiveClient()
    await live.connect(str(app.make_url("/")), login["accessToken"])
    job_id = await create_test_job(
        app, login["userId"], FLAKY, {"failures": 99, "error": "refused"}
    )

    event = await next_job_event(live, "job:failed", job_id)
    assert event["state"] == "failed"
    assert event["attempts"] == 3
    assert event["error"] == "failed after 3 attempts: a connection failed"

    job = await wait_for_job(app, login["headers"], job_id)
    assert job["state"] == "failed"
    assert job["error"] == event["error"]
    assert len(await recorded_runs(retry_settings, job_id)) == 3
    letters = await dead_letters_of(app, job_id)
    assert len(letters) == 1
    assert letters[0].attempts == 3
    assert "ConnectionRefusedError" in letters[0].error
    assert await task_rows(app) == 0
    await live.close()


async def test_admin_retry_runs_dead_letter_again(
    app: Client, retry_settings: Settings, task_worker: None
) -> None:
    admin = await register(app)
    async with app.server.app[SERVICES].db.transaction() as session:
        await users.set_user_role(session, email=admin["email"], role="admin")
    login = await register(app)
    job_id = await create_test_job(
        app, login["userId"], FLAKY, {"failures": 1, "error": "permanent"}
    )
    job = await wait_for_job(app, login["headers"], job_id)
    assert job["state"] == "failed"
    [letter] = await dead_letters_of(app, job_id)

    response = await app.post(f"/admin/dead-letters/{letter.id}/retry", headers=admin["headers"])
    assert response.status == 202
    job = await wait_for_job(app, login["headers"], job_id)
    assert job["state"] == "succeeded"
    assert job["result"] == {"runs": 2}
    assert job["error"] is None
    assert len(await recorded_runs(retry_settings, job_id)) == 2
    [letter] = await dead_letters_of(app, job_id)
    assert letter.retried_at is not None
    assert await task_rows(app) == 0


async def test_task_without_outbox_row_retried(
    app: Client, retry_settings: Settings, task_worker: None
) -> None:
    key = uuid.uuid4().hex
    task = app.server.app[SERVICES].broker.find_task(PLAIN)
    assert task is not None
    # Sent straight to the queue, as the scheduler sends periodic tasks.
    await task.kicker().with_task_id(f"schedule-{key}").kiq(key=key, failures=1)

    async with asyncio.timeout(20):
        while len(runs := await recorded_runs(retry_settings, key)) < 2:
            await asyncio.sleep(0.1)
        while await task_rows(app):
            await asyncio.sleep(0.1)
    assert runs[0].task_id == f"schedule-{key}"
    assert runs[1].task_id.startswith("outbox-")
    await asyncio.sleep(1)
    assert len(await recorded_runs(retry_settings, key)) == 2


async def test_relay_dead_letters_unfinished_task(
    make_client: ClientFactory, retry_settings: Settings
) -> None:
    settings = retry_settings.model_copy(update={"outbox_task_lease_seconds": 1.0})
    client: Client = await make_client(settings)
    stop, workers = await start_workers(settings, 1)
    # Only the server registers this task: workers skip it, so each send's lease runs out.
    client.server.app[SERVICES].broker.register_task(_never_run, task_name="test.unknown")
    login = await register(client)
    job_id = await create_test_job(client, login["userId"], "test.unknown", {})

    job = await wait_for_job(client, login["headers"], job_id)
    assert job["state"] == "failed"
    assert job["error"] == "failed after 3 attempts: the task did not finish"
    letters = await dead_letters_of(client, job_id)
    assert len(letters) == 1
    assert letters[0].attempts == 3
    assert "OUTBOX_TASK_LEASE_SECONDS" in letters[0].error
    assert await task_rows(client) == 0
    stop.set()
    await asyncio.wait_for(asyncio.gather(*workers), timeout=30)


async def _never_run(job_id: str) -> None:
    raise AssertionError("no worker has this task")


async def test_long_job_not_run_twice(app: Client, retry_settings: Settings) -> None:
    stop, workers = await start_workers(retry_settings, 2)
    login = await register(app)
    key = new_lock_key()
    lock = await hold_lock(key)
    job_id = await create_test_job(app, login["userId"], LOCKED, {"lock": key})
    try:
        # The job blocks for three redelivery times, so the stream delivers it again.
        await asyncio.sleep(3 * retry_settings.task_redelivery_seconds + 1)
        assert len(await recorded_runs(retry_settings, job_id)) == 1
        assert await held_deliveries(retry_settings, job_id) >= 1
    finally:
        await lock.execute("ROLLBACK")
        await lock.close()

    job = await wait_for_job(app, login["headers"], job_id)
    assert job["state"] == "succeeded"
    assert job["attempts"] == 1
    assert len(await recorded_runs(retry_settings, job_id)) == 1
    # A delivery left pending for the first run was acknowledged by that run.
    await asyncio.sleep(retry_settings.task_redelivery_seconds + 1)
    assert len(await recorded_runs(retry_settings, job_id)) == 1
    assert await task_rows(app) == 0
    stop.set()
    await asyncio.wait_for(asyncio.gather(*workers), timeout=30)


async def test_unrecorded_failure_delivered_again(app: Client, retry_settings: Settings) -> None:
    proxy = Proxy("127.0.0.1", 5432)
    await proxy.start()
    assert retry_settings.database_url is not None
    # Only the worker reaches PostgreSQL through the proxy, so only the worker loses it.
    worker_settings = retry_settings.model_copy(
        update={"database_url": retry_settings.database_url.replace(":5432/", f":{proxy.port}/")}
    )
    stop, workers = await start_workers(worker_settings, 1)
    login = await register(app)
    key = new_lock_key()
    lock = await hold_lock(key)
    try:
        job_id = await create_test_job(app, login["userId"], LOCKED, {"lock": key})
        await wait_for_lock_waiter(lock, key)
        # The job's connection drops mid-query, and the worker cannot record the failure.
        await proxy.cut()
        await asyncio.sleep(1)
    finally:
        await lock.execute("ROLLBACK")
        await lock.close()
    await proxy.restore()

    job = await wait_for_job(app, login["headers"], job_id)
    assert job["state"] == "succeeded"
    assert job["attempts"] == 2
    assert len(await recorded_runs(retry_settings, job_id)) == 2
    assert await dead_letters_of(app, job_id) == []
    assert await task_rows(app) == 0
    stop.set()
    await asyncio.wait_for(asyncio.gather(*workers), timeout=30)
    await proxy.close()
