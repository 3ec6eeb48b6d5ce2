"""Dead letters: tasks that failed for good, kept for operators to read and send again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from events.names import JOB_FAILED, JOB_PROGRESS
from server.errors import Conflict, NotFound, ValidationFailed
from storage import jobs, outbox
from storage.models import DeadLetter
from storage.types import utcnow

# Error texts, tracebacks included, are cut to this many characters.
MAX_ERROR_CHARS = 10_000


@dataclass(frozen=True)
class DeadLetterPage:
    letters: list[DeadLetter]
    has_more: bool
    next_cursor: str | None


def job_id_of(kwargs: dict[str, Any]) -> str | None:
    """Return the id of the job a task runs, from its `job_id` argument."""
    job_id = kwargs.get("job_id")
    return job_id if isinstance(job_id, str) else None


async def create_dead_letter(
    session: AsyncSession,
    *,
    task_name: str,
    kwargs: dict[str, Any],
    error: str,
    job_error: str,
    attempts: int,
    outbox_id: int | None = None,
) -> DeadLetter:
    """Record a task that will not run again, delete its outbox row and fail its job.

    `error` is for operators and may hold a traceback; `job_error` is the message the job's
    owner reads, in the job and in the `job:failed` event sent through the outbox.
    """
    job_id = job_id_of(kwargs)
    letter = DeadLetter(
        task_name=task_name,
        kwargs=kwargs,
        job_id=job_id,
        error=error[:MAX_ERROR_CHARS],
        attempts=attempts,
        failed_at=utcnow(),
    )
    session.add(letter)
    if outbox_id is not None:
        await outbox.delete_rows(session, [outbox_id])
    if job_id is not None and await jobs.fail_job(session, job_id=job_id, error=job_error):
        job = await jobs.get_job(session, job_id=job_id)
        if job is not None:
            job.attempts = max(job.attempts, attempts)
            data = {
                "jobId": job_id,
                "state": jobs.FAILED,
                "error": job_error,
                "attempts": job.attempts,
            }
            outbox.add_event(session, user_id=job.user_id, name=JOB_FAILED, data=data)
    await session.flush()
    return letter


async def list_dead_letters(
    session: AsyncSession, *, limit: int, cursor: str | None = None, retried: bool | None = None
) -> DeadLetterPage:
    """List dead letters newest first; `retried` keeps only those sent again, or only the others."""
    statement = select(DeadLetter)
    if retried is True:
        statement = statement.where(DeadLetter.retried_at.is_not(None))
    elif retried is False:
        statement = statement.where(DeadLetter.retried_at.is_(None))
    if cursor is not None:
        statement = statement.where(DeadLetter.id < _decode(cursor))
    statement = statement.order_by(DeadLetter.id.desc()).limit(limit + 1)
    rows = list((await session.execute(statement)).scalars())
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = str(rows[-1].id) if has_more else None
    return DeadLetterPage(letters=rows, has_more=has_more, next_cursor=next_cursor)


async def retry_dead_letter(session: AsyncSession, *, letter_id: int) -> DeadLetter:
    """Send a dead-lettered task again through the outbox and put its job back in the queue.

    Raises NotFound for an unknown id and Conflict when the letter was retried already: a task
    that fails again makes a new dead letter.
    """
    statement = select(DeadLetter).where(DeadLetter.id == letter_id)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        statement = statement.with_for_update()
    letter = (await session.execute(statement)).scalar_one_or_none()
    if letter is None:
        raise NotFound(f"dead letter {letter_id} not found")
    if letter.retried_at is not None:
        raise Conflict(
            f"dead letter {letter_id} was already retried at {letter.retried_at.isoformat()}; "
            "a task that failed again has a newer dead letter"
        )
    letter.retried_at = utcnow()
    outbox.add_task(session, letter.task_name, **letter.kwargs)
    if letter.job_id is not None:
        job = await jobs.requeue_job(session, job_id=letter.job_id)
        if job is not None and job.state == jobs.QUEUED:
            data = {"jobId": job.id, "state": jobs.QUEUED, "progress": 0.0}
            outbox.add_event(session, user_id=job.user_id, name=JOB_PROGRESS, data=data)
    await session.flush()
    return letter


async def count_dead_letters(session: AsyncSession) -> dict[str, int]:
    """Count dead letters: all of them and those not retried yet."""
    total = await session.scalar(select(func.count()).select_from(DeadLetter))
    open_letters = await session.scalar(
        select(func.count()).select_from(DeadLetter).where(DeadLetter.retried_at.is_(None))
    )
    return {"total": int(total or 0), "open": int(open_letters or 0)}


def _decode(cursor: str) -> int:
    if not cursor.isdigit() or len(cursor) > 19:
        raise ValidationFailed.field(
            "cursor", "invalid cursor: pass the nextCursor of the previous page unchanged"
        )
    return int(cursor)
