"""Background jobs a user can follow, and the files uploaded for them."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import outbox
from storage.models import Job, Upload
from storage.types import utcnow

QUEUED = "queued"
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
FINISHED = (SUCCEEDED, FAILED)


async def create_import_job(
    session: AsyncSession, *, user_id: int, params: dict[str, Any], filename: str, content: bytes
) -> Job:
    """Insert a queued import job with its file, and the outbox task that runs it."""
    now = utcnow()
    job = Job(
        id=str(uuid.uuid4()),
        user_id=user_id,
        kind="import",
        state=QUEUED,
        progress=0.0,
        params=params,
        created_at=now,
        updated_at=now,
    )
    session.add(job)
    await session.flush()
    session.add(Upload(job_id=job.id, filename=filename, content=content, created_at=now))
    outbox.add_task(session, "imports.run", job_id=job.id)
    return job


async def get_job(session: AsyncSession, *, job_id: str, user_id: int | None = None) -> Job | None:
    """Return the job, or None when it does not exist or belongs to another user."""
    statement = select(Job).where(Job.id == job_id)
    if user_id is not None:
        statement = statement.where(Job.user_id == user_id)
    result = await session.execute(statement)
    return result.scalar_one_or_none()


async def get_upload(session: AsyncSession, *, job_id: str) -> Upload | None:
    result = await session.execute(select(Upload).where(Upload.job_id == job_id))
    return result.scalar_one_or_none()


async def start_job(session: AsyncSession, *, job_id: str) -> bool:
    """Mark a queued job running. A job left running by a lost worker stays running."""
    result = await session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state.in_((QUEUED, RUNNING)))
        .values(state=RUNNING, updated_at=utcnow())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def claim_job(session: AsyncSession, *, job_id: str) -> bool:
    """Lock a running job's row for this transaction, or return False if it is not running.

    On PostgreSQL a second run of the same job waits here until the first commits, then finds
    the job finished.
    """
    result = await session.execute(
        update(Job).where(Job.id == job_id, Job.state == RUNNING).values(updated_at=utcnow())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def finish_job(session: AsyncSession, *, job_id: str, result: dict[str, Any]) -> None:
    """Mark a job succeeded with its result, and delete its uploaded file.

    The file of a failed job is kept, so the failure can be examined.
    """
    await session.execute(delete(Upload).where(Upload.job_id == job_id))
    await session.execute(
        update(Job)
        .where(Job.id == job_id)
        .values(state=SUCCEEDED, progress=1.0, result=result, error=None, updated_at=utcnow())
    )


async def fail_job(
    session: AsyncSession, *, job_id: str, error: str, result: dict[str, Any] | None = None
) -> bool:
    """Mark a job failed unless it has finished already, and return whether it was marked."""
    outcome = await session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state.not_in(FINISHED))
        .values(state=FAILED, error=error, result=result, updated_at=utcnow())
    )
    return bool(outcome.rowcount)  # type: ignore[attr-defined]
