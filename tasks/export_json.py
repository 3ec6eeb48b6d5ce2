"""The JSON export: everything a user owns, written section by section in pages.

Secrets stay out: no password hash, no refresh tokens, and no content of uploaded or exported
files. Ids are strings and times UTC ISO 8601, as in the REST API. Live sessions are the
workouts whose status is "live".
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import IO, Any

import orjson

from server.schemas import category_reply, iso
from storage import export_data
from storage.db import Database
from storage.models import User
from storage.types import utcnow
from tasks import export_shapes as shapes

FORMAT_NAME = "nappatzim-export"
FORMAT_VERSION = 1
# Rows read per query for the sections that grow with the length of a user's history.
PAGE_ROWS = 500
# Share of the progress reported once the workouts are written.
WORKOUTS_SHARE = 0.8

Progress = Callable[[float], Awaitable[None]]
Pages = AsyncIterator[list[dict[str, Any]]]


async def write_json(
    db: Database,
    user: User,
    out: IO[bytes],
    *,
    page_workouts: int,
    on_progress: Progress,
    page_rows: int = PAGE_ROWS,
) -> None:
    """Write the user's data as one JSON object, holding one page of rows at a time."""
    async with db.read() as session:
        total = await export_data.count_workouts(session, user_id=user.id, finished_only=False)
        categories = await export_data.list_categories(session, user_id=user.id)
    out.write(b"{")
    _write_field(out, "format", FORMAT_NAME, first=True)
    _write_field(out, "version", FORMAT_VERSION)
    _write_field(out, "exportedAt", iso(utcnow()))
    _write_field(out, "account", shapes.account_json(user))
    _write_field(out, "preferences", shapes.preferences_json(user))
    _write_field(out, "categories", [category_reply(category) for category in categories])
    workouts = _workout_pages(db, user.id, page_workouts, total, on_progress)
    await _write_pages(out, "workouts", workouts)

    async with db.read() as session:
        grants_given = await export_data.list_grants_given(session, user_id=user.id)
        grants_received = await export_data.list_grants_received(session, user_id=user.id)
        progress = await export_data.list_exercise_progress(session, user_id=user.id)
        records = await export_data.list_records(session, user_id=user.id)
        daily = await export_data.list_daily_stats(session, user_id=user.id)
        weekly = await export_data.list_weekly_stats(session, user_id=user.id)
    grants = {
        "given": [shapes.grant_given_json(grant) for grant in grants_given],
        "received": [shapes.grant_received_json(grant) for grant in grants_received],
    }
    _write_field(out, "grants", grants)
    _write_field(out, "exerciseProgress", [shapes.progress_json(row) for row in progress])
    _write_field(out, "records", [shapes.record_json(row) for row in records])
    _write_field(out, "dailyStats", [shapes.daily_json(row) for row in daily])
    _write_field(out, "weeklyStats", [shapes.weekly_json(row) for row in weekly])
    await _write_pages(out, "exerciseHistory", _history_pages(db, user.id, page_rows))
    await _write_pages(out, "notifications", _notification_pages(db, user.id, page_rows))

    async with db.read() as session:
        emails = await export_data.list_emails(session, user_id=user.id)
        jobs = await export_data.list_jobs(session, user_id=user.id)
    _write_field(out, "emails", [shapes.email_json(row) for row in emails])
    _write_field(out, "jobs", [shapes.job_json(row) for row in jobs])
    out.write(b"}")


def _write_field(out: IO[bytes], key: str, value: Any, *, first: bool = False) -> None:
    out.write(b"" if first else b",")
    out.write(orjson.dumps(key))
    out.write(b":")
    out.write(orjson.dumps(value))


async def _write_pages(out: IO[bytes], key: str, pages: Pages) -> None:
    """Write an array field whose items arrive page by page."""
    out.write(b",")
    out.write(orjson.dumps(key))
    out.write(b":[")
    first = True
    async for page in pages:
        for item in page:
            out.write(b"" if first else b",")
            out.write(orjson.dumps(item))
            first = False
    out.write(b"]")


async def _workout_pages(
    db: Database, user_id: int, limit: int, total: int, on_progress: Progress
) -> Pages:
    after: export_data.WorkoutKey | None = None
    written = 0
    while True:
        async with db.read() as session:
            page = await export_data.list_workouts_after(
                session, user_id=user_id, after=after, limit=limit, finished_only=False
            )
        yield [shapes.workout_json(detail) for detail in page]
        written += len(page)
        await on_progress(WORKOUTS_SHARE * written / max(total, 1))
        if len(page) < limit:
            return
        after = export_data.key_of(page[-1])


async def _history_pages(db: Database, user_id: int, limit: int) -> Pages:
    after: tuple[int, str] | None = None
    while True:
        async with db.read() as session:
            rows = await export_data.list_exercise_stats_after(
                session, user_id=user_id, after=after, limit=limit
            )
        yield [shapes.history_json(row) for row in rows]
        if len(rows) < limit:
            return
        after = (rows[-1].workout_id, rows[-1].name_key)


async def _notification_pages(db: Database, user_id: int, limit: int) -> Pages:
    after_id: int | None = None
    while True:
        async with db.read() as session:
            rows = await export_data.list_notifications_after(
                session, user_id=user_id, after_id=after_id, limit=limit
            )
        yield [shapes.notification_json(row) for row in rows]
        if len(rows) < limit:
            return
        after_id = rows[-1].id
