"""Live sessions: workouts being performed right now, with their rest timers.

A session is a workout whose status is "live" until it is finished; then it is an ordinary
workout with a `finished_at`. Workouts created whole through POST /workouts have no
`finished_at` and are not sessions. Only the owner changes a session; users holding a grant
(storage.grants) may read it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.errors import Conflict, Forbidden, NotFound
from storage.categories import get_category
from storage.models import (
    WORKOUT_FINISHED,
    WORKOUT_LIVE,
    Category,
    Exercise,
    SessionGrant,
    Workout,
    WorkoutSet,
)
from storage.types import utcnow
from storage.workout_rows import ExerciseDetail


@dataclass
class SessionState:
    """A session with its category, and its exercises with sets in the order performed."""

    workout: Workout
    category: Category
    exercises: list[ExerciseDetail]


def is_session() -> ColumnElement[bool]:
    return or_(Workout.status == WORKOUT_LIVE, Workout.finished_at.is_not(None))


async def create_session(
    session: AsyncSession, *, user_id: int, category_id: int, notes: str | None
) -> SessionState:
    """Start a live session in the user's category, with no exercises yet."""
    category = await get_category(session, user_id=user_id, category_id=category_id, lock=True)
    now = utcnow()
    workout = Workout(
        user_id=user_id,
        category_id=category_id,
        notes=notes,
        status=WORKOUT_LIVE,
        created_at=now,
        updated_at=now,
    )
    session.add(workout)
    await session.flush()
    return SessionState(workout, category, [])


async def list_sessions(session: AsyncSession, *, user_id: int) -> list[tuple[Workout, Category]]:
    """Return the live sessions the user owns or may watch, newest first."""
    shared = select(SessionGrant.workout_id).where(SessionGrant.watcher_id == user_id)
    result = await session.execute(
        select(Workout, Category)
        .join(Category, Category.id == Workout.category_id)
        .where(
            Workout.status == WORKOUT_LIVE,
            or_(Workout.user_id == user_id, Workout.id.in_(shared)),
        )
        .order_by(Workout.created_at.desc(), Workout.id.desc())
    )
    return list(result.tuples())


async def get_session_state(
    session: AsyncSession, *, user_id: int, session_id: int
) -> SessionState:
    """Return the session if the user owns it or has a grant on it, else raise NotFound."""
    granted = exists().where(
        SessionGrant.workout_id == Workout.id, SessionGrant.watcher_id == user_id
    )
    workout = await session.scalar(
        select(Workout).where(
            Workout.id == session_id,
            is_session(),
            or_(Workout.user_id == user_id, granted),
        )
    )
    if workout is None:
        raise NotFound("session not found")
    return await load_session_state(session, workout)


async def load_session_state(session: AsyncSession, workout: Workout) -> SessionState:
    """Read a session's category, exercises and sets, with sets by performedAt, then id."""
    category = await session.get_one(Category, workout.category_id)
    sets_by_exercise: dict[int, list[WorkoutSet]] = defaultdict(list)
    sets = await session.scalars(
        select(WorkoutSet)
        .join(Exercise, Exercise.id == WorkoutSet.exercise_id)
        .where(Exercise.workout_id == workout.id)
        .order_by(WorkoutSet.exercise_id, WorkoutSet.performed_at, WorkoutSet.id)
    )
    for item in sets:
        sets_by_exercise[item.exercise_id].append(item)
    exercises = await session.scalars(
        select(Exercise)
        .where(Exercise.workout_id == workout.id)
        .order_by(Exercise.order, Exercise.id)
    )
    details = [ExerciseDetail(row, sets_by_exercise[row.id]) for row in exercises]
    return SessionState(workout, category, details)


async def get_owned_session(
    session: AsyncSession, *, user_id: int, session_id: int, live: bool = False
) -> Workout:
    """Return the user's own session, raising Forbidden to a watcher and NotFound to others.

    With `live`, the row stays locked until commit, which serializes the writes to one
    session, and a finished session raises Conflict.
    """
    query = select(Workout).where(
        Workout.id == session_id, Workout.user_id == user_id, is_session()
    )
    if live:
        query = query.with_for_update()
    workout = await session.scalar(query)
    if workout is None:
        watching = await session.scalar(
            select(
                exists().where(
                    SessionGrant.workout_id == session_id, SessionGrant.watcher_id == user_id
                )
            )
        )
        if watching:
            raise Forbidden(
                "only the session's owner can change it or manage its watchers: a watcher "
                "can read the session and receive its events"
            )
        raise NotFound("session not found")
    if live and workout.status != WORKOUT_LIVE:
        raise Conflict(
            f"session is finished and can no longer be changed: edit it with "
            f"PUT /workouts/{workout.id}"
        )
    return workout


async def start_timer(
    session: AsyncSession, *, user_id: int, session_id: int, seconds: int
) -> Workout:
    """Start, or restart, the rest timer to end `seconds` from now by the server's clock."""
    workout = await get_owned_session(session, user_id=user_id, session_id=session_id, live=True)
    now = utcnow()
    workout.timer_ends_at = now + timedelta(seconds=seconds)
    workout.updated_at = now
    await session.flush()
    return workout


async def stop_timer(session: AsyncSession, *, user_id: int, session_id: int) -> Workout:
    workout = await get_owned_session(session, user_id=user_id, session_id=session_id, live=True)
    workout.timer_ends_at = None
    workout.updated_at = utcnow()
    await session.flush()
    return workout


async def finish_session(session: AsyncSession, *, user_id: int, session_id: int) -> SessionState:
    """Finish the live session: it stops accepting changes and joins the workout lists."""
    workout = await get_owned_session(session, user_id=user_id, session_id=session_id, live=True)
    now = utcnow()
    workout.status = WORKOUT_FINISHED
    workout.finished_at = now
    workout.timer_ends_at = None
    workout.updated_at = now
    await session.flush()
    return await load_session_state(session, workout)


def running_timer(workout: Workout, *, now: datetime | None = None) -> datetime | None:
    """Return when the session's rest timer ends, or None if none runs."""
    ends_at = workout.timer_ends_at
    if ends_at is None or ends_at <= (now or utcnow()):
        return None
    return ends_at
