"""The export job: builds a CSV, JSON or PDF file of a user's data and stores it for download."""

from __future__ import annotations

import asyncio
import functools
import logging
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import IO, TYPE_CHECKING, Any

from events.names import JOB_COMPLETED, JOB_FAILED, JOB_PROGRESS
from server.schemas import iso
from storage import export_data, exports, jobs, users
from storage.models import User
from storage.types import utcnow
from tasks import export_csv
from tasks.export_json import write_json
from tasks.leases import JobRun, run_job
from tasks.report_data import load_report, user_zone
from tasks.report_pdf import build_pdf

if TYPE_CHECKING:
    from server.services import Services

log = logging.getLogger(__name__)

# Workouts read per query while a file is written.
PAGE_WORKOUTS = 200
# A file is built in memory up to this size, then in a temporary file on disk.
SPOOL_BYTES = 8 * 1024 * 1024
PROGRESS_EVENTS_PER_SECOND = 5


@dataclass(frozen=True)
class FileFormat:
    extension: str
    content_type: str


FILE_FORMATS = {
    "csv": FileFormat("csv", "text/csv; charset=utf-8"),
    "json": FileFormat("json", "application/json"),
    "pdf": FileFormat("pdf", "application/pdf"),
}

Progress = Callable[[float], Awaitable[None]]


class _ProgressEvents:
    """Store progress with the job's heartbeat and publish `job:progress`, at most 5 a second."""

    def __init__(self, services: Services, run: JobRun, *, user_id: int):
        self._services = services
        self._run = run
        self._user_id = user_id
        self._last_sent = float("-inf")

    async def send(self, progress: float) -> None:
        self._run.set_progress(progress)
        now = time.monotonic()
        if now - self._last_sent < 1.0 / PROGRESS_EVENTS_PER_SECOND:
            return
        self._last_sent = now
        data = {"jobId": self._run.job.id, "state": jobs.RUNNING, "progress": round(progress, 3)}
        await self._services.bus.publish(self._user_id, JOB_PROGRESS, data)


async def run_export_job(services: Services, job_id: str) -> None:
    """Run one export job under its lease, leaving a finished or elsewhere-running job alone.

    Errors propagate to the retry middleware, which retries transient ones and fails the job
    with `job:failed` after the others.
    """
    await run_job(services, job_id, functools.partial(_run_export, services))


async def _run_export(services: Services, run: JobRun) -> None:
    job = run.job
    async with services.db.read() as session:
        user = await users.get_user(session, user_id=job.user_id)
    if user is None:
        log.warning("export job %s has no user, nothing to do", job.id)
        return
    fmt = job.params.get("format")
    if fmt not in FILE_FORMATS:
        await _fail(services, user.id, job.id, f"format: unsupported {fmt!r}")
        return

    started = time.monotonic()
    events = _ProgressEvents(services, run, user_id=user.id)
    await events.send(0.0)
    content = await build_export(services, user, fmt, events.send)
    result = await _store(services, user, job.id, fmt, content)
    if result is None:
        log.info("export job %s was finished by another run", job.id)
        return

    log.info(
        "export job %s wrote %d bytes of %s in %.2fs",
        job.id,
        result["size"],
        fmt,
        time.monotonic() - started,
        extra={"user_id": user.id, "job_id": job.id},
    )
    data = {"jobId": job.id, "state": jobs.SUCCEEDED, "progress": 1.0, "result": result}
    await services.bus.publish(user.id, JOB_COMPLETED, data)


async def build_export(services: Services, user: User, fmt: str, on_progress: Progress) -> bytes:
    """Return the file's content. Rows are read a page at a time and spooled to disk."""
    if fmt == "pdf":
        data = await load_report(services.db, user)
        await on_progress(0.3)
        return await asyncio.to_thread(build_pdf, data)
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as out:
        if fmt == "csv":
            await _write_csv(services, user, out, on_progress)
        else:
            await write_json(
                services.db, user, out, page_workouts=PAGE_WORKOUTS, on_progress=on_progress
            )
        out.seek(0)
        # NOTE: the finished file is read into memory once, because it is stored in a single
        # column; the rows behind it never are.
        return out.read()


async def _write_csv(services: Services, user: User, out: IO[bytes], on_progress: Progress) -> None:
    zone = user_zone(user)
    unit = user.unit if user.unit in ("kg", "lb") else "kg"
    async with services.db.read() as session:
        total = await export_data.count_workouts(session, user_id=user.id, finished_only=True)
    export_csv.write_header(out)
    written = 0
    after: export_data.WorkoutKey | None = None
    while True:
        async with services.db.read() as session:
            page = await export_data.list_workouts_after(
                session, user_id=user.id, after=after, limit=PAGE_WORKOUTS, finished_only=True
            )
        export_csv.write_workouts(out, page, unit=unit, zone=zone)
        written += len(page)
        if len(page) < PAGE_WORKOUTS:
            return
        after = export_data.key_of(page[-1])
        await on_progress(0.9 * written / max(total, 1))


async def _store(
    services: Services, user: User, job_id: str, fmt: str, content: bytes
) -> dict[str, Any] | None:
    """Store the file and finish the job in one transaction, unless another run finished it.

    On PostgreSQL the claim locks the job's row, so a second run waits here and then finds
    the job finished.
    """
    file_format = FILE_FORMATS[fmt]
    now = utcnow()
    filename = f"nappatzim-{now.astimezone(user_zone(user)):%Y-%m-%d}.{file_format.extension}"
    expires_at = now + timedelta(seconds=services.settings.export_expiry_seconds)
    async with services.write() as session:
        if not await jobs.claim_job(session, job_id=job_id):
            return None
        row = await exports.create_export_file(
            session,
            job_id=job_id,
            user_id=user.id,
            filename=filename,
            content_type=file_format.content_type,
            content=content,
            expires_at=expires_at,
        )
        result = export_result(row.id, job_id, filename, len(content), iso(expires_at))
        await jobs.finish_job(session, job_id=job_id, result=result)
    return result


def export_result(
    file_id: int, job_id: str, filename: str, size: int, expires_at: str
) -> dict[str, Any]:
    return {
        "fileId": str(file_id),
        "filename": filename,
        "size": size,
        "downloadUrl": f"/exports/{job_id}/download",
        "expiresAt": expires_at,
    }


async def _fail(services: Services, user_id: int, job_id: str, error: str) -> None:
    async with services.write() as session:
        marked = await jobs.fail_job(session, job_id=job_id, error=error)
    if marked:
        log.warning("export job %s failed: %s", job_id, error, extra={"user_id": user_id})
        data = {"jobId": job_id, "state": jobs.FAILED, "error": error}
        await services.bus.publish(user_id, JOB_FAILED, data)
