"""POST /imports and GET /jobs/{id}: uploads run as jobs in process and on a worker."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from server.app import SERVICES
from server.config import Settings
from storage.models import Exercise, Upload, Workout, WorkoutSet
from tasks.importer import run_import_job
from tests.conftest import FIXTURES, REAL_DATA, ClientFactory
from tests.helpers import register
from tests.live import LiveClient

Client = TestClient[Any, Any]
STRONG = FIXTURES / "strong"
JOB_KEYS = {
    "id",
    "kind",
    "state",
    "progress",
    "result",
    "error",
    "attempts",
    "createdAt",
    "updatedAt",
}


async def upload(
    client: Client,
    headers: dict[str, str],
    path: Path,
    *,
    query: str = "format=strong&unit=kg",
) -> aiohttp.ClientResponse:
    form = aiohttp.FormData()
    form.add_field("file", path.read_bytes(), filename=path.name, content_type="text/csv")
    return await client.post(f"/imports?{query}", data=form, headers=headers)


async def wait_for_job(client: Client, headers: dict[str, str], job_id: str) -> dict[str, Any]:
    """Poll the job until it has finished, for at most 20 seconds."""
    async with asyncio.timeout(20):
        while True:
            response = await client.get(f"/jobs/{job_id}", headers=headers)
            assert response.status == 200, await response.text()
            job: dict[str, Any] = await response.json()
            if job["state"] in ("succeeded", "failed"):
                return job
            await asyncio.sleep(0.1)


async def import_and_wait(client: Client, headers: dict[str, str], path: Path) -> dict[str, Any]:
    response = await upload(client, headers, path)
    assert response.status == 202, await response.text()
    return await wait_for_job(client, headers, (await response.json())["jobId"])


async def stored_counts(client: Client, user_id: int) -> tuple[int, int]:
    """Return the user's stored workouts and sets."""
    db = client.server.app[SERVICES].db
    async with db.read(primary=True) as session:
        workouts = await session.scalar(
            select(func.count()).select_from(Workout).where(Workout.user_id == user_id)
        )
        sets = await session.scalar(
            select(func.count())
            .select_from(WorkoutSet)
            .join(Exercise, Exercise.id == WorkoutSet.exercise_id)
            .where(Exercise.user_id == user_id)
        )
    return int(workouts or 0), int(sets or 0)


@pytest.mark.real_data
async def test_upload_embedded_runs_job(
    make_client: ClientFactory, sqlite_settings: Settings
) -> None:
    client = await make_client(sqlite_settings)
    login = await register(client)
    live = LiveClient()
    await live.connect(str(client.make_url("/")), login["accessToken"])

    response = await upload(client, login["headers"], REAL_DATA / "strong-3.csv")
    assert response.status == 202
    reply = await response.json()
    assert reply["state"] == "queued"
    job = await wait_for_job(client, login["headers"], reply["jobId"])

    assert job["state"] == "succeeded"
    assert job["progress"] == 1.0
    assert job["result"]["workouts"] == 10
    assert job["result"]["sets"] == 208
    assert job["result"]["errors"] == []
    assert await stored_counts(client, int(login["userId"])) == (10, 208)
    _, progress = await live.next_event("job:progress")
    assert progress["jobId"] == reply["jobId"]
    assert progress["state"] == "running"
    _, event = await live.next_event("job:completed")
    assert event["jobId"] == reply["jobId"]
    assert event["result"]["sets"] == 208
    await live.close()


@pytest.mark.real_data
async def test_upload_runs_on_worker(
    make_client: ClientFactory, pg_settings: Settings, worker: None
) -> None:
    client = await make_client(pg_settings)
    login = await register(client)
    job = await import_and_wait(client, login["headers"], REAL_DATA / "strong-2.csv")
    assert job["state"] == "succeeded"
    assert job["result"]["workouts"] == 13
    assert job["result"]["sets"] == 184
    assert job["result"]["restRows"] == 180
    assert await stored_counts(client, int(login["userId"])) == (13, 184)


async def test_upload_twice_skips_workouts(client: Client) -> None:
    login = await register(client)
    first = await _upload_and_run(client, login["headers"], STRONG / "english.csv")
    second = await _upload_and_run(client, login["headers"], STRONG / "english.csv")
    assert first["result"]["workouts"] == 2
    assert second["state"] == "succeeded"
    assert second["result"]["workouts"] == 0
    assert second["result"]["skippedWorkouts"] == 2
    assert await stored_counts(client, int(login["userId"])) == (2, 8)


async def test_upload_raw_csv_body(client: Client) -> None:
    login = await register(client)
    response = await client.post(
        "/imports?format=strong&unit=lb&filename=english.csv",
        data=(STRONG / "english.csv").read_bytes(),
        headers={**login["headers"], "Content-Type": "text/csv"},
    )
    assert response.status == 202
    job = await _run(client, login["headers"], (await response.json())["jobId"])
    assert job["result"]["sets"] == 8
    assert job["result"]["restRows"] == 2


async def test_upload_reports_broken_rows(client: Client) -> None:
    login = await register(client)
    job = await _upload_and_run(client, login["headers"], STRONG / "broken.csv")
    assert job["state"] == "succeeded"
    assert job["result"]["sets"] == 2
    assert job["result"]["errorRows"] == 8
    assert [e["line"] for e in job["result"]["errors"]] == [3, 4, 5, 6, 7, 10, 12, 13]


@pytest.mark.real_data
async def test_upload_unknown_layout_fails_job(client: Client) -> None:
    login = await register(client)
    job = await _upload_and_run(client, login["headers"], REAL_DATA / "hevy-1.csv")
    assert job["state"] == "failed"
    assert "unknown header layout" in job["error"]
    assert await stored_counts(client, int(login["userId"])) == (0, 0)


async def test_finished_job_is_left_alone(client: Client) -> None:
    login = await register(client)
    job = await _upload_and_run(client, login["headers"], STRONG / "english.csv")
    await run_import_job(client.server.app[SERVICES], job["id"])
    again = await wait_for_job(client, login["headers"], job["id"])
    assert again == job
    assert await stored_counts(client, int(login["userId"])) == (2, 8)


@pytest.mark.real_data
async def test_upload_deleted_after_success(client: Client) -> None:
    login = await register(client)
    done = await _upload_and_run(client, login["headers"], STRONG / "english.csv")
    failed = await _upload_and_run(client, login["headers"], REAL_DATA / "hevy-1.csv")
    async with client.server.app[SERVICES].db.read(primary=True) as session:
        kept = await session.scalars(select(Upload.job_id))
        job_ids = set(kept)
    assert done["id"] not in job_ids
    assert failed["id"] in job_ids


async def test_concurrent_runs_import_once(client: Client) -> None:
    login = await register(client)
    response = await upload(client, login["headers"], STRONG / "english.csv")
    job_id = (await response.json())["jobId"]
    services = client.server.app[SERVICES]
    await asyncio.gather(*(run_import_job(services, job_id) for _ in range(3)))
    job = await wait_for_job(client, login["headers"], job_id)
    assert job["state"] == "succeeded"
    assert job["result"]["workouts"] == 2
    assert await stored_counts(client, int(login["userId"])) == (2, 8)


async def test_job_reply_shape(client: Client) -> None:
    login = await register(client)
    job = await _upload_and_run(client, login["headers"], STRONG / "german.csv")
    assert set(job) == JOB_KEYS
    assert job["kind"] == "import"
    assert job["error"] is None
    assert job["createdAt"].endswith("Z")


async def test_job_of_other_user_not_found(client: Client) -> None:
    owner = await register(client)
    other = await register(client)
    response = await upload(client, owner["headers"], STRONG / "english.csv")
    job_id = (await response.json())["jobId"]
    response = await client.get(f"/jobs/{job_id}", headers=other["headers"])
    assert response.status == 404
    response = await client.get("/jobs/no-such-job", headers=owner["headers"])
    assert response.status == 404


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("format=runkeeper&unit=kg", "format"),
        ("unit=kg", "format"),
        ("format=strong&unit=stone", "unit"),
        ("format=strong", "unit"),
    ],
)
async def test_upload_rejects_bad_options(client: Client, query: str, field: str) -> None:
    login = await register(client)
    response = await upload(client, login["headers"], STRONG / "english.csv", query=query)
    assert response.status == 400
    body = await response.json()
    assert body["details"][0]["field"] == field
    assert field in body["error"]


async def test_upload_rejects_empty_file(client: Client, tmp_path: Path) -> None:
    login = await register(client)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    response = await upload(client, login["headers"], empty)
    assert response.status == 400
    assert (await response.json())["details"][0]["field"] == "file"


async def test_upload_rejects_missing_file_field(client: Client) -> None:
    login = await register(client)
    form = aiohttp.FormData()
    form.add_field("other", b"x", filename="x.csv")
    response = await client.post(
        "/imports?format=strong&unit=kg", data=form, headers=login["headers"]
    )
    assert response.status == 400
    assert (await response.json())["details"][0]["field"] == "file"


async def test_upload_rejects_json_body(client: Client) -> None:
    login = await register(client)
    response = await client.post(
        "/imports?format=strong&unit=kg", json={}, headers=login["headers"]
    )
    assert response.status == 400
    assert "Content-Type" in (await response.json())["error"]


async def test_upload_needs_login(client: Client) -> None:
    response = await upload(client, {}, STRONG / "english.csv")
    assert response.status == 401


@pytest.mark.real_data
@pytest.mark.parametrize("raw", [False, True])
async def test_upload_over_limit(
    make_client: ClientFactory, sqlite_settings: Settings, raw: bool
) -> None:
    settings = sqlite_settings.model_copy(update={"max_upload_bytes": 500})
    client = await make_client(settings)
    login = await register(client)
    data = (REAL_DATA / "strong-3.csv").read_bytes()
    if raw:
        headers = {**login["headers"], "Content-Type": "text/csv"}
        response = await client.post("/imports?format=strong&unit=kg", data=data, headers=headers)
    else:
        response = await upload(client, login["headers"], REAL_DATA / "strong-3.csv")
    assert response.status == 413
    assert "500 bytes" in (await response.json())["error"]


async def _upload_and_run(client: Client, headers: dict[str, str], path: Path) -> dict[str, Any]:
    response = await upload(client, headers, path)
    assert response.status == 202, await response.text()
    return await _run(client, headers, (await response.json())["jobId"])


async def _run(client: Client, headers: dict[str, str], job_id: str) -> dict[str, Any]:
    """Wait for the job. On PostgreSQL no worker runs, so the job body runs here."""
    services = client.server.app[SERVICES]
    if not services.settings.embedded:
        await run_import_job(services, job_id)
    return await wait_for_job(client, headers, job_id)
