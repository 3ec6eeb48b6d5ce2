"""Queries on workouts with their exercises and sets, and the per-workout exercise history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import case, delete, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.errors import Conflict, NotFound
from storage import outbox
from storage.categories import KEEP, RECOMPUTE_PROGRESS, Keep, get_category
from storage.models import WORKOUT_FINISHED, Category, Exercise, Workout, WorkoutSet
from storage.names import normalize_exercise_name
from storage.types import utcnow
from storage.workout_rows import ExerciseDetail, WorkoutDetail, load_exercises


@dataclass(frozen=True)
class NewSet:
    order: int
    value: float | None
    reps: int
    rest_minutes: float | None


@dataclass(frozen=True)
class NewExercise:
    type: str
    name: str
    unit: str
    notes: str | None
    order: int
    sets: Sequence[NewSet]


@dataclass(frozen=True)
class HistoryEntry:
    """One exercise's totals in one workout, in the exercise's own unit."""

    date: datetime
    volume: float
    sets: int
    reps: int
    max_weight: float | None
    unit: str


@dataclass
class ExerciseHistory:
    name: str
    type: str
    entries: list[HistoryEntry] = field(default_factory=list)


async def get_workout(session: AsyncSession, *, user_id: int, workout_id: int) -> WorkoutDetail:
    """Return the user's workout in full or raise NotFound, also for another user's id."""
    row = (
        await session.execute(
            select(Workout, Category)
            .join(Category, Category.id == Workout.category_id)
            .where(Workout.id == workout_id, Workout.user_id == user_id)
        )
    ).first()
    if row is None:
        raise NotFound("workout not found")
    detail = WorkoutDetail(row[0], row[1])
    await load_exercises(session, [detail])
    return detail


async def has_workouts(session: AsyncSession, *, user_id: int, category_id: int) -> bool:
    """Tell whether the user has a finished workout in the category."""
    query = select(
        exists().where(
            Workout.user_id == user_id,
            Workout.category_id == category_id,
            Workout.status == WORKOUT_FINISHED,
        )
    )
    return bool(await session.scalar(query))


async def create_workout(
    session: AsyncSession,
    *,
    user_id: int,
    category_id: int,
    notes: str | None,
    exercises: Sequence[NewExercise],
) -> WorkoutDetail:
    """Insert a workout with its exercises and sets, and queue its progress recomputation."""
    category = await get_category(session, user_id=user_id, category_id=category_id, lock=True)
    now = utcnow()
    workout = Workout(
        user_id=user_id, category_id=category_id, notes=notes, created_at=now, updated_at=now
    )
    session.add(workout)
    await session.flush()

    children = await _insert_exercises(session, workout, exercises)
    outbox.add_task(session, RECOMPUTE_PROGRESS, user_id=user_id, workout_ids=[workout.id])
    return WorkoutDetail(workout, category, children)


async def update_workout(
    session: AsyncSession,
    *,
    user_id: int,
    workout_id: int,
    category_id: int | None = None,
    notes: str | None | Keep = KEEP,
    exercises: Sequence[NewExercise] | None = None,
) -> WorkoutDetail:
    """Change the given fields of the user's workout and queue its progress recomputation.

    Given `exercises` replace all exercises and sets of the workout. A live session raises
    Conflict, because it changes through /sessions until it is finished.
    """
    query = (
        select(Workout)
        .where(Workout.id == workout_id, Workout.user_id == user_id)
        .with_for_update()
    )
    workout = await session.scalar(query)
    if workout is None:
        raise NotFound("workout not found")
    if workout.status != WORKOUT_FINISHED:
        raise _live_session_conflict(workout.id)

    if category_id is not None:
        await get_category(session, user_id=user_id, category_id=category_id, lock=True)
        workout.category_id = category_id
    if not isinstance(notes, Keep):
        workout.notes = notes
    workout.updated_at = utcnow()
    await session.flush()

    detail = WorkoutDetail(
        workout, await get_category(session, user_id=user_id, category_id=workout.category_id)
    )
    if exercises is None:
        await load_exercises(session, [detail])
    else:
        # Sets go with their exercises through ON DELETE CASCADE.
        await session.execute(delete(Exercise).where(Exercise.workout_id == workout.id))
        detail.exercises = await _insert_exercises(session, workout, exercises)
    outbox.add_task(session, RECOMPUTE_PROGRESS, user_id=user_id, workout_ids=[workout.id])
    return detail


async def delete_workout(session: AsyncSession, *, user_id: int, workout_id: int) -> int:
    """Delete the user's workout, queue its progress recomputation, return its category id.

    A live session raises Conflict until it is finished.
    """
    category_id = await session.scalar(
        delete(Workout)
        .where(
            Workout.id == workout_id, Workout.user_id == user_id, Workout.status == WORKOUT_FINISHED
        )
        .returning(Workout.category_id)
    )
    if category_id is None:
        is_live = await session.scalar(
            select(exists().where(Workout.id == workout_id, Workout.user_id == user_id))
        )
        if is_live:
            raise _live_session_conflict(workout_id)
        raise NotFound("workout not found")
    outbox.add_task(session, RECOMPUTE_PROGRESS, user_id=user_id, workout_ids=[workout_id])
    return int(category_id)


async def list_exercise_history(
    session: AsyncSession, *, user_id: int, workout_ids: Sequence[int]
) -> list[ExerciseHistory]:
    """Return, per exercise, its totals in each of the given workouts, oldest workout first.

    Exercises are matched by normalized name and type. Weight volume is the sum of reps times
    load, and time and distance volume is the sum of values. A set without a value counts for
    sets and reps only. An exercise entered in two units in one workout gets an entry per unit.
    """
    if not workout_ids:
        return []
    volume = case(
        (Exercise.type == "weight", WorkoutSet.reps * WorkoutSet.value),
        else_=WorkoutSet.value,
    )
    query = (
        select(
            Workout.created_at,
            Exercise.workout_id,
            Exercise.name_key,
            Exercise.type,
            Exercise.unit,
            func.min(Exercise.name).label("name"),
            func.coalesce(func.sum(volume), 0.0).label("volume"),
            func.count(WorkoutSet.id).label("sets"),
            func.coalesce(func.sum(WorkoutSet.reps), 0).label("reps"),
            func.max(WorkoutSet.value).label("max_weight"),
        )
        .join(Workout, Workout.id == Exercise.workout_id)
        .outerjoin(WorkoutSet, WorkoutSet.exercise_id == Exercise.id)
        .where(Exercise.workout_id.in_(workout_ids), Exercise.user_id == user_id)
        .group_by(
            Workout.created_at,
            Exercise.workout_id,
            Exercise.name_key,
            Exercise.type,
            Exercise.unit,
        )
        .order_by(Workout.created_at, Exercise.workout_id, Exercise.name_key, Exercise.unit)
    )
    histories: dict[tuple[str, str], ExerciseHistory] = {}
    for row in await session.execute(query):
        history = histories.setdefault(
            (row.name_key, row.type), ExerciseHistory(name=row.name, type=row.type)
        )
        history.name = row.name  # rows come oldest first, so the latest spelling wins
        history.entries.append(
            HistoryEntry(
                date=row.created_at,
                volume=float(row.volume),
                sets=int(row.sets),
                reps=int(row.reps),
                max_weight=None if row.max_weight is None else float(row.max_weight),
                unit=row.unit,
            )
        )
    return list(histories.values())


def _live_session_conflict(workout_id: int) -> Conflict:
    return Conflict(
        f"workout is a live session: change it through /sessions/{workout_id}, "
        f"or finish it with POST /sessions/{workout_id}/finish first"
    )


async def _insert_exercises(
    session: AsyncSession, workout: Workout, exercises: Sequence[NewExercise]
) -> list[ExerciseDetail]:
    rows = [
        Exercise(
            workout_id=workout.id,
            user_id=workout.user_id,
            type=exercise.type,
            name=exercise.name,
            name_key=normalize_exercise_name(exercise.name),
            unit=exercise.unit,
            notes=exercise.notes,
            order=exercise.order,
        )
        for exercise in exercises
    ]
    session.add_all(rows)
    await session.flush()

    children = []
    for row, exercise in zip(rows, exercises, strict=True):
        sets = [
            WorkoutSet(
                exercise_id=row.id,
                order=item.order,
                value=item.value,
                reps=item.reps,
                rest_minutes=item.rest_minutes,
            )
            for item in exercise.sets
        ]
        session.add_all(sets)
        children.append(ExerciseDetail(row, sets))
    await session.flush()

    for child in children:
        child.sets.sort(key=lambda item: (item.order, item.id))
    children.sort(key=lambda child: (child.exercise.order, child.exercise.id))
    return children
