"""GET /jobs and GET /jobs/{id}: a user's jobs, paged newest first, and no one else's."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from server.app import SERVICES
from storage.models import Job
from storage.types import utcnow
from tests.helpers import register

Client = TestClient[Any, Any]
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


async def insert_jobs(client: Client, user_id: str, specs: list[tuple[str, str]]) -> list[str]:
    """Insert jobs of (kind, state), one second apart in that order; return their ids."""
    start = utcnow() - timedelta(hours=1)
    ids = []
    async with client.server.app[SERVICES].db.transaction() as session:
        for index, (kind, state) in enumerate(specs):
            moment = start + timedelta(seconds=index)
            job = Job(
                id=str(uuid.uuid4()),
                user_id=int(user_id),
                kind=kind,
                state=state,
                progress=0.5,
                params={},
                attempts=index,
                created_at=moment,
                updated_at=moment,
            )
            session.add(job)
            ids.append(job.id)
    return ids


async def get_page(client: Client, headers: dict[str, str], query: str) -> dict[str, Any]:
    response = await client.get(f"/jobs?{query}", headers=headers)
    assert response.status == 200, await response.text()
    page: dict[str, Any] = await response.json()
    return page


async def test_list_jobs_newest_first_in_pages(client: Client) -> None:
    login = await register(client)
    ids = await insert_jobs(client, login["userId"], [("import", "succeeded")] * 5)

    first = await get_page(client, login["headers"], "limit=2")
    assert [job["id"] for job in first["jobs"]] == [ids[4], ids[3]]
    assert first["pagination"]["hasMore"] is True
    second = await get_page(
        client, login["headers"], f"limit=2&cursor={first['pagination']['nextCursor']}"
    )
    assert [job["id"] for job in second["jobs"]] == [ids[2], ids[1]]
    last = await get_page(
        client, login["headers"], f"limit=2&cursor={second['pagination']['nextCursor']}"
    )
    assert [job["id"] for job in last["jobs"]] == [ids[0]]
    assert last["pagination"] == {"hasMore": False, "nextCursor": None}


async def test_list_jobs_reply_shape(client: Client) -> None:
    login = await register(client)
    [job_id] = await insert_jobs(client, login["userId"], [("export", "retrying")])
    page = await get_page(client, login["headers"], "")
    [job] = page["jobs"]
    assert set(job) == JOB_KEYS
    assert job["id"] == job_id
    assert job["state"] == "retrying"
    assert job["createdAt"].endswith("Z")


async def test_list_jobs_filters_kind_and_state(client: Client) -> None:
    login = await register(client)
    ids = await insert_jobs(
        client,
        login["userId"],
        [("import", "failed"), ("export", "failed"), ("import", "succeeded")],
    )
    failed = await get_page(client, login["headers"], "state=failed")
    assert [job["id"] for job in failed["jobs"]] == [ids[1], ids[0]]
    imports = await get_page(client, login["headers"], "kind=import")
    assert [job["id"] for job in imports["jobs"]] == [ids[2], ids[0]]
    both = await get_page(client, login["headers"], "kind=import&state=failed")
    assert [job["id"] for job in both["jobs"]] == [ids[0]]


async def test_list_jobs_shows_only_own(client: Client) -> None:
    owner = await register(client)
    other = await register(client)
    await insert_jobs(client, owner["userId"], [("import", "queued")])
    page = await get_page(client, other["headers"], "")
    assert page["jobs"] == []


async def test_list_jobs_rejects_bad_query(client: Client) -> None:
    login = await register(client)
    for query, field in (
        ("state=done", "state"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("cursor=not-a-cursor", "cursor"),
    ):
        response = await client.get(f"/jobs?{query}", headers=login["headers"])
        assert response.status == 400, query
        body = await response.json()
        assert body["details"][0]["field"] == field, query


async def test_job_of_other_user_not_found(client: Client) -> None:
    owner = await register(client)
    other = await register(client)
    [job_id] = await insert_jobs(client, owner["userId"], [("import", "running")])
    response = await client.get(f"/jobs/{job_id}", headers=other["headers"])
    assert response.status == 404
    response = await client.get(f"/jobs/{job_id}", headers=owner["headers"])
    assert response.status == 200
    job = await response.json()
    assert job["attempts"] == 0
    assert job["progress"] == 0.5


async def test_jobs_need_token(client: Client) -> None:
    for path in ("/jobs", f"/jobs/{uuid.uuid4()}"):
        response = await client.get(path)
        assert response.status == 401, path
