"""Finding the users to remind to train at this minute of their local time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import User, Workout
from storage.timezones import local_midnight, zones_by_local_minute


@dataclass(frozen=True)
class ReminderCandidate:
    user_id: int
    email: str
    notify_email: bool
    timezone: str
    reminder_time: str
    local_date: date


async def list_reminder_candidates(
    session: AsyncSession, *, now: datetime, after_id: int = 0, limit: int = 500
) -> tuple[list[ReminderCandidate], int | None]:
    """Return users to remind in the minute of `now`, and the id to continue after.

    A user is due when reminders are on, the local time in their zone is their reminder time
    within this minute, today is one of their reminder days, and they have no workout on this
    local date. The query matches (reminder time, zone) pairs, one pair per UTC offset in use
    at `now`, through the index on users (reminder_time, timezone). The next id is None when
    no users are left.
    """
    groups = zones_by_local_minute(now)
    local_minutes = {name: local for local, names in groups.items() for name in names}
    matches = [
        and_(User.reminder_time == local.strftime("%H:%M"), User.timezone.in_(names))
        for local, names in groups.items()
    ]
    rows = (
        await session.execute(
            select(
                User.id,
                User.email,
                User.notify_email,
                User.timezone,
                User.reminder_time,
                User.reminder_days,
            )
            .where(User.notify_reminders.is_(True), User.id > after_id, or_(*matches))
            .order_by(User.id)
            .limit(limit)
        )
    ).all()
    next_id = rows[-1].id if len(rows) == limit else None
    due = []
    for row in rows:
        local = local_minutes[row.timezone]
        if local.isoweekday() not in (row.reminder_days or []):
            continue
        due.append(
            ReminderCandidate(
                row.id, row.email, row.notify_email, row.timezone, row.reminder_time, local.date()
            )
        )
    trained = await _trained_on_local_date(session, due)
    return [item for item in due if item.user_id not in trained], next_id


async def _trained_on_local_date(
    session: AsyncSession, candidates: list[ReminderCandidate]
) -> set[int]:
    """Return the candidates with a workout, finished or live, on their current local date."""
    if not candidates:
        return set()
    bounds = {
        item.user_id: (
            local_midnight(item.timezone, item.local_date),
            local_midnight(item.timezone, item.local_date + timedelta(days=1)),
        )
        for item in candidates
    }
    earliest = min(start for start, _ in bounds.values())
    latest = max(end for _, end in bounds.values())
    rows = await session.execute(
        select(Workout.user_id, Workout.created_at).where(
            Workout.user_id.in_(bounds),
            Workout.created_at >= earliest,
            Workout.created_at < latest,
        )
    )
    trained = set()
    for user_id, created_at in rows:
        start, end = bounds[user_id]
        if start <= created_at < end:
            trained.add(user_id)
    return trained
