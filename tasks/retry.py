"""Retries of failed tasks with exponential backoff, and dead letters for those that fail for good.

A task that raises is retried when the error is transient: its outbox row is sent again after a
delay, under the same task id, so the job a client follows keeps its id. A permanent error, or
a transient one on the last allowed attempt, moves the task to the `dead_letters` table and
fails its job. Attempts are counted on the task's outbox row, one per send.
"""

from __future__ import annotations

import logging
import random
import traceback
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession
from taskiq import TaskiqMessage, TaskiqMiddleware, TaskiqResult
from taskiq.exceptions import NoResultError

from events.names import JOB_PROGRESS
from server.config import Settings
from server.errors import is_database_unavailable
from server.schemas import iso
from storage import dead_letters, jobs, outbox
from storage.types import utcnow
from tasks.delivery import begin_delivery, end_delivery, leave_pending
from tasks.relay import outbox_row_id

if TYPE_CHECKING:
    from server.services import Services

log = logging.getLogger(__name__)

# Length of the error kept on an outbox row that waits for its retry.
MAX_SUMMARY_CHARS = 1000


class TransientError(Exception):
    """Raised by a task whose failure may pass, such as a service that is down for a while."""


class PermanentError(Exception):
    """Raised by a task that no retry can help; its message is shown to the job's owner."""


def is_transient(error: BaseException) -> bool:
    """Tell whether a later attempt may succeed where this one failed.

    Transient: TransientError, an unreachable database, Redis errors, timeouts and connection
    errors. Everything else is permanent, since a bug or bad input fails the same way again.
    """
    if isinstance(error, PermanentError):
        return False
    if isinstance(error, TransientError | RedisError | TimeoutError | ConnectionError):
        return True
    return is_database_unavailable(error)


def owner_message(error: BaseException) -> str:
    """Describe a failure for the job's owner, without internals such as SQL or paths."""
    if isinstance(error, TransientError | PermanentError):
        return str(error) or type(error).__name__
    if isinstance(error, RedisError):
        return "Redis was unavailable"
    if isinstance(error, TimeoutError):
        return "an operation timed out"
    if isinstance(error, ConnectionError):
        return "a connection failed"
    if is_database_unavailable(error):
        return "the database was unavailable"
    return f"internal error ({type(error).__name__})"


def operator_message(error: BaseException) -> str:
    """Return the error with its traceback, for the dead letter an operator reads."""
    return "".join(traceback.format_exception(error))


def summarize(error: BaseException) -> str:
    """Return the error's type and message in at most MAX_SUMMARY_CHARS characters."""
    return f"{type(error).__name__}: {error}"[:MAX_SUMMARY_CHARS]


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    base_seconds: float
    factor: float
    max_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            max_attempts=settings.task_max_attempts,
            base_seconds=settings.task_retry_base_seconds,
            factor=settings.task_retry_factor,
            max_seconds=settings.task_retry_max_seconds,
        )

    def ceiling(self, attempt: int) -> float:
        """Return the longest delay, in seconds, after failed attempt number `attempt`."""
        # The exponent is bounded so that a large attempt count cannot overflow a float.
        growth: float = self.factor ** min(attempt - 1, 64)
        return min(self.max_seconds, self.base_seconds * growth)

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Return the delay before the next attempt: uniform in [0, ceiling] ("full jitter").

        Full jitter spreads the retries of many tasks that failed together, so a service that
        comes back is not hit by all of them at once.
        """
        return (rng or random).uniform(0.0, self.ceiling(attempt))


@dataclass(frozen=True)
class FailedRun:
    """The decision about a failed run: a retry after `delay`, or a dead letter."""

    task_name: str
    attempts: int
    delay: float | None
    job_id: str | None


class RetryMiddleware(TaskiqMiddleware):
    """Retry failed tasks with backoff, or dead-letter them; register it before the others.

    Its `pre_execute` records the delivery that the task body and the other middlewares read.
    """

    def __init__(self, policy: RetryPolicy):
        super().__init__()
        self.policy = policy

    async def pre_execute(self, message: TaskiqMessage) -> TaskiqMessage:
        begin_delivery(message)
        return message

    async def post_execute(self, message: TaskiqMessage, result: TaskiqResult[Any]) -> None:
        end_delivery()

    async def on_error(
        self, message: TaskiqMessage, result: TaskiqResult[Any], exception: BaseException
    ) -> None:
        if isinstance(exception, NoResultError):
            return
        if not isinstance(exception, Exception):
            # The worker is stopping (the task was cancelled): this run does not count, and
            # the stream delivers the message to a worker after the redelivery time.
            leave_pending()
            log.warning("task %s stopped by %r", message.task_id, exception)
            return
        services: Services = self.broker.state.services
        try:
            async with services.write() as session:
                failed = await self._record(session, message, exception)
        except Exception as error:
            leave_pending()
            log.warning(
                "failure of task %s (%s) not recorded, it is delivered again: %r",
                message.task_id,
                message.task_name,
                error,
            )
            return
        if failed is None:
            log.info("task %s failed, but its outbox row is gone already", message.task_id)
        elif failed.delay is not None:
            log.warning(
                "task %s (%s) failed on attempt %d, retrying in %.1fs: %r",
                message.task_id,
                failed.task_name,
                failed.attempts,
                failed.delay,
                exception,
                extra={"job_id": failed.job_id},
            )
        else:
            log.error(
                "task %s (%s) dead-lettered after %d attempts: %r",
                message.task_id,
                failed.task_name,
                failed.attempts,
                exception,
                extra={"job_id": failed.job_id},
            )

    async def _record(
        self, session: AsyncSession, message: TaskiqMessage, error: Exception
    ) -> FailedRun | None:
        """Schedule the retry or write the dead letter; return None when there is nothing to do."""
        row_id = outbox_row_id(message.task_id)
        row = None
        if row_id is None:
            # Sent without an outbox row, as the scheduler does: this was its first run.
            task_name, kwargs, attempts = message.task_name, dict(message.kwargs), 1
        else:
            row = await outbox.get_task_row(session, row_id)
            if row is None:
                # Another delivery finished the task, or it was dead-lettered already.
                return None
            task_name, kwargs = row.payload["task"], row.payload["kwargs"]
            attempts = max(row.attempts, 1)
        job_id = dead_letters.job_id_of(kwargs)

        if not is_transient(error):
            await dead_letters.create_dead_letter(
                session,
                task_name=task_name,
                kwargs=kwargs,
                error=operator_message(error),
                job_error=owner_message(error),
                attempts=attempts,
                outbox_id=row_id,
            )
            return FailedRun(task_name, attempts, None, job_id)
        if attempts >= self.policy.max_attempts:
            await dead_letters.create_dead_letter(
                session,
                task_name=task_name,
                kwargs=kwargs,
                error=operator_message(error),
                job_error=f"failed after {attempts} attempts: {owner_message(error)}",
                attempts=attempts,
                outbox_id=row_id,
            )
            return FailedRun(task_name, attempts, None, job_id)

        delay = self.policy.delay(attempts)
        retry_at = utcnow() + timedelta(seconds=delay)
        summary = summarize(error)
        if row is None:
            outbox.add_retry(
                session,
                task_name,
                kwargs,
                available_at=retry_at,
                attempts=attempts,
                error=summary,
            )
        else:
            await outbox.reschedule(session, row.id, available_at=retry_at, error=summary)
        if job_id is not None:
            error_text = owner_message(error)
            job = await jobs.mark_job_retrying(
                session, job_id=job_id, error=error_text, attempts=attempts
            )
            if job is not None:
                data = {
                    "jobId": job_id,
                    "state": jobs.RETRYING,
                    "progress": job.progress,
                    "attempts": job.attempts,
                    "error": error_text,
                    "retryAt": iso(retry_at),
                }
                outbox.add_event(session, user_id=job.user_id, name=JOB_PROGRESS, data=data)
        return FailedRun(task_name, attempts, delay, job_id)
