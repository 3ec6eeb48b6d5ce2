"""The status of background jobs: a user's job list and each job's state, progress and result."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from aiohttp import web
from pydantic import Field

from server.auth import current_user, services
from server.errors import NotFound, json_response
from server.schemas import iso, query_params
from server.validation import CamelModel, parse_query
from storage import job_pages, jobs
from storage.job_pages import JobPage
from storage.models import Job

routes = web.RouteTableDef()

JobState = Literal["queued", "running", "retrying", "succeeded", "failed"]


class JobListQuery(CamelModel):
    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=1000)
    kind: str | None = Field(default=None, max_length=32)
    state: JobState | None = None


@routes.get("/jobs")
async def list_jobs(request: web.Request) -> web.Response:
    """List the user's jobs, newest first, one keyset page at a time."""
    user_id = current_user(request)
    query = parse_query(query_params(request), JobListQuery)
    # The worker writes to the primary, so a replica could lag behind the jobs' states.
    async with services(request).db.read(primary=True) as session:
        page = await job_pages.list_jobs(
            session,
            user_id=user_id,
            limit=query.limit,
            cursor=query.cursor,
            kind=query.kind,
            state=query.state,
        )
    return json_response(job_page_reply(page))


@routes.get("/jobs/{job_id}")
async def get_job(request: web.Request) -> web.Response:
    """Return a job's state, progress and result. Another user's job is not found (404)."""
    user_id = current_user(request)
    job_id = request.match_info["job_id"]
    if not is_job_id(job_id):
        raise NotFound(f"job {job_id!r} not found")
    async with services(request).db.read(primary=True) as session:
        job = await jobs.get_job(session, job_id=job_id, user_id=user_id)
    if job is None:
        raise NotFound(f"job {job_id!r} not found")
    return json_response(job_reply(job))


def job_reply(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind,
        "state": job.state,
        "progress": job.progress,
        "result": job.result,
        "error": job.error,
        "attempts": job.attempts,
        "createdAt": iso(job.created_at),
        "updatedAt": iso(job.updated_at),
    }


def job_page_reply(page: JobPage, *, with_user: bool = False) -> dict[str, Any]:
    """Shape a page of jobs; operators' lists also name each job's user."""
    items = []
    for job in page.jobs:
        item = job_reply(job)
        if with_user:
            item["userId"] = str(job.user_id)
        items.append(item)
    return {
        "jobs": items,
        "pagination": {"hasMore": page.has_more, "nextCursor": page.next_cursor},
    }


def is_job_id(value: str) -> bool:
    """Tell whether a value is a job id (a UUID in canonical form), so no query runs for others."""
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False
