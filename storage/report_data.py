"""Aggregates for the PDF report, read from the progress tables in canonical units."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.measures import WEIGHT
from storage.models import (
    WORKOUT_FINISHED,
    Exercise,
    ExerciseProgress,
    ExerciseWorkoutStats,
    PersonalRecord,
    Workout,
    WorkoutSet,
)


@dataclass(frozen=True)
class HistorySummary:
    workouts: int
    sets: int
    first: datetime | None
    last: datetime | None


@dataclass(frozen=True)
class NamedRecord:
    record: PersonalRecord
    name: str
    type: str


async def get_history_summary(session: AsyncSession, *, user_id: int) -> HistorySummary:
    """Count the user's finished workouts and their sets, with the first and last start."""
    finished = and_(Workout.user_id == user_id, Workout.status == WORKOUT_FINISHED)
    row = (
        await session.execute(
            select(func.count(), func.min(Workout.created_at), func.max(Workout.created_at)).where(
                finished
            )
        )
    ).one()
    sets = await session.scalar(
        select(func.count())
        .select_from(WorkoutSet)
        .join(Exercise, Exercise.id == WorkoutSet.exercise_id)
        .join(Workout, Workout.id == Exercise.workout_id)
        .where(finished)
    )
    return HistorySummary(int(row[0]), int(sets or 0), row[1], row[2])


async def list_workout_volumes(
    session: AsyncSession, *, user_id: int
) -> list[tuple[datetime, float]]:
    """Return each workout's start and its weight volume in kilograms, oldest first.

    Time and distance exercises are left out, because seconds and metres do not add to
    kilograms.
    """
    result = await session.execute(
        select(ExerciseWorkoutStats.performed_at, func.sum(ExerciseWorkoutStats.volume))
        .where(ExerciseWorkoutStats.user_id == user_id, ExerciseWorkoutStats.type == WEIGHT)
        .group_by(ExerciseWorkoutStats.workout_id, ExerciseWorkoutStats.performed_at)
        .order_by(ExerciseWorkoutStats.performed_at, ExerciseWorkoutStats.workout_id)
    )
    return [(performed_at, float(volume)) for performed_at, volume in result.tuples()]


async def list_top_exercises(
    session: AsyncSession, *, user_id: int, limit: int
) -> list[ExerciseProgress]:
    """Return the user's weight exercises with the most volume, the largest first."""
    result = await session.scalars(
        select(ExerciseProgress)
        .where(
            ExerciseProgress.user_id == user_id,
            ExerciseProgress.type == WEIGHT,
            ExerciseProgress.volume > 0,
        )
        .order_by(ExerciseProgress.volume.desc(), ExerciseProgress.name_key)
        .limit(limit)
    )
    return list(result)


async def list_best_e1rm(
    session: AsyncSession, *, user_id: int, name_keys: Sequence[str]
) -> list[ExerciseWorkoutStats]:
    """Return the per-workout summaries with a one-rep max estimate of the exercises, by date."""
    if not name_keys:
        return []
    result = await session.scalars(
        select(ExerciseWorkoutStats)
        .where(
            ExerciseWorkoutStats.user_id == user_id,
            ExerciseWorkoutStats.name_key.in_(name_keys),
            ExerciseWorkoutStats.best_e1rm.is_not(None),
        )
        .order_by(ExerciseWorkoutStats.performed_at, ExerciseWorkoutStats.workout_id)
    )
    return list(result)


async def list_named_records(session: AsyncSession, *, user_id: int) -> list[NamedRecord]:
    """Return the user's records with the exercise's display name and type."""
    result = await session.execute(
        select(PersonalRecord, ExerciseProgress.name, ExerciseProgress.type)
        .join(
            ExerciseProgress,
            and_(
                ExerciseProgress.user_id == PersonalRecord.user_id,
                ExerciseProgress.name_key == PersonalRecord.name_key,
            ),
        )
        .where(PersonalRecord.user_id == user_id)
        .order_by(PersonalRecord.name_key, PersonalRecord.kind, PersonalRecord.load.desc())
    )
    return [NamedRecord(record, name, kind) for record, name, kind in result.tuples()]
