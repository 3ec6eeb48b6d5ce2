"""Runs of a job's task under a lease, so that one job never runs twice at once.

A run claims the job, then refreshes the job's `updated_at` as a heartbeat while its body runs.
A second delivery of the task that finds the job running with a fresh heartbeat does nothing.
It leaves its message unacknowledged, so the stream delivers it again after
TASK_REDELIVERY_SECONDS. A heartbeat older than half that time means the first worker died,
and the next delivery takes the job over.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from storage import jobs, outbox
from storage.jobs import Claim
from storage.models import Job
from storage.types import utcnow
from tasks.delivery import current_delivery, leave_pending
from tasks.relay import outbox_row_id

if TYPE_CHECKING:
    from server.services import Services

log = logging.getLogger(__name__)

# Shares of TASK_REDELIVERY_SECONDS: a running job's heartbeat comes every quarter of it, and
# one older than half of it is stale. Redeliveries come a whole redelivery time apart, so a
# live run has refreshed its heartbeat twice between them.
HEARTBEAT_SHARE = 0.25
STALE_SHARE = 0.5


class JobRun:
    """The run that holds a job's lease; its body reports progress through it."""

    def __init__(self, job: Job):
        self.job = job
        self._progress: float | None = None

    def set_progress(self, fraction: float) -> None:
        """Store the job's progress (0 to 1) with the next heartbeat."""
        self._progress = min(max(fraction, 0.0), 1.0)

    def take_progress(self) -> float | None:
        progress, self._progress = self._progress, None
        return progress


JobBody = Callable[[JobRun], Awaitable[None]]


async def run_job(services: Services, job_id: str, body: JobBody) -> bool:
    """Run `body` while this run holds the job's lease, and return whether it ran.

    A missing or finished job is not run. A job that another run holds is not run either: the
    message stays pending, so that this delivery comes back if the other run's worker dies.
    Exceptions of `body` propagate to the retry middleware.
    """
    redelivery = services.settings.task_redelivery_seconds
    stale_before = utcnow() - timedelta(seconds=redelivery * STALE_SHARE)
    async with services.write() as session:
        claim, job = await jobs.claim_job_run(session, job_id=job_id, stale_before=stale_before)
    if claim is Claim.MISSING or job is None:
        log.warning("job %s not found, nothing to run", job_id)
        return False
    if claim is Claim.FINISHED:
        log.info("job %s has %s already, nothing to run", job_id, job.state)
        return False
    if claim is Claim.HELD:
        leave_pending()
        log.info("job %s is running elsewhere with a fresh heartbeat; left to that run", job_id)
        return False
    if job.attempts > 1:
        log.info("job %s starts attempt %d", job_id, job.attempts, extra={"job_id": job_id})

    run = JobRun(job)
    delivery = current_delivery()
    row_id = outbox_row_id(delivery.task_id) if delivery is not None else None
    heartbeat = asyncio.create_task(
        _beat(services, run, row_id, interval=redelivery * HEARTBEAT_SHARE),
        name=f"job-heartbeat-{job_id}",
    )
    try:
        await body(run)
    finally:
        heartbeat.cancel()
        # gather() returns the heartbeat's CancelledError instead of raising it, while a
        # cancellation of this task itself still propagates.
        await asyncio.gather(heartbeat, return_exceptions=True)
    return True


async def _beat(services: Services, run: JobRun, row_id: int | None, *, interval: float) -> None:
    """Refresh the job's heartbeat, and the lease of its outbox row, until cancelled.

    Extending the row's lease keeps the relay from sending a job that is still running.
    """
    lease = timedelta(seconds=services.settings.outbox_task_lease_seconds)
    while True:
        await asyncio.sleep(interval)
        progress = run.take_progress()
        try:
            async with services.db.transaction() as session:
                await jobs.touch_job(session, job_id=run.job.id, progress=progress)
                if row_id is not None:
                    await outbox.extend_lease(session, [row_id], lease=lease)
        except Exception as error:  # a missed heartbeat is retried at the next beat
            log.warning("heartbeat of job %s failed: %r", run.job.id, error)
            if progress is not None and run.take_progress() is None:
                run.set_progress(progress)
