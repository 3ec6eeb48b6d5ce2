"""POST /imports and `nappatzim import` for Hevy and FitNotes files, beside Strong."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from server.app import SERVICES
from server.config import Settings
from storage.models import ExerciseProgress
from tasks.importer import run_import_job
from tests.conftest import FIXTURES, JWT_SECRET, REAL_DATA, ClientFactory
from tests.helpers import register
from tests.live import LiveClient
from tests.test_imports_api import stored_counts, wait_for_job
from tests.test_strong_import import run_command

Client = TestClient[Any, Any]


async def upload(
    client: Client, headers: dict[str, str], path: Path, query: str
) -> aiohttp.ClientResponse:
    form = aiohttp.FormData()
    form.add_field("file", path.read_bytes(), filename=path.name, content_type="text/csv")
    return await client.post(f"/imports?{query}", data=form, headers=headers)


async def upload_and_run(
    client: Client, headers: dict[str, str], path: Path, query: str
) -> dict[str, Any]:
    """Upload and wait for the job; on PostgreSQL without a worker, run its body here."""
    response = await upload(client, headers, path, query)
    assert response.status == 202, await response.text()
    job_id = (await response.json())["jobId"]
    services = client.server.app[SERVICES]
    if not services.settings.embedded:
        await run_import_job(services, job_id)
    return await wait_for_job(client, headers, job_id)


async def progress_rows(client: Client, user_id: int) -> int:
    async with client.server.app[SERVICES].db.read() as session:
        total = await session.scalar(
            select(func.count())
            .select_from(ExerciseProgress)
            .where(ExerciseProgress.user_id == user_id)
        )
    return int(total or 0)


async def wait_for_progress(client: Client, user_id: int, expected: int) -> int:
    """Poll until the progress job has stored `expected` exercises, for at most 20 seconds."""
    rows = 0
    async with asyncio.timeout(20):
        while (rows := await progress_rows(client, user_id)) < expected:
            await asyncio.sleep(0.1)
    return rows


@pytest.mark.parametrize(
    ("query", "path", "workouts", "sets"),
    [
        ("format=hevy", FIXTURES / "hevy" / "metric.csv", 2, 11),
        ("format=hevy&unit=kg", FIXTURES / "hevy" / "imperial.csv", 1, 3),
        ("format=fitnotes", FIXTURES / "fitnotes" / "legacy-lbs.csv", 2, 10),
        ("format=strong&unit=kg", FIXTURES / "strong" / "english.csv", 2, 8),
    ],
)
async def test_upload_each_format(
    client: Client, query: str, path: Path, workouts: int, sets: int
) -> None:
    login = await register(client)
    job = await upload_and_run(client, login["headers"], path, query)
    assert job["state"] == "succeeded", job["error"]
    assert job["result"]["workouts"] == workouts
    assert job["result"]["sets"] == sets
    assert job["result"]["errors"] == []
    assert await stored_counts(client, int(login["userId"])) == (workouts, sets)


@pytest.mark.parametrize("fmt", ["hevy", "fitnotes"])
async def test_upload_twice_adds_nothing(client: Client, fmt: str) -> None:
    login = await register(client)
    path = FIXTURES / fmt / ("metric.csv" if fmt == "hevy" else "per-row-units.csv")
    first = await upload_and_run(client, login["headers"], path, f"format={fmt}")
    second = await upload_and_run(client, login["headers"], path, f"format={fmt}")
    assert second["state"] == "succeeded"
    assert second["result"]["workouts"] == 0
    assert second["result"]["skippedWorkouts"] == first["result"]["workouts"]
    stored = await stored_counts(client, int(login["userId"]))
    assert stored == (first["result"]["workouts"], first["result"]["sets"])


@pytest.mark.parametrize(
    ("fmt", "lines"), [("hevy", [3, 4, 5, 6, 7, 8, 9, 11]), ("fitnotes", [3, 4, 5, 7, 8, 9, 10])]
)
async def test_upload_reports_broken_lines(client: Client, fmt: str, lines: list[int]) -> None:
    login = await register(client)
    job = await upload_and_run(
        client, login["headers"], FIXTURES / fmt / "broken.csv", f"format={fmt}"
    )
    assert job["state"] == "succeeded"
    assert [error["line"] for error in job["result"]["errors"]] == lines
    assert job["result"]["errorRows"] == len(lines)
    assert all(error["message"] for error in job["result"]["errors"])


async def test_upload_wrong_format_fails_job(client: Client) -> None:
    login = await register(client)
    path = FIXTURES / "fitnotes" / "legacy-lbs.csv"
    job = await upload_and_run(client, login["headers"], path, "format=hevy")
    assert job["state"] == "failed"
    assert "unknown header layout" in job["error"]
    assert await stored_counts(client, int(login["userId"])) == (0, 0)


@pytest.mark.parametrize(
    ("query", "field"),
    [("format=strong", "unit"), ("format=hevy&unit=stone", "unit"), ("format=csv", "format")],
)
async def test_upload_rejects_options(client: Client, query: str, field: str) -> None:
    login = await register(client)
    response = await upload(client, login["headers"], FIXTURES / "hevy" / "metric.csv", query)
    assert response.status == 400
    body = await response.json()
    assert body["details"][0]["field"] == field


async def test_upload_embedded_sends_events(
    make_client: ClientFactory, sqlite_settings: Settings
) -> None:
    client = await make_client(sqlite_settings)
    login = await register(client)
    live = LiveClient()
    await live.connect(str(client.make_url("/")), login["accessToken"])
    path = FIXTURES / "fitnotes" / "per-row-units.csv"
    response = await upload(client, login["headers"], path, "format=fitnotes")
    job_id = (await response.json())["jobId"]
    _, progress = await live.next_event("job:progress")
    assert progress["jobId"] == job_id
    _, done = await live.next_event("job:completed")
    assert done["jobId"] == job_id
    assert done["result"]["sets"] == 8
    assert await wait_for_progress(client, int(login["userId"]), 6) == 6
    await live.close()


@pytest.mark.real_data
@pytest.mark.parametrize(
    ("name", "workouts", "sets"), [("hevy-2.csv", 37, 567), ("fitnotes-2.csv", 78, 1624)]
)
async def test_upload_runs_on_worker(
    make_client: ClientFactory,
    pg_settings: Settings,
    worker: None,
    name: str,
    workouts: int,
    sets: int,
) -> None:
    client = await make_client(pg_settings)
    login = await register(client)
    fmt = name.split("-")[0]
    response = await upload(client, login["headers"], REAL_DATA / name, f"format={fmt}")
    assert response.status == 202
    job = await wait_for_job(client, login["headers"], (await response.json())["jobId"])
    assert job["state"] == "succeeded", job["error"]
    assert job["result"]["workouts"] == workouts
    assert job["result"]["sets"] == sets
    assert await stored_counts(client, int(login["userId"])) == (workouts, sets)
    assert await wait_for_progress(client, int(login["userId"]), 1) > 0


@pytest.mark.parametrize(
    ("query", "path", "sets"),
    [
        ("format=hevy", FIXTURES / "hevy" / "metric.csv", 11),
        ("format=fitnotes", FIXTURES / "fitnotes" / "per-row-units.csv", 8),
        ("format=strong&unit=lb", FIXTURES / "strong" / "english.csv", 8),
    ],
)
async def test_fixture_runs_on_worker(
    make_client: ClientFactory,
    pg_settings: Settings,
    worker: None,
    query: str,
    path: Path,
    sets: int,
) -> None:
    client = await make_client(pg_settings)
    login = await register(client)
    response = await upload(client, login["headers"], path, query)
    assert response.status == 202
    job = await wait_for_job(client, login["headers"], (await response.json())["jobId"])
    assert job["state"] == "succeeded", job["error"]
    assert job["result"]["sets"] == sets
    assert await wait_for_progress(client, int(login["userId"]), 1) > 0


async def test_command_imports_each_format(tmp_path: Path, make_client: ClientFactory) -> None:
    email = f"cli-{uuid.uuid4().hex[:8]}@example.com"
    await run_command(tmp_path, "migrate")
    client = await make_client(Settings(data_dir=tmp_path, jwt_secret=JWT_SECRET))
    await register(client, email)
    hevy = str(FIXTURES / "hevy" / "metric.csv")
    fitnotes = str(FIXTURES / "fitnotes" / "legacy-lbs.csv")

    status, stdout, stderr = await run_command(
        tmp_path, "import", "--format", "hevy", hevy, "--user", email
    )
    assert status == 0, stderr
    assert "imported 2 workouts" in stdout
    assert "11 sets" in stdout

    status, stdout, stderr = await run_command(
        tmp_path, "import", "--format", "fitnotes", fitnotes, "--user", email
    )
    assert status == 0, stderr
    assert "10 sets" in stdout

    status, stdout, _ = await run_command(
        tmp_path, "import", "--format", "hevy", hevy, "--user", email
    )
    assert "imported 0 workouts" in stdout
    assert "2 workouts imported before" in stdout


async def test_command_lists_broken_lines(tmp_path: Path, make_client: ClientFactory) -> None:
    email = f"cli-{uuid.uuid4().hex[:8]}@example.com"
    await run_command(tmp_path, "migrate")
    client = await make_client(Settings(data_dir=tmp_path, jwt_secret=JWT_SECRET))
    await register(client, email)
    path = str(FIXTURES / "fitnotes" / "broken.csv")
    status, stdout, _ = await run_command(
        tmp_path, "import", "--format", "fitnotes", path, "--user", email
    )
    assert status == 0
    assert "7 rows skipped" in stdout
    assert "line 3: Date: invalid date '2025-05-32'" in stdout
    assert "line 10: wrong number of columns" in stdout


async def test_command_strong_needs_unit(tmp_path: Path) -> None:
    path = str(FIXTURES / "strong" / "english.csv")
    status, _, stderr = await run_command(
        tmp_path, "import", "--format", "strong", path, "--user", "someone@example.com"
    )
    assert status == 2
    assert "unit: missing" in stderr
