"""Helpers for the analytics tests: workouts at exact instants, the progress job, and reads."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, select, update

from storage.db import Database
from storage.models import (
    Category,
    DailyStats,
    Exercise,
    User,
    WeeklyStats,
    Workout,
    WorkoutSet,
)
from storage.names import normalize_exercise_name
from storage.progress import apply_workout_changes

# One exercise: (name, type, [(value, reps), ...]); the unit is kg, seconds or metres.
ExerciseSpec = tuple[str, str, list[tuple[float | None, int]]]
UNITS = {"weight": "kg", "time": "seconds", "distance": "m"}

BENCH: ExerciseSpec = ("Bench Press", "weight", [(100.0, 5), (80.0, 8)])


async def make_user(db: Database, timezone: str = "Europe/Paris") -> tuple[int, int]:
    async with db.transaction() as session:
        user = User(
            email=f"a-{uuid.uuid4().hex[:10]}@example.com", password_hash="x", timezone=timezone
        )
        session.add(user)
        await session.flush()
        category = Category(user_id=user.id, name="Gym")
        session.add(category)
        await session.flush()
        return user.id, category.id


async def set_timezone(db: Database, user_id: int, timezone: str) -> None:
    async with db.transaction() as session:
        await session.execute(update(User).where(User.id == user_id).values(timezone=timezone))


async def add_workout(
    db: Database,
    user_id: int,
    category_id: int,
    when: datetime,
    exercises: list[ExerciseSpec] | None = None,
) -> int:
    async with db.transaction() as session:
        workout = Workout(
            user_id=user_id, category_id=category_id, created_at=when, updated_at=when
        )
        session.add(workout)
        await session.flush()
        await _add_exercises(
            session, user_id, workout.id, [BENCH] if exercises is None else exercises
        )
        return workout.id


async def replace_exercises(
    db: Database, user_id: int, workout_id: int, exercises: list[ExerciseSpec]
) -> None:
    async with db.transaction() as session:
        await session.execute(delete(Exercise).where(Exercise.workout_id == workout_id))
        await _add_exercises(session, user_id, workout_id, exercises)


async def move_workout(db: Database, workout_id: int, when: datetime) -> None:
    async with db.transaction() as session:
        await session.execute(
            update(Workout).where(Workout.id == workout_id).values(created_at=when)
        )


async def delete_workout(db: Database, workout_id: int) -> None:
    async with db.transaction() as session:
        await session.execute(delete(Workout).where(Workout.id == workout_id))


async def run_job(db: Database, user_id: int, workout_ids: list[int]) -> None:
    """Run the progress job's body for the workouts a change touched."""
    async with db.transaction() as session:
        await apply_workout_changes(session, user_id=user_id, workout_ids=workout_ids)


async def daily(db: Database, user_id: int) -> dict[date, tuple[int, int, int, float]]:
    """Return each stored day as (workouts, sets, reps, volume)."""
    async with db.read() as session:
        rows = await session.scalars(select(DailyStats).where(DailyStats.user_id == user_id))
        return {row.day: (row.workouts, row.sets, row.reps, row.volume) for row in rows}


async def weekly(db: Database, user_id: int) -> dict[date, dict[str, Any]]:
    """Return each stored week by its Monday, with its ISO number and figures."""
    async with db.read() as session:
        rows = await session.scalars(select(WeeklyStats).where(WeeklyStats.user_id == user_id))
        return {
            row.week_start: {
                "iso": (row.iso_year, row.iso_week),
                "workouts": row.workouts,
                "sets": row.sets,
                "reps": row.reps,
                "volume": row.volume,
                "active_days": row.active_days,
            }
            for row in rows
        }


async def _add_exercises(
    session: Any, user_id: int, workout_id: int, exercises: list[ExerciseSpec]
) -> None:
    for order, (name, kind, sets) in enumerate(exercises, start=1):
        exercise = Exercise(
            workout_id=workout_id,
            user_id=user_id,
            type=kind,
            name=name,
            name_key=normalize_exercise_name(name),
            unit=UNITS[kind],
            order=order,
        )
        session.add(exercise)
        await session.flush()
        for set_order, (value, reps) in enumerate(sets, start=1):
            session.add(
                WorkoutSet(exercise_id=exercise.id, order=set_order, value=value, reps=reps)
            )
