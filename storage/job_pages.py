"""Keyset pages of jobs: a user's own, newest first, or every user's for operators."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from sqlalchemy import literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from server.errors import ValidationFailed
from storage.models import Job
from storage.types import UTCDateTime, to_utc

# createdAt lists jobs in the order they were started; updatedAt puts the jobs that changed
# last first, which is what operators watch.
# NOTE: ix_jobs_state_updated serves updatedAt lists filtered by state; without a state the
# database sorts every job.
SortKey = Literal["createdAt", "updatedAt"]
_COLUMNS = {"createdAt": Job.created_at, "updatedAt": Job.updated_at}
_INVALID = "invalid cursor: pass the nextCursor of the previous page unchanged"


@dataclass(frozen=True)
class JobPage:
    jobs: list[Job]
    has_more: bool
    next_cursor: str | None


async def list_jobs(
    session: AsyncSession,
    *,
    user_id: int | None,
    limit: int,
    cursor: str | None = None,
    kind: str | None = None,
    state: str | None = None,
    sort_by: SortKey = "createdAt",
) -> JobPage:
    """List jobs newest first by `sort_by`, ties broken by id; all users' when `user_id` is None."""
    column = _COLUMNS[sort_by]
    statement = select(Job)
    if user_id is not None:
        statement = statement.where(Job.user_id == user_id)
    if kind is not None:
        statement = statement.where(Job.kind == kind)
    if state is not None:
        statement = statement.where(Job.state == state)
    if cursor is not None:
        value, last_id = _decode(cursor, sort_by)
        position = tuple_(literal(value, UTCDateTime()), literal(last_id))
        statement = statement.where(tuple_(column, Job.id) < position)
    statement = statement.order_by(column.desc(), Job.id.desc()).limit(limit + 1)
    rows = list((await session.execute(statement)).scalars())
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = _encode(rows[-1], sort_by) if has_more else None
    return JobPage(jobs=rows, has_more=has_more, next_cursor=next_cursor)


def _encode(job: Job, sort_by: SortKey) -> str:
    value: datetime = getattr(job, _COLUMNS[sort_by].key)
    data = {"s": sort_by, "v": value.astimezone(UTC).isoformat(), "i": job.id}
    return base64.urlsafe_b64encode(orjson.dumps(data)).rstrip(b"=").decode()


def _decode(token: str, sort_by: SortKey) -> tuple[datetime, str]:
    try:
        data: Any = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        value = to_utc(datetime.fromisoformat(data["v"]))
        last_id = data["i"]
        made_for = data["s"]
    except (binascii.Error, orjson.JSONDecodeError, ValueError, TypeError, KeyError):
        raise ValidationFailed.field("cursor", _INVALID) from None
    if made_for != sort_by or not isinstance(last_id, str):
        raise ValidationFailed.field("cursor", _INVALID)
    return value, last_id
