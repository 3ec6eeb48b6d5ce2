"""Weekly summaries: who is due one now, and what they trained in the last ISO week."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import String, and_, case, cast, exists, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.measures import WEIGHT
from storage.models import (
    ExerciseWorkoutStats,
    Notification,
    PersonalRecord,
    User,
    Workout,
)
from storage.timezones import iso_week_bounds, zones_by_local_minute

# Summaries go out on Monday from this local time, within SUMMARY_HOURS hours, so a run that
# missed the first minute (no scheduler running) still sends them that morning.
SUMMARY_TIME = time(8, 0)
SUMMARY_HOURS = 1


@dataclass(frozen=True)
class SummaryWeek:
    """The previous ISO week of a group of zones that share its bounds."""

    zones: tuple[str, ...]
    iso_year: int
    iso_week: int
    monday: date
    start: datetime
    end: datetime

    @property
    def label(self) -> str:
        return f"{self.iso_year}-W{self.iso_week:02d}"


@dataclass(frozen=True)
class SummaryRecipient:
    user_id: int
    email: str
    notify_email: bool
    unit: str


@dataclass(frozen=True)
class WeekTotals:
    workouts: int = 0
    sets: int = 0
    # Weight volume in kilograms; time and distance exercises add none.
    volume: float = 0.0
    records: int = 0


def weekly_key(user_id: int, label: str) -> str:
    return f"weekly:{user_id}:{label}"


def due_summary_weeks(now: datetime) -> list[SummaryWeek]:
    """Return the weeks to summarize at `now`: those of zones where it is Monday morning.

    Zones with the same offset now can still differ in last week's bounds, when one of them
    changed to or from daylight-saving time during that week, so each zone is placed by its
    own bounds.
    """
    weeks: dict[tuple[date, datetime, datetime], list[str]] = defaultdict(list)
    for local, names in zones_by_local_minute(now).items():
        if local.isoweekday() != 1 or not (
            SUMMARY_TIME.hour <= local.hour < SUMMARY_TIME.hour + SUMMARY_HOURS
        ):
            continue
        for name in names:
            weeks[iso_week_bounds(name, local)].append(name)
    result = []
    for (monday, start, end), names in sorted(weeks.items()):
        year, week, _ = monday.isocalendar()
        result.append(SummaryWeek(tuple(names), year, week, monday, start, end))
    return result


async def list_summary_recipients(
    session: AsyncSession, week: SummaryWeek, *, after_id: int = 0, limit: int = 500
) -> list[SummaryRecipient]:
    """Return users in the week's zones who want a summary and have not had this week's.

    Users who registered after the week ended get none. The check for an earlier summary uses
    the unique index on notifications (user_id, dedup_key).
    """
    key = literal("weekly:") + cast(User.id, String) + literal(f":{week.label}")
    already_sent = exists().where(Notification.user_id == User.id, Notification.dedup_key == key)
    rows = await session.execute(
        select(User.id, User.email, User.notify_email, User.unit)
        .where(
            User.timezone.in_(week.zones),
            User.notify_weekly_summary.is_(True),
            User.created_at < week.end,
            User.id > after_id,
            ~already_sent,
        )
        .order_by(User.id)
        .limit(limit)
    )
    return [SummaryRecipient(row.id, row.email, row.notify_email, row.unit) for row in rows]


async def summarize_weeks(
    session: AsyncSession, *, user_ids: Sequence[int], start: datetime, end: datetime
) -> dict[int, WeekTotals]:
    """Return each user's finished workouts, sets and weight volume in [start, end).

    Records counts the personal records set in that span that still stand, since a beaten
    record's row is replaced.
    """
    in_week = and_(
        Workout.user_id.in_(user_ids),
        Workout.created_at >= start,
        Workout.created_at < end,
        Workout.status == "finished",
    )
    workout_rows = await session.execute(
        select(Workout.user_id, func.count()).where(in_week).group_by(Workout.user_id)
    )
    workouts = {user_id: int(count) for user_id, count in workout_rows}

    weight_volume = case(
        (ExerciseWorkoutStats.type == WEIGHT, ExerciseWorkoutStats.volume), else_=0.0
    )
    set_rows = await session.execute(
        select(
            Workout.user_id,
            func.sum(ExerciseWorkoutStats.sets).label("sets"),
            func.sum(weight_volume).label("volume"),
        )
        .join(ExerciseWorkoutStats, ExerciseWorkoutStats.workout_id == Workout.id)
        .where(in_week)
        .group_by(Workout.user_id)
    )
    sets_and_volume = {
        row.user_id: (int(row.sets or 0), float(row.volume or 0.0)) for row in set_rows
    }

    record_rows = await session.execute(
        select(PersonalRecord.user_id, func.count())
        .where(
            PersonalRecord.user_id.in_(user_ids),
            PersonalRecord.achieved_at >= start,
            PersonalRecord.achieved_at < end,
        )
        .group_by(PersonalRecord.user_id)
    )
    records = {user_id: int(count) for user_id, count in record_rows}

    totals = {}
    for user_id in user_ids:
        sets, volume = sets_and_volume.get(user_id, (0, 0.0))
        totals[user_id] = WeekTotals(
            workouts=workouts.get(user_id, 0),
            sets=sets,
            volume=round(volume, 3),
            records=records.get(user_id, 0),
        )
    return totals
