"""POST /exports and the download of its file, on a worker (PostgreSQL) and in process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select

from server.app import SERVICES
from server.config import Settings
from server.routes import exports as export_routes
from storage import exports, jobs
from storage.models import ExportFile
from storage.types import utcnow
from tasks.exporter import run_export_job
from tasks.registry import PURGE_EXPIRED, RUN_EXPORT
from tests.conftest import ClientFactory
from tests.export_helpers import (
    Client,
    Sample,
    download,
    export,
    store_workouts,
    tasks_run,
    wait_for_job,
    weight,
)
from tests.helpers import register
from tests.session_data import connect

__all__ = ["tasks_run"]

FORMATS = {
    "csv": ("text/csv; charset=utf-8", ".csv", b"Date,Workout Name,"),
    "json": ("application/json", ".json", b'{"format":"nappatzim-export"'),
    "pdf": ("application/pdf", ".pdf", b"%PDF-"),
}


def sample() -> list[Sample]:
    return [
        Sample(
            "Push",
            datetime(2024, 5, 6, 17, 0, tzinfo=UTC),
            [weight("Bench Press", "kg", [(100, 5, 2), (102.5, 3, None)])],
        )
    ]


async def file_count(client: Client, job_id: str) -> int:
    async with client.server.app[SERVICES].db.read() as session:
        count = await session.scalar(
            select(func.count()).select_from(ExportFile).where(ExportFile.job_id == job_id)
        )
    return int(count or 0)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
async def test_export_downloads(client: Client, tasks_run: None, fmt: str) -> None:
    login = await register(client)
    await store_workouts(client, int(login["userId"]), sample())
    response = await client.post("/exports", json={"format": fmt}, headers=login["headers"])
    assert response.status == 202
    reply = await response.json()
    assert reply["state"] == "queued"

    job = await wait_for_job(client, login["headers"], reply["jobId"])
    assert job["kind"] == "export"
    assert job["state"] == "succeeded"
    assert job["progress"] == 1.0
    result = job["result"]
    assert result["downloadUrl"] == f"/exports/{job['id']}/download"
    assert result["filename"].endswith(FORMATS[fmt][1])

    response = await client.get(result["downloadUrl"], headers=login["headers"])
    body = await response.read()
    assert response.status == 200
    assert response.headers["Content-Type"] == FORMATS[fmt][0]
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith(f'attachment; filename="{result["filename"]}"')
    assert body.startswith(FORMATS[fmt][2])
    assert len(body) == result["size"]
    assert await file_count(client, job["id"]) == 1


async def test_download_streams_in_chunks(
    client: Client, tasks_run: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export_routes, "CHUNK_BYTES", 4096)
    login = await register(client)
    many = [
        Sample(
            "Push",
            datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=day),
            [weight(f"Exercise {day}", "kg", [(50.0 + index, 10, 1.5) for index in range(20)])],
        )
        for day in range(40)
    ]
    await store_workouts(client, int(login["userId"]), many)
    job = await export(client, login["headers"], "csv")
    assert job["result"]["size"] > 20 * 4096
    data = await download(client, login["headers"], job)
    assert len(data) == job["result"]["size"]
    assert data.count(b"\n") == 1 + 40 * 20 * 2


async def test_download_owner_only(client: Client, tasks_run: None) -> None:
    owner = await register(client)
    other = await register(client)
    job = await export(client, owner["headers"], "json")
    url = job["result"]["downloadUrl"]

    response = await client.get(url, headers=other["headers"])
    assert response.status == 404
    response = await client.get(url)
    assert response.status == 401
    response = await client.get(f"/jobs/{job['id']}", headers=other["headers"])
    assert response.status == 404
    missing = "/exports/00000000-0000-4000-8000-000000000000/download"
    response = await client.get(missing, headers=owner["headers"])
    assert response.status == 404
    response = await client.get("/exports/not-a-job/download", headers=owner["headers"])
    assert response.status == 404


async def test_download_before_file_is_made(client: Client) -> None:
    login = await register(client)
    # Without the hand-off after commit, the job waits in the outbox for the relay.
    async with client.server.app[SERVICES].db.transaction() as session:
        job = await exports.create_export_job(
            session, user_id=int(login["userId"]), fmt="csv", task=RUN_EXPORT
        )
    response = await client.get(f"/exports/{job.id}/download", headers=login["headers"])
    assert response.status == 404
    assert "no file yet" in (await response.json())["error"]


@pytest.mark.parametrize(
    ("body", "field"), [({"format": "xml"}, "format"), ({}, "format"), ([], "body")]
)
async def test_export_rejects_bad_body(client: Client, body: Any, field: str) -> None:
    login = await register(client)
    response = await client.post("/exports", data=orjson.dumps(body), headers=login["headers"])
    assert response.status == 400
    reply = await response.json()
    assert reply["details"][0]["field"] == field


async def test_export_needs_login(client: Client) -> None:
    response = await client.post("/exports", json={"format": "csv"})
    assert response.status == 401


async def test_export_sends_job_events(client: Client, tasks_run: None) -> None:
    login = await register(client)
    await store_workouts(client, int(login["userId"]), sample())
    live = await connect(client, login)
    try:
        response = await client.post("/exports", json={"format": "pdf"}, headers=login["headers"])
        job_id = (await response.json())["jobId"]
        _, progress = await live.next_event("job:progress", timeout=20)
        _, completed = await live.next_event("job:completed", timeout=20)
    finally:
        await live.close()
    job = await wait_for_job(client, login["headers"], job_id)
    assert progress["jobId"] == job_id
    assert progress["state"] == "running"
    assert completed["jobId"] == job_id
    assert completed["state"] == "succeeded"
    assert completed["result"] == job["result"]


async def test_second_delivery_does_nothing(client: Client, tasks_run: None) -> None:
    login = await register(client)
    job = await export(client, login["headers"], "csv")
    await run_export_job(client.server.app[SERVICES], job["id"])
    again = await wait_for_job(client, login["headers"], job["id"])
    assert again == job
    assert await file_count(client, job["id"]) == 1


async def test_concurrent_runs_store_one_file(client: Client) -> None:
    login = await register(client)
    services = client.server.app[SERVICES]
    async with services.db.transaction() as session:
        job = await exports.create_export_job(
            session, user_id=int(login["userId"]), fmt="json", task=RUN_EXPORT
        )
    await asyncio.gather(*(run_export_job(services, job.id) for _ in range(3)))
    done = await wait_for_job(client, login["headers"], job.id)
    assert done["state"] == "succeeded"
    assert await file_count(client, job.id) == 1


@pytest.fixture
async def short_lived(
    make_client: ClientFactory, settings: Settings
) -> AsyncIterator[tuple[Client, Settings]]:
    """An app whose export files expire after 2 seconds, with a worker of the same settings."""
    from tasks.worker import work

    short = settings.model_copy(update={"export_expiry_seconds": 2.0})
    client = await make_client(short)
    stop = asyncio.Event()
    worker = None if short.embedded else asyncio.create_task(work(short, stop))
    yield client, short
    stop.set()
    if worker is not None:
        await asyncio.wait_for(worker, timeout=30)


async def test_expired_file_is_gone(short_lived: tuple[Client, Settings]) -> None:
    client, _ = short_lived
    login = await register(client)
    job = await export(client, login["headers"], "csv")
    url = job["result"]["downloadUrl"]
    response = await client.get(url, headers=login["headers"])
    assert response.status == 200
    services = client.server.app[SERVICES]
    async with services.write() as session:
        lasting = await exports.create_export_job(
            session, user_id=int(login["userId"]), fmt="csv", task=RUN_EXPORT
        )
    lasting_job = await wait_for_job(client, login["headers"], lasting.id)
    async with services.write() as session:
        await session.execute(
            ExportFile.__table__.update()
            .where(ExportFile.job_id == lasting.id)
            .values(expires_at=utcnow() + timedelta(days=1))
        )

    await asyncio.sleep(2.1)
    response = await client.get(url, headers=login["headers"])
    assert response.status == 404
    assert "expired" in (await response.json())["error"]
    assert await file_count(client, job["id"]) == 1

    await services.broker.find_task(PURGE_EXPIRED).kiq()
    async with asyncio.timeout(20):
        while await file_count(client, job["id"]):
            await asyncio.sleep(0.1)
    response = await client.get(url, headers=login["headers"])
    assert response.status == 404
    assert "expired" in (await response.json())["error"]
    assert await file_count(client, lasting.id) == 1
    response = await client.get(lasting_job["result"]["downloadUrl"], headers=login["headers"])
    assert response.status == 200


async def test_unknown_format_fails_job(client: Client) -> None:
    login = await register(client)
    services = client.server.app[SERVICES]
    async with services.db.transaction() as session:
        job = await jobs.create_job(
            session,
            user_id=int(login["userId"]),
            kind=exports.EXPORT_KIND,
            params={"format": "xml"},
            task_name=RUN_EXPORT,
        )
    await run_export_job(services, job.id)
    failed = await wait_for_job(client, login["headers"], job.id)
    assert failed["state"] == "failed"
    assert "format" in failed["error"]
    assert await file_count(client, job.id) == 0
