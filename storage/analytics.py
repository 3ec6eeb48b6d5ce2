"""Daily and weekly training aggregates per user, by local day in the user's time zone.

The progress job passes the per-exercise summary rows of the workouts it touched, as they were
before the change and as they are after it, and only the local days and ISO weeks of those
workouts are updated. A change of time zone can move any workout to another day, so it calls
for a rebuild from the summary rows instead.

A workout counts once on the local day of its start (`performed_at`). Sets and reps add up
over every exercise type; volume is weight volume in kilograms only. A day or week row exists
only while at least one workout counts in it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import case, delete, func, insert, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import DailyStats, ExerciseWorkoutStats, User, WeeklyStats

log = logging.getLogger(__name__)

WEIGHT = "weight"
# Keys per IN list, far below the bind parameter limits of SQLite and asyncpg.
IN_CHUNK = 500
VOLUME_DIGITS = 6

# (workout_id, performed_at, exercise type, sets, reps, volume) of one summary row.
SummaryRow = tuple[int, datetime, str, int, int, float]


@dataclass
class Totals:
    """Counts of a workout, a day or a week, or the change of one, whose fields may be negative."""

    workouts: int = 0
    sets: int = 0
    reps: int = 0
    volume: float = 0.0

    def add(self, other: Totals, sign: int = 1) -> None:
        self.workouts += sign * other.workouts
        self.sets += sign * other.sets
        self.reps += sign * other.reps
        self.volume += sign * other.volume

    def is_zero(self) -> bool:
        return (
            self.workouts == 0
            and self.sets == 0
            and self.reps == 0
            and round(self.volume, VOLUME_DIGITS) == 0
        )


def get_zone(name: str | None) -> ZoneInfo:
    """Return the IANA zone `name`, or UTC for a name the time zone database does not know."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown time zone %r, using UTC", name)
        return ZoneInfo("UTC")


async def get_user_zone(session: AsyncSession, *, user_id: int) -> ZoneInfo:
    name = await session.scalar(select(User.timezone).where(User.id == user_id))
    return get_zone(name)


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def local_today(zone: ZoneInfo, now: datetime | None = None) -> date:
    return local_day(now or datetime.now(UTC), zone)


def week_start(day: date) -> date:
    """Return the Monday of the ISO week of `day`."""
    return day - timedelta(days=day.weekday())


async def apply_analytics_changes(
    session: AsyncSession,
    *,
    user_id: int,
    old_rows: Sequence[ExerciseWorkoutStats],
    new_rows: Sequence[Mapping[str, Any]],
) -> None:
    """Add the difference between `new_rows` and `old_rows` to the day and week aggregates.

    Both lists hold the summary rows of the same touched workouts: before the change and after
    it. The caller holds the user's progress lock, so no other update of the user runs at once.
    """
    old = _workout_totals(
        (r.workout_id, r.performed_at, r.type, r.sets, r.reps, r.volume) for r in old_rows
    )
    new = _workout_totals(
        (r["workout_id"], r["performed_at"], r["type"], r["sets"], r["reps"], r["volume"])
        for r in new_rows
    )
    if old == new:
        return
    zone = await get_user_zone(session, user_id=user_id)
    days: dict[date, Totals] = defaultdict(Totals)
    for performed_at, totals in old.values():
        days[local_day(performed_at, zone)].add(totals, -1)
    for performed_at, totals in new.values():
        days[local_day(performed_at, zone)].add(totals)
    changed = {day: delta for day, delta in days.items() if not delta.is_zero()}
    if changed:
        await _apply_day_changes(session, user_id, changed)


async def rebuild_user_analytics(session: AsyncSession, *, user_id: int) -> tuple[int, int]:
    """Recompute every day and week row of a user from the summary rows, and count them.

    Takes the user's progress lock, so it waits for a running progress job and the next one
    waits for it.
    """
    await lock_user_progress(session, user_id)
    zone = await get_user_zone(session, user_id=user_id)
    stats = ExerciseWorkoutStats
    weight_volume = case((stats.type == WEIGHT, stats.volume), else_=0.0)
    query = (
        select(
            func.min(stats.performed_at).label("performed_at"),
            func.sum(stats.sets).label("sets"),
            func.sum(stats.reps).label("reps"),
            func.sum(weight_volume).label("volume"),
        )
        .where(stats.user_id == user_id)
        .group_by(stats.workout_id)
    )
    days: dict[date, Totals] = defaultdict(Totals)
    for row in await session.execute(query):
        workout = Totals(1, int(row.sets), int(row.reps), float(row.volume))
        days[local_day(row.performed_at, zone)].add(workout)
    weeks: dict[date, Totals] = defaultdict(Totals)
    active_days: dict[date, int] = defaultdict(int)
    for day, totals in days.items():
        weeks[week_start(day)].add(totals)
        active_days[week_start(day)] += 1

    await session.execute(delete(DailyStats).where(DailyStats.user_id == user_id))
    await session.execute(delete(WeeklyStats).where(WeeklyStats.user_id == user_id))
    day_rows = [_day_values(user_id, day, totals) for day, totals in sorted(days.items())]
    week_rows = [
        _week_values(user_id, start, totals, active_days[start])
        for start, totals in sorted(weeks.items())
    ]
    for start in range(0, len(day_rows), IN_CHUNK):
        await session.execute(insert(DailyStats), day_rows[start : start + IN_CHUNK])
    for start in range(0, len(week_rows), IN_CHUNK):
        await session.execute(insert(WeeklyStats), week_rows[start : start + IN_CHUNK])
    return len(day_rows), len(week_rows)


async def lock_user_progress(session: AsyncSession, user_id: int) -> None:
    """Take the lock the progress job holds while it updates a user.

    SQLite needs none, because its write lock already serializes every write transaction.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"progress:{user_id}"},
        )


def _workout_totals(rows: Iterable[SummaryRow]) -> dict[int, tuple[datetime, Totals]]:
    """Add up the summary rows of each workout, which starts at the time of its earliest row."""
    workouts: dict[int, tuple[datetime, Totals]] = {}
    for workout_id, performed_at, kind, sets, reps, volume in rows:
        entry = workouts.get(workout_id)
        if entry is None:
            entry = (performed_at, Totals(workouts=1))
        elif performed_at < entry[0]:
            entry = (performed_at, entry[1])
        workouts[workout_id] = entry
        entry[1].add(Totals(0, sets, reps, volume if kind == WEIGHT else 0.0))
    return workouts


async def _apply_day_changes(
    session: AsyncSession, user_id: int, changed: dict[date, Totals]
) -> None:
    existing: dict[date, DailyStats] = {}
    keys = sorted(changed)
    for start in range(0, len(keys), IN_CHUNK):
        rows = await session.scalars(
            select(DailyStats).where(
                DailyStats.user_id == user_id, DailyStats.day.in_(keys[start : start + IN_CHUNK])
            )
        )
        existing.update((row.day, row) for row in rows)

    weeks: dict[date, Totals] = defaultdict(Totals)
    active_change: dict[date, int] = defaultdict(int)
    for day in keys:
        delta = changed[day]
        row = existing.get(day)
        before = row.workouts if row is not None else 0
        after = before + delta.workouts
        weeks[week_start(day)].add(delta)
        active_change[week_start(day)] += int(after > 0) - int(before > 0)
        if row is None:
            if after <= 0:
                # NOTE: only a change of time zone whose rebuild has not run yet gets here;
                # that rebuild corrects the figures.
                log.warning(
                    "analytics of user %s have no row for day %s, change skipped", user_id, day
                )
                continue
            row = DailyStats(user_id=user_id, day=day, workouts=0, sets=0, reps=0, volume=0.0)
            session.add(row)
        if after <= 0:
            await session.delete(row)
            continue
        _add_to_row(row, delta)
    await _apply_week_changes(session, user_id, weeks, active_change)
    await session.flush()


async def _apply_week_changes(
    session: AsyncSession,
    user_id: int,
    weeks: dict[date, Totals],
    active_change: dict[date, int],
) -> None:
    keys = sorted(weeks)
    existing: dict[date, WeeklyStats] = {}
    week = tuple_(WeeklyStats.iso_year, WeeklyStats.iso_week)
    for start in range(0, len(keys), IN_CHUNK):
        week_keys = [tuple(day.isocalendar())[:2] for day in keys[start : start + IN_CHUNK]]
        rows = await session.scalars(
            select(WeeklyStats).where(WeeklyStats.user_id == user_id, week.in_(week_keys))
        )
        existing.update((row.week_start, row) for row in rows)

    for monday in keys:
        delta = weeks[monday]
        row = existing.get(monday)
        if row is None:
            if delta.workouts <= 0:
                log.warning(
                    "analytics of user %s have no row for week %s, change skipped", user_id, monday
                )
                continue
            row = WeeklyStats(**_week_values(user_id, monday, Totals(), 0))
            session.add(row)
        if row.workouts + delta.workouts <= 0:
            await session.delete(row)
            continue
        _add_to_row(row, delta)
        row.active_days = max(row.active_days + active_change[monday], 0)


def _add_to_row(row: DailyStats | WeeklyStats, delta: Totals) -> None:
    row.workouts += delta.workouts
    row.sets += delta.sets
    row.reps += delta.reps
    row.volume = round(row.volume + delta.volume, VOLUME_DIGITS)


def _day_values(user_id: int, day: date, totals: Totals) -> dict[str, Any]:
    return {
        "user_id": user_id,
        "day": day,
        "workouts": totals.workouts,
        "sets": totals.sets,
        "reps": totals.reps,
        "volume": round(totals.volume, VOLUME_DIGITS),
    }


def _week_values(user_id: int, monday: date, totals: Totals, active_days: int) -> dict[str, Any]:
    iso = monday.isocalendar()
    return {
        "user_id": user_id,
        "iso_year": iso.year,
        "iso_week": iso.week,
        "week_start": monday,
        "workouts": totals.workouts,
        "sets": totals.sets,
        "reps": totals.reps,
        "volume": round(totals.volume, VOLUME_DIGITS),
        "active_days": active_days,
    }
