"""The operators' API: the task queue, every user's jobs, and dead letters with their retry.

Every call needs the access token of a user whose role is `admin` (set with
`nappatzim admin grant EMAIL`): no token is 401, another user's token is 403.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from pydantic import Field

from server.auth import current_user, services
from server.errors import Forbidden, NotFound, json_response
from server.routes.jobs import JobState, job_page_reply, job_reply
from server.schemas import iso, parse_id, query_params
from server.validation import CamelModel, parse_query
from storage import dead_letters, job_pages, jobs, users
from storage.models import DeadLetter
from tasks.queue_info import describe_queue

log = logging.getLogger(__name__)

routes = web.RouteTableDef()

ADMIN_ROLE = "admin"


class AdminJobQuery(CamelModel):
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(default=None, max_length=1000)
    kind: str | None = Field(default=None, max_length=32)
    state: JobState | None = None


class DeadLetterQuery(CamelModel):
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(default=None, max_length=32)
    retried: bool | None = None


async def require_admin(request: web.Request) -> int:
    """Return the id of the signed-in admin; raise 401 without a token, 403 for others."""
    user_id = current_user(request)
    async with services(request).db.read(primary=True) as session:
        user = await users.get_user(session, user_id=user_id)
    if user is None or user.role != ADMIN_ROLE:
        raise Forbidden("forbidden: this call needs the admin role")
    return user_id


@routes.get("/admin/queue")
async def get_queue(request: web.Request) -> web.Response:
    """Describe the task queue: stream, pending messages, consumers, outbox, jobs, dead letters."""
    await require_admin(request)
    return json_response(await describe_queue(services(request)))


@routes.get("/admin/jobs")
async def list_all_jobs(request: web.Request) -> web.Response:
    """List every user's jobs, the most recently changed first, optionally by state and kind."""
    await require_admin(request)
    query = parse_query(query_params(request), AdminJobQuery)
    async with services(request).db.read(primary=True) as session:
        page = await job_pages.list_jobs(
            session,
            user_id=None,
            limit=query.limit,
            cursor=query.cursor,
            kind=query.kind,
            state=query.state,
            sort_by="updatedAt",
        )
    return json_response(job_page_reply(page, with_user=True))


@routes.get("/admin/dead-letters")
async def list_dead_letters(request: web.Request) -> web.Response:
    """List dead letters newest first; `retried=false` keeps those not sent again yet."""
    await require_admin(request)
    query = parse_query(query_params(request), DeadLetterQuery)
    async with services(request).db.read(primary=True) as session:
        page = await dead_letters.list_dead_letters(
            session, limit=query.limit, cursor=query.cursor, retried=query.retried
        )
    return json_response(
        {
            "deadLetters": [dead_letter_reply(letter) for letter in page.letters],
            "pagination": {"hasMore": page.has_more, "nextCursor": page.next_cursor},
        }
    )


@routes.post("/admin/dead-letters/{letter_id}/retry")
async def retry_dead_letter(request: web.Request) -> web.Response:
    """Send a dead-lettered task again and put its job back in the queue; 202."""
    admin_id = await require_admin(request)
    letter_id = parse_id(request.match_info["letter_id"])
    if letter_id is None:
        raise NotFound(f"dead letter {request.match_info['letter_id']!r} not found")
    async with services(request).write() as session:
        letter = await dead_letters.retry_dead_letter(session, letter_id=letter_id)
        job = await jobs.get_job(session, job_id=letter.job_id) if letter.job_id else None
    log.info(
        "dead letter %s (%s) retried by admin %s",
        letter.id,
        letter.task_name,
        admin_id,
        extra={"job_id": letter.job_id},
    )
    reply: dict[str, Any] = {
        "deadLetter": dead_letter_reply(letter),
        "job": job_reply(job) if job else None,
    }
    return json_response(reply, status=202)


def dead_letter_reply(letter: DeadLetter) -> dict[str, Any]:
    return {
        "id": str(letter.id),
        "taskName": letter.task_name,
        "kwargs": letter.kwargs,
        "jobId": letter.job_id,
        "error": letter.error,
        "attempts": letter.attempts,
        "failedAt": iso(letter.failed_at),
        "retriedAt": iso(letter.retried_at) if letter.retried_at else None,
    }
