"""Reads of everything a user owns, in pages, for the CSV and JSON exports."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    WORKOUT_FINISHED,
    Category,
    DailyStats,
    EmailDelivery,
    Exercise,
    ExerciseProgress,
    ExerciseWorkoutStats,
    Job,
    Notification,
    PersonalRecord,
    SessionGrant,
    User,
    WeeklyStats,
    Workout,
    WorkoutSet,
)
from storage.workout_rows import ExerciseDetail


@dataclass(frozen=True)
class WorkoutKey:
    """The keyset position after a workout: its start time, then its id."""

    created_at: datetime
    id: int


@dataclass
class ExportWorkout:
    """A workout with its category, and its exercises with their sets, in order."""

    workout: Workout
    category: Category
    exercises: list[ExerciseDetail] = field(default_factory=list)


@dataclass(frozen=True)
class Grant:
    workout_id: int
    owner_id: int
    watcher_id: int
    watcher_email: str
    created_at: datetime


async def count_workouts(session: AsyncSession, *, user_id: int, finished_only: bool) -> int:
    query = select(func.count()).select_from(Workout).where(Workout.user_id == user_id)
    if finished_only:
        query = query.where(Workout.status == WORKOUT_FINISHED)
    return int(await session.scalar(query) or 0)


async def list_workouts_after(
    session: AsyncSession,
    *,
    user_id: int,
    after: WorkoutKey | None,
    limit: int,
    finished_only: bool,
) -> list[ExportWorkout]:
    """Return the next `limit` workouts by start time with category, exercises and sets.

    Each call reads one page in three queries, so an export of a long history keeps only one
    page of rows in memory.
    """
    query = (
        select(Workout, Category)
        .join(Category, Category.id == Workout.category_id)
        .where(Workout.user_id == user_id)
    )
    if finished_only:
        query = query.where(Workout.status == WORKOUT_FINISHED)
    if after is not None:
        query = query.where(tuple_(Workout.created_at, Workout.id) > (after.created_at, after.id))
    query = query.order_by(Workout.created_at, Workout.id).limit(limit)
    details = [
        ExportWorkout(workout, category) for workout, category in await session.execute(query)
    ]
    await _load_exercises(session, details)
    return details


def key_of(detail: ExportWorkout) -> WorkoutKey:
    return WorkoutKey(detail.workout.created_at, detail.workout.id)


async def _load_exercises(session: AsyncSession, details: Sequence[ExportWorkout]) -> None:
    ids = [detail.workout.id for detail in details]
    by_workout: dict[int, list[ExerciseDetail]] = defaultdict(list)
    if ids:
        sets_by_exercise: dict[int, list[WorkoutSet]] = defaultdict(list)
        sets = await session.scalars(
            select(WorkoutSet)
            .join(Exercise, Exercise.id == WorkoutSet.exercise_id)
            .where(Exercise.workout_id.in_(ids))
            .order_by(WorkoutSet.exercise_id, WorkoutSet.order, WorkoutSet.id)
        )
        for item in sets:
            sets_by_exercise[item.exercise_id].append(item)
        exercises = await session.scalars(
            select(Exercise)
            .where(Exercise.workout_id.in_(ids))
            .order_by(Exercise.workout_id, Exercise.order, Exercise.id)
        )
        for exercise in exercises:
            by_workout[exercise.workout_id].append(
                ExerciseDetail(exercise, sets_by_exercise[exercise.id])
            )
    for detail in details:
        detail.exercises = by_workout[detail.workout.id]


async def list_categories(session: AsyncSession, *, user_id: int) -> list[Category]:
    result = await session.scalars(
        select(Category).where(Category.user_id == user_id).order_by(Category.id)
    )
    return list(result)


async def list_grants_given(session: AsyncSession, *, user_id: int) -> list[Grant]:
    """Return the grants on the user's workouts: who may watch which session."""
    result = await session.execute(
        select(
            SessionGrant.workout_id, SessionGrant.watcher_id, User.email, SessionGrant.created_at
        )
        .join(Workout, Workout.id == SessionGrant.workout_id)
        .join(User, User.id == SessionGrant.watcher_id)
        .where(Workout.user_id == user_id)
        .order_by(SessionGrant.id)
    )
    return [Grant(row[0], user_id, row[1], row[2], row[3]) for row in result.tuples()]


async def list_grants_received(session: AsyncSession, *, user_id: int) -> list[Grant]:
    """Return the grants that let the user watch other users' sessions."""
    result = await session.execute(
        select(SessionGrant.workout_id, Workout.user_id, SessionGrant.created_at)
        .join(Workout, Workout.id == SessionGrant.workout_id)
        .where(SessionGrant.watcher_id == user_id)
        .order_by(SessionGrant.id)
    )
    return [Grant(row[0], row[1], user_id, "", row[2]) for row in result.tuples()]


async def list_exercise_progress(session: AsyncSession, *, user_id: int) -> list[ExerciseProgress]:
    result = await session.scalars(
        select(ExerciseProgress)
        .where(ExerciseProgress.user_id == user_id)
        .order_by(ExerciseProgress.name_key)
    )
    return list(result)


async def list_exercise_stats_after(
    session: AsyncSession, *, user_id: int, after: tuple[int, str] | None, limit: int
) -> list[ExerciseWorkoutStats]:
    """Return the next page of per-workout exercise summaries, by workout id and name."""
    query = select(ExerciseWorkoutStats).where(ExerciseWorkoutStats.user_id == user_id)
    if after is not None:
        key = tuple_(ExerciseWorkoutStats.workout_id, ExerciseWorkoutStats.name_key)
        query = query.where(key > after)
    query = query.order_by(ExerciseWorkoutStats.workout_id, ExerciseWorkoutStats.name_key)
    return list(await session.scalars(query.limit(limit)))


async def list_records(session: AsyncSession, *, user_id: int) -> list[PersonalRecord]:
    result = await session.scalars(
        select(PersonalRecord)
        .where(PersonalRecord.user_id == user_id)
        .order_by(PersonalRecord.name_key, PersonalRecord.kind, PersonalRecord.id)
    )
    return list(result)


async def list_notifications_after(
    session: AsyncSession, *, user_id: int, after_id: int | None, limit: int
) -> list[Notification]:
    query = select(Notification).where(Notification.user_id == user_id)
    if after_id is not None:
        query = query.where(Notification.id > after_id)
    return list(await session.scalars(query.order_by(Notification.id).limit(limit)))


async def list_jobs(session: AsyncSession, *, user_id: int) -> list[Job]:
    result = await session.scalars(
        select(Job).where(Job.user_id == user_id).order_by(Job.created_at, Job.id)
    )
    return list(result)


async def list_emails(session: AsyncSession, *, user_id: int) -> list[EmailDelivery]:
    result = await session.scalars(
        select(EmailDelivery).where(EmailDelivery.user_id == user_id).order_by(EmailDelivery.id)
    )
    return list(result)


async def list_daily_stats(session: AsyncSession, *, user_id: int) -> list[DailyStats]:
    result = await session.scalars(
        select(DailyStats).where(DailyStats.user_id == user_id).order_by(DailyStats.day)
    )
    return list(result)


async def list_weekly_stats(session: AsyncSession, *, user_id: int) -> list[WeeklyStats]:
    result = await session.scalars(
        select(WeeklyStats)
        .where(WeeklyStats.user_id == user_id)
        .order_by(WeeklyStats.iso_year, WeeklyStats.iso_week)
    )
    return list(result)
