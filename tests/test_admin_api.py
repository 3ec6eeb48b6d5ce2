"""The operators' API under /admin: who may call it, the queue snapshot, jobs and dead letters."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from server.app import SERVICES
from server.config import Settings
from server.services import Services
from storage import dead_letters, jobs, users
from storage.models import Job, OutboxMessage
from storage.types import utcnow
from tasks.worker import work
from tests.conftest import ClientFactory
from tests.helpers import PASSWORD, register
from tests.job_tasks import (
    LOCKED,
    hold_lock,
    new_lock_key,
    register_test_tasks,
    wait_for_lock_waiter,
)
from tests.processes import COMMAND, ROOT, environment

Client = TestClient[Any, Any]
ADMIN_GETS = ("/admin/queue", "/admin/jobs", "/admin/dead-letters")
RETRY_PATH = "/admin/dead-letters/1/retry"


async def register_admin(client: Client) -> dict[str, Any]:
    login = await register(client)
    async with client.server.app[SERVICES].db.transaction() as session:
        await users.set_user_role(session, email=login["email"], role="admin")
    return login


async def insert_job(client: Client, user_id: str, state: str, kind: str = "import") -> str:
    now = utcnow()
    job = Job(
        id=str(uuid.uuid4()),
        user_id=int(user_id),
        kind=kind,
        state=state,
        progress=0.0,
        params={},
        attempts=1,
        created_at=now,
        updated_at=now,
    )
    async with client.server.app[SERVICES].db.transaction() as session:
        session.add(job)
    return job.id


async def insert_dead_letter(client: Client, job_id: str | None) -> str:
    kwargs = {"job_id": job_id} if job_id else {"user_id": 1}
    async with client.server.app[SERVICES].db.transaction() as session:
        letter = await dead_letters.create_dead_letter(
            session,
            task_name="test.unregistered",
            kwargs=kwargs,
            error="Traceback (most recent call last):\nValueError: bad row",
            job_error="internal error (ValueError)",
            attempts=1,
        )
    return str(letter.id)


async def test_admin_calls_need_token(client: Client) -> None:
    for path in ADMIN_GETS:
        response = await client.get(path)
        assert response.status == 401, path
    response = await client.post(RETRY_PATH)
    assert response.status == 401


async def test_admin_calls_forbidden_to_users(client: Client) -> None:
    login = await register(client)
    for path in ADMIN_GETS:
        response = await client.get(path, headers=login["headers"])
        assert response.status == 403, path
        body = await response.json()
        assert "admin" in body["error"]
    response = await client.post(RETRY_PATH, headers=login["headers"])
    assert response.status == 403


async def test_queue_counts_jobs_and_dead_letters(client: Client, settings: Settings) -> None:
    admin = await register_admin(client)
    user = await register(client)
    await insert_job(client, user["userId"], "running")
    failed = await insert_job(client, user["userId"], "failed")
    await insert_dead_letter(client, failed)

    response = await client.get("/admin/queue", headers=admin["headers"])
    assert response.status == 200
    queue = await response.json()
    assert queue["jobs"]["running"] == 1
    assert queue["jobs"]["failed"] == 1
    assert queue["jobs"]["retrying"] == 0
    assert queue["deadLetters"] == {"total": 1, "open": 1}
    if settings.redis_url is None:
        assert queue["backend"] == "in-process"
        assert queue["inProcess"]["running"] >= 0
    else:
        assert queue["backend"] == "redis"
        assert queue["stream"]["name"] == f"{settings.redis_prefix}tasks"


async def test_queue_shows_running_task_message(
    make_client: ClientFactory, pg_settings: Settings
) -> None:
    client: Client = await make_client(pg_settings)
    register_test_tasks(client.server.app[SERVICES].broker)
    worker_services = Services(pg_settings)
    register_test_tasks(worker_services.broker)
    stop = asyncio.Event()
    worker = asyncio.create_task(work(pg_settings, stop, services=worker_services))
    admin = await register_admin(client)
    key = new_lock_key()
    lock = await hold_lock(key)
    try:
        async with client.server.app[SERVICES].write() as session:
            job = await jobs.create_job(
                session,
                user_id=int(admin["userId"]),
                kind="test",
                params={"lock": key},
                task_name=LOCKED,
            )
        await wait_for_lock_waiter(lock, key)
        response = await client.get("/admin/queue", headers=admin["headers"])
        queue = await response.json()
    finally:
        await lock.execute("ROLLBACK")
        await lock.close()
        stop.set()
        await asyncio.wait_for(worker, timeout=30)

    stream = queue["stream"]
    assert stream["group"] == f"{pg_settings.redis_prefix}workers"
    assert stream["length"] >= 1
    assert stream["pending"] == 1
    assert len(stream["consumers"]) >= 1
    [message] = stream["pendingMessages"]
    assert message["taskName"] == LOCKED
    assert message["taskId"].startswith("outbox-")
    assert message["deliveries"] == 1
    assert queue["jobs"]["running"] == 1
    assert queue["outbox"]["total"] == 1
    assert job.id


async def test_admin_jobs_lists_every_user(client: Client) -> None:
    admin = await register_admin(client)
    first = await register(client)
    second = await register(client)
    failed_first = await insert_job(client, first["userId"], "failed")
    failed_second = await insert_job(client, second["userId"], "failed", kind="export")
    await insert_job(client, second["userId"], "succeeded")

    response = await client.get("/admin/jobs?state=failed", headers=admin["headers"])
    assert response.status == 200
    page = await response.json()
    assert {job["id"] for job in page["jobs"]} == {failed_first, failed_second}
    assert {job["userId"] for job in page["jobs"]} == {first["userId"], second["userId"]}
    response = await client.get("/admin/jobs?state=failed&kind=export", headers=admin["headers"])
    page = await response.json()
    assert [job["id"] for job in page["jobs"]] == [failed_second]
    response = await client.get("/admin/jobs?state=broken", headers=admin["headers"])
    assert response.status == 400


async def test_dead_letter_retry_requeues_job(client: Client) -> None:
    admin = await register_admin(client)
    user = await register(client)
    job_id = await insert_job(client, user["userId"], "failed")
    letter_id = await insert_dead_letter(client, job_id)

    response = await client.get("/admin/dead-letters?retried=false", headers=admin["headers"])
    page = await response.json()
    [letter] = page["deadLetters"]
    assert letter["id"] == letter_id
    assert letter["jobId"] == job_id
    assert letter["retriedAt"] is None
    assert letter["error"].endswith("ValueError: bad row")

    response = await client.post(f"/admin/dead-letters/{letter_id}/retry", headers=admin["headers"])
    assert response.status == 202
    body = await response.json()
    assert body["deadLetter"]["retriedAt"] is not None
    assert body["job"]["state"] == "queued"
    assert body["job"]["error"] is None
    async with client.server.app[SERVICES].db.read() as session:
        rows = await session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "task")
        )
    assert rows == 1

    response = await client.post(f"/admin/dead-letters/{letter_id}/retry", headers=admin["headers"])
    assert response.status == 409
    response = await client.get("/admin/dead-letters?retried=false", headers=admin["headers"])
    assert (await response.json())["deadLetters"] == []
    response = await client.get("/admin/dead-letters?retried=true", headers=admin["headers"])
    assert [item["id"] for item in (await response.json())["deadLetters"]] == [letter_id]


async def test_dead_letter_retry_unknown_not_found(client: Client) -> None:
    admin = await register_admin(client)
    for letter_id in ("999999", "abc", "0"):
        response = await client.post(
            f"/admin/dead-letters/{letter_id}/retry", headers=admin["headers"]
        )
        assert response.status == 404, letter_id


async def test_dead_letters_paged(client: Client) -> None:
    admin = await register_admin(client)
    ids = [await insert_dead_letter(client, None) for _ in range(3)]
    response = await client.get("/admin/dead-letters?limit=2", headers=admin["headers"])
    first = await response.json()
    assert [item["id"] for item in first["deadLetters"]] == [ids[2], ids[1]]
    cursor = first["pagination"]["nextCursor"]
    response = await client.get(
        f"/admin/dead-letters?limit=2&cursor={cursor}", headers=admin["headers"]
    )
    second = await response.json()
    assert [item["id"] for item in second["deadLetters"]] == [ids[0]]
    assert second["pagination"]["hasMore"] is False
    response = await client.get("/admin/dead-letters?cursor=x1", headers=admin["headers"])
    assert response.status == 400


def run_admin_command(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, "admin", *args],
        cwd=ROOT,
        env=environment(settings),
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_admin_command_grants_and_revokes(
    make_client: ClientFactory, pg_settings: Settings
) -> None:
    settings = pg_settings
    client: Client = await make_client(settings)
    user = await register(client)

    granted = await asyncio.to_thread(run_admin_command, settings, "grant", user["email"])
    assert granted.returncode == 0, granted.stderr
    assert "now has the role admin" in granted.stdout
    response = await client.post("/auth/login", json={"email": user["email"], "password": PASSWORD})
    login = await response.json()
    assert login["role"] == "admin"
    headers = {"Authorization": f"Bearer {login['accessToken']}"}
    response = await client.get("/admin/queue", headers=headers)
    assert response.status == 200

    revoked = await asyncio.to_thread(run_admin_command, settings, "revoke", user["email"])
    assert revoked.returncode == 0, revoked.stderr
    response = await client.get("/admin/queue", headers=headers)
    assert response.status == 403

    unknown = await asyncio.to_thread(run_admin_command, settings, "grant", "nobody@example.com")
    assert unknown.returncode == 1
    assert "user not found: nobody@example.com" in unknown.stderr
