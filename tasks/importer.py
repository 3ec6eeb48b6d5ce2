"""Imports of export files: the job body run by workers, and the `nappatzim import` command."""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from taskiq import InMemoryBroker

from events.bus import EventBus
from events.names import JOB_COMPLETED, JOB_FAILED, JOB_PROGRESS
from server.config import Settings
from storage import jobs, users
from storage.imports import ImportCounts, create_imported_workouts
from tasks.formats import FORMATS, parse_file
from tasks.leases import JobRun, run_job
from tasks.parsed import FileFormatError, ParsedFile

if TYPE_CHECKING:
    from server.services import Services

log = logging.getLogger(__name__)

# Share of the progress taken by parsing. Writing takes the rest.
PARSE_SHARE = 0.1
# At most this many progress events per second and job.
PROGRESS_EVENTS_PER_SECOND = 5
# Unreadable rows listed in a stored job result, in a job event, and by the command.
MAX_STORED_ERRORS = 1000
MAX_EVENT_ERRORS = 20
MAX_PRINTED_ERRORS = 20


class _ProgressEvents:
    """Publish `job:progress` events, dropping those that come too soon after the last."""

    def __init__(self, bus: EventBus, run: JobRun, *, user_id: int):
        self._bus = bus
        self._run = run
        self._user_id = user_id
        self._job_id = run.job.id
        self._interval = 1.0 / PROGRESS_EVENTS_PER_SECOND
        self._last_sent = float("-inf")

    async def send(self, progress: float) -> None:
        self._run.set_progress(progress)
        now = time.monotonic()
        if now - self._last_sent < self._interval:
            return
        self._last_sent = now
        data = {"jobId": self._job_id, "state": jobs.RUNNING, "progress": round(progress, 3)}
        await self._bus.publish(self._user_id, JOB_PROGRESS, data)


async def run_import_job(services: Services, job_id: str) -> None:
    """Run one import job under its lease, leaving a finished or elsewhere-running job alone.

    A file that cannot be read fails the job and publishes `job:failed`. Other errors
    propagate to the retry middleware, which retries transient ones and dead-letters the rest.
    """
    await run_job(services, job_id, functools.partial(_run_import, services))


async def _run_import(services: Services, run: JobRun) -> None:
    job = run.job
    job_id = job.id
    async with services.db.read(primary=True) as session:
        upload = await jobs.get_upload(session, job_id=job_id)
        user = await users.get_user(session, user_id=job.user_id)
    if user is None:
        log.warning("import job %s has no user, nothing to do", job_id)
        return
    if upload is None:
        await _fail(services, job.user_id, job_id, "the uploaded file is missing")
        return

    started = time.monotonic()
    events = _ProgressEvents(services.bus, run, user_id=job.user_id)
    await events.send(0.0)
    try:
        parsed = await _parse(
            upload.content,
            fmt=job.params["format"],
            unit=job.params.get("unit"),
            timezone=user.timezone,
        )
        await events.send(PARSE_SHARE)
        result = await _write(services, job.user_id, job_id, job.params["format"], parsed, events)
    except _InvalidInput as error:
        await _fail(services, job.user_id, job_id, str(error))
        return
    if result is None:
        log.info("import job %s was finished by another run", job_id)
        return

    log.info(
        "import job %s created %d workouts in %.2fs",
        job_id,
        result["workouts"],
        time.monotonic() - started,
        extra={"user_id": job.user_id, "job_id": job_id},
    )
    event_result = {**result, "errors": result["errors"][:MAX_EVENT_ERRORS]}
    data = {"jobId": job_id, "state": jobs.SUCCEEDED, "progress": 1.0, "result": event_result}
    await services.bus.publish(job.user_id, JOB_COMPLETED, data)


class _InvalidInput(Exception):
    """Raised when the file, its unit or the user's time zone cannot be used."""


async def _parse(content: bytes, *, fmt: str, unit: str | None, timezone: str | None) -> ParsedFile:
    try:
        return await asyncio.to_thread(
            parse_file, fmt, content, unit=unit, timezone=timezone or "UTC"
        )
    except FileFormatError as error:
        raise _InvalidInput(f"invalid file: {error}") from None
    except ValueError as error:
        raise _InvalidInput(str(error)) from None


async def _write(
    services: Services,
    user_id: int,
    job_id: str,
    fmt: str,
    parsed: ParsedFile,
    events: _ProgressEvents,
) -> dict[str, Any] | None:
    """Write the workouts and finish the job in one transaction.

    Returns the job result, or None when another run of the job has finished it.
    """

    async def on_progress(fraction: float) -> None:
        await events.send(PARSE_SHARE + (1 - PARSE_SHARE) * fraction)

    # Two imports of one user that run at once take turns inside create_imported_workouts,
    # so the later one finds the earlier one's workouts and skips them.
    async with services.write() as session:
        if not await jobs.claim_job(session, job_id=job_id):
            return None
        counts = await create_imported_workouts(
            session,
            user_id=user_id,
            fmt=fmt,
            workouts=parsed.workouts,
            on_progress=on_progress,
        )
        result = import_result(parsed, counts)
        await jobs.finish_job(session, job_id=job_id, result=result)
    return result


async def _fail(services: Services, user_id: int, job_id: str, error: str) -> None:
    async with services.write() as session:
        marked = await jobs.fail_job(session, job_id=job_id, error=error)
    if marked:
        log.warning("import job %s failed: %s", job_id, error, extra={"user_id": user_id})
        data = {"jobId": job_id, "state": jobs.FAILED, "error": error}
        await services.bus.publish(user_id, JOB_FAILED, data)


def import_result(parsed: ParsedFile, counts: ImportCounts) -> dict[str, Any]:
    """Return the JSON result of an import, as stored on its job."""
    return {
        "workouts": counts.workouts,
        "skippedWorkouts": counts.skipped,
        "exercises": counts.exercises,
        "sets": counts.sets,
        "rows": parsed.counts.rows,
        "restRows": parsed.counts.rest_rows,
        "errorRows": parsed.counts.error_rows,
        "errors": [
            {"line": error.line, "message": error.message}
            for error in parsed.errors[:MAX_STORED_ERRORS]
        ],
    }


async def import_file_command(
    settings: Settings, *, path: str, email: str, fmt: str, unit: str | None
) -> int:
    """Import a file into a user's account and return the exit status.

    The status is 1 when the user does not exist and 2 when the file cannot be read at all.
    """
    from server.services import Services
    from storage.migrate import upgrade

    if fmt not in FORMATS:
        sys.stderr.write(f"invalid format {fmt!r}: expected one of {', '.join(FORMATS)}\n")
        return 2
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        sys.stderr.write(f"cannot read {path}: {error.strerror or error}\n")
        return 2
    if settings.embedded:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        # Alembic runs its own event loop, so it needs a thread of its own.
        await asyncio.to_thread(upgrade, settings.sqlalchemy_url, schema=settings.database_schema)

    services = Services(settings)
    await services.start()
    try:
        return await _import_file(services, data, path=path, email=email, fmt=fmt, unit=unit)
    finally:
        await services.stop()


async def _import_file(
    services: Services, data: bytes, *, path: str, email: str, fmt: str, unit: str | None
) -> int:
    async with services.db.read(primary=True) as session:
        user = await users.get_user_by_email(session, email=email.strip().lower())
    if user is None:
        sys.stderr.write(f"user not found: {email}. Register the account first.\n")
        return 1
    try:
        parsed = await _parse(data, fmt=fmt, unit=unit, timezone=user.timezone)
    except _InvalidInput as error:
        sys.stderr.write(f"{path}: {error}\n")
        return 2

    async with services.write() as session:
        counts = await create_imported_workouts(
            session, user_id=user.id, fmt=fmt, workouts=parsed.workouts
        )
    await _wait_for_local_tasks(services)

    sys.stdout.write(
        f"imported {_count(counts.workouts, 'workout')} ({_count(counts.exercises, 'exercise')}, "
        f"{_count(counts.sets, 'set')}) from {path}; "
        f"{_count(counts.skipped, 'workout')} imported before; "
        f"{_count(parsed.counts.rest_rows, 'rest timer row')}; "
        f"{_count(parsed.counts.error_rows, 'row')} skipped\n"
    )
    for row_error in parsed.errors[:MAX_PRINTED_ERRORS]:
        sys.stdout.write(f"  line {row_error.line}: {row_error.message}\n")
    if len(parsed.errors) > MAX_PRINTED_ERRORS:
        sys.stdout.write(f"  ... and {len(parsed.errors) - MAX_PRINTED_ERRORS} more\n")
    return 0


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


async def _wait_for_local_tasks(services: Services) -> None:
    """Let in-process tasks (the progress recompute) finish before the command exits.

    A task cut short stays in the outbox, and the next server run sends it again.
    """
    if not isinstance(services.broker, InMemoryBroker):
        return
    try:
        await asyncio.wait_for(services.broker.wait_all(), timeout=60)
    except TimeoutError:
        log.warning("progress recompute still running at exit, the server finishes it later")
