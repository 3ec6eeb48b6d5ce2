"""Background jobs a user can follow, and the files uploaded for them."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import outbox
from storage.models import Job, Upload
from storage.types import utcnow

QUEUED = "queued"
RUNNING = "running"
# Waiting for the next attempt after a transient error.
RETRYING = "retrying"
SUCCEEDED = "succeeded"
FAILED = "failed"
STATES = (QUEUED, RUNNING, RETRYING, SUCCEEDED, FAILED)
FINISHED = (SUCCEEDED, FAILED)
# States in which a run may start the job.
STARTABLE = (QUEUED, RETRYING)


class Claim(enum.Enum):
    """The outcome of a run's attempt to take a job."""

    CLAIMED = "claimed"
    # Another run holds the job and its heartbeat is fresh.
    HELD = "held"
    FINISHED = "finished"
    MISSING = "missing"


async def create_job(
    session: AsyncSession, *, user_id: int, kind: str, params: dict[str, Any], task_name: str
) -> Job:
    """Insert a queued job and the outbox task that runs it, called with `job_id`."""
    now = utcnow()
    job = Job(
        id=str(uuid.uuid4()),
        user_id=user_id,
        kind=kind,
        state=QUEUED,
        progress=0.0,
        params=params,
        attempts=0,
        created_at=now,
        updated_at=now,
    )
    session.add(job)
    await session.flush()
    outbox.add_task(session, task_name, job_id=job.id)
    return job


async def create_import_job(
    session: AsyncSession, *, user_id: int, params: dict[str, Any], filename: str, content: bytes
) -> Job:
    """Insert a queued import job with its file, and the outbox task that runs it."""
    job = await create_job(
        session, user_id=user_id, kind="import", params=params, task_name="imports.run"
    )
    session.add(Upload(job_id=job.id, filename=filename, content=content, created_at=utcnow()))
    return job


async def get_job(session: AsyncSession, *, job_id: str, user_id: int | None = None) -> Job | None:
    """Return the job, or None when it does not exist or belongs to another user."""
    statement = select(Job).where(Job.id == job_id).execution_options(populate_existing=True)
    if user_id is not None:
        statement = statement.where(Job.user_id == user_id)
    result = await session.execute(statement)
    return result.scalar_one_or_none()


async def get_upload(session: AsyncSession, *, job_id: str) -> Upload | None:
    result = await session.execute(select(Upload).where(Upload.job_id == job_id))
    return result.scalar_one_or_none()


async def claim_job_run(
    session: AsyncSession, *, job_id: str, stale_before: datetime
) -> tuple[Claim, Job | None]:
    """Mark a job running for a new run and count the attempt, unless another run holds it.

    A running job whose heartbeat (`updated_at`) is older than `stale_before` lost its worker,
    and this run takes it over. The update is one statement, so of two runs that find the same
    stale heartbeat only one claims the job.
    """
    now = utcnow()
    result = await session.execute(
        update(Job)
        .where(
            Job.id == job_id,
            or_(
                Job.state.in_(STARTABLE),
                and_(Job.state == RUNNING, Job.updated_at < stale_before),
            ),
        )
        .values(state=RUNNING, attempts=Job.attempts + 1, updated_at=now)
    )
    claimed = bool(result.rowcount)  # type: ignore[attr-defined]
    job = (
        await session.execute(
            select(Job).where(Job.id == job_id).execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    if job is None:
        return Claim.MISSING, None
    if claimed:
        return Claim.CLAIMED, job
    if job.state in FINISHED:
        return Claim.FINISHED, job
    return Claim.HELD, job


async def touch_job(session: AsyncSession, *, job_id: str, progress: float | None = None) -> bool:
    """Refresh a running job's heartbeat, and store its progress when given."""
    values: dict[str, Any] = {"updated_at": utcnow()}
    if progress is not None:
        values["progress"] = progress
    result = await session.execute(
        update(Job).where(Job.id == job_id, Job.state == RUNNING).values(**values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def mark_job_retrying(
    session: AsyncSession, *, job_id: str, error: str, attempts: int
) -> Job | None:
    """Mark an unfinished job as waiting for its next attempt; return it, or None if finished.

    `attempts` is the number of runs so far; the stored count never goes down.
    """
    result = await session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state.not_in(FINISHED))
        .values(
            state=RETRYING,
            error=error,
            attempts=case((Job.attempts < attempts, attempts), else_=Job.attempts),
            updated_at=utcnow(),
        )
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return None
    return await get_job(session, job_id=job_id)


async def requeue_job(session: AsyncSession, *, job_id: str) -> Job | None:
    """Put a failed or stuck job back in the queue for one more run; return it if it exists."""
    await session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state != SUCCEEDED)
        .values(state=QUEUED, error=None, progress=0.0, updated_at=utcnow())
    )
    return await get_job(session, job_id=job_id)


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


async def count_jobs_by_state(session: AsyncSession) -> dict[str, int]:
    """Count every user's jobs in each state; states without jobs count 0."""
    result = await session.execute(select(Job.state, func.count()).group_by(Job.state))
    counts = dict.fromkeys(STATES, 0)
    for state, count in result.tuples():
        counts[state] = count
    return counts
