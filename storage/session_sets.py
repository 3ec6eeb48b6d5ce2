"""Sets logged, edited and deleted in a live session, each named by an id the client made.

A client id names one set within its session. Logging it again returns the stored set and
changes nothing, so a retry or an offline replay never logs a set twice. Sets are numbered
within their exercise in the order performed (`performed_at`, then id), whatever order the
requests arrived in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from server.errors import NotFound, ValidationFailed
from storage.categories import KEEP, Keep
from storage.measures import DEFAULT_UNIT
from storage.models import Exercise, Workout, WorkoutSet
from storage.names import normalize_exercise_name
from storage.sessions import get_owned_session
from storage.types import utcnow


@dataclass(frozen=True)
class SessionExercise:
    """The exercise a set belongs to, as the client names it. A `unit` of None means the default."""

    type: str
    name: str
    unit: str | None


@dataclass(frozen=True)
class LoggedSet:
    set: WorkoutSet
    exercise: Exercise
    # False when the client id was stored already and nothing changed.
    created: bool
    # Every set of the exercise in performed order, when a new set was stored.
    exercise_sets: tuple[WorkoutSet, ...] = ()


async def log_set(
    session: AsyncSession,
    *,
    user_id: int,
    session_id: int,
    client_id: str,
    exercise: SessionExercise,
    value: float | None,
    reps: int,
    rest_minutes: float | None,
    performed_at: datetime | None,
) -> LoggedSet:
    """Store a set in the user's live session, or return the one stored under `client_id`.

    The exercise is the session's exercise of the same normalized name, or a new one after
    the others. `performed_at` defaults to now by the server's clock.
    """
    workout = await get_owned_session(session, user_id=user_id, session_id=session_id, live=True)
    exercises, sets_of = await _load_session_sets(session, session_id)
    for stored_exercise in exercises:
        for stored in sets_of[stored_exercise.id]:
            if stored.client_id == client_id:
                return LoggedSet(stored, stored_exercise, created=False)

    row = await _find_or_create_exercise(session, workout, exercise, exercises)
    now = utcnow()
    performed = performed_at or now
    earlier, later = _split_at(sets_of.get(row.id, []), performed)
    # The session's row lock serializes writers, so the lookup above finds every stored set and
    # only one writer creates the exercise. The unique (exercise, client id) constraint is a
    # second guard within one exercise: on a conflict nothing is inserted.
    make_insert = (
        postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    )
    item = await session.scalar(
        make_insert(WorkoutSet)
        .values(
            exercise_id=row.id,
            order=len(earlier) + 1,
            value=value,
            reps=reps,
            rest_minutes=rest_minutes,
            client_id=client_id,
            performed_at=performed,
        )
        .on_conflict_do_nothing(index_elements=["exercise_id", "client_id"])
        .returning(WorkoutSet)
    )
    if item is None:
        found = await _find_set(session, session_id=session_id, client_id=client_id)
        if found is None:
            raise RuntimeError(f"set {client_id!r} not found after a conflict on insert")
        return LoggedSet(found[0], found[1], created=False)

    # A set replayed from an offline queue may have been performed before sets already stored.
    for position, later_set in enumerate(later, start=len(earlier) + 2):
        later_set.order = position
    workout.updated_at = now
    return LoggedSet(item, row, created=True, exercise_sets=(*earlier, item, *later))


async def update_set(
    session: AsyncSession,
    *,
    user_id: int,
    session_id: int,
    client_id: str,
    value: float | None | Keep = KEEP,
    reps: int | None = None,
    rest_minutes: float | None | Keep = KEEP,
) -> LoggedSet:
    """Change the given fields of a set of the user's live session."""
    workout = await get_owned_session(session, user_id=user_id, session_id=session_id, live=True)
    item, exercise = await _get_set(session, session_id=session_id, client_id=client_id)
    if not isinstance(value, Keep):
        item.value = value
    if reps is not None:
        item.reps = reps
    if not isinstance(rest_minutes, Keep):
        item.rest_minutes = rest_minutes
    workout.updated_at = utcnow()
    await session.flush()
    return LoggedSet(item, exercise, created=False)


async def delete_set(
    session: AsyncSession, *, user_id: int, session_id: int, client_id: str
) -> LoggedSet:
    """Delete a set of the user's live session and return it; an emptied exercise goes too.

    NOTE: no trace of the client id is kept, so a retry of its log request that arrives after
    the delete stores the set again.
    """
    workout = await get_owned_session(session, user_id=user_id, session_id=session_id, live=True)
    item, exercise = await _get_set(session, session_id=session_id, client_id=client_id)
    await session.delete(item)
    await session.flush()
    remaining = await session.scalar(
        select(func.count()).select_from(WorkoutSet).where(WorkoutSet.exercise_id == exercise.id)
    )
    if remaining:
        await _renumber(session, exercise.id)
    else:
        await session.delete(exercise)
    workout.updated_at = utcnow()
    await session.flush()
    return LoggedSet(item, exercise, created=False)


async def _find_set(
    session: AsyncSession, *, session_id: int, client_id: str
) -> tuple[WorkoutSet, Exercise] | None:
    row = (
        await session.execute(
            select(WorkoutSet, Exercise)
            .join(Exercise, Exercise.id == WorkoutSet.exercise_id)
            .where(Exercise.workout_id == session_id, WorkoutSet.client_id == client_id)
            .limit(1)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def _get_set(
    session: AsyncSession, *, session_id: int, client_id: str
) -> tuple[WorkoutSet, Exercise]:
    found = await _find_set(session, session_id=session_id, client_id=client_id)
    if found is None:
        raise NotFound(f"set not found: the session has no set with clientId {client_id!r}")
    return found


async def _load_session_sets(
    session: AsyncSession, session_id: int
) -> tuple[list[Exercise], dict[int, list[WorkoutSet]]]:
    """Return the session's exercises in order, and each one's sets in performed order."""
    rows = await session.execute(
        select(Exercise, WorkoutSet)
        .outerjoin(WorkoutSet, WorkoutSet.exercise_id == Exercise.id)
        .where(Exercise.workout_id == session_id)
        .order_by(Exercise.order, Exercise.id, WorkoutSet.performed_at, WorkoutSet.id)
    )
    exercises: list[Exercise] = []
    sets_of: dict[int, list[WorkoutSet]] = {}
    for exercise, item in rows.tuples():
        if exercise.id not in sets_of:
            exercises.append(exercise)
            sets_of[exercise.id] = []
        if item is not None:
            sets_of[exercise.id].append(item)
    return exercises, sets_of


async def _find_or_create_exercise(
    session: AsyncSession,
    workout: Workout,
    requested: SessionExercise,
    exercises: list[Exercise],
) -> Exercise:
    """Return the session's exercise of the same normalized name, or append a new one.

    `exercises` are the session's exercises in order. An existing exercise keeps its type and
    unit: a set that names another one is rejected, because its value would be read in the
    wrong unit.
    """
    name_key = normalize_exercise_name(requested.name)
    exercise = next((row for row in exercises if row.name_key == name_key), None)
    if exercise is not None:
        if exercise.type != requested.type:
            raise ValidationFailed.field(
                "exercise.type",
                f"invalid: {exercise.name!r} is logged as {exercise.type!r} in this session",
            )
        if requested.unit is not None and requested.unit != exercise.unit:
            raise ValidationFailed.field(
                "exercise.unit",
                f"invalid: {exercise.name!r} is logged in {exercise.unit!r} in this session",
            )
        return exercise

    exercise = Exercise(
        workout_id=workout.id,
        user_id=workout.user_id,
        type=requested.type,
        name=requested.name,
        name_key=name_key,
        unit=requested.unit or DEFAULT_UNIT[requested.type],
        order=max((row.order for row in exercises), default=0) + 1,
    )
    session.add(exercise)
    await session.flush()
    return exercise


def _split_at(
    sets: list[WorkoutSet], performed_at: datetime
) -> tuple[list[WorkoutSet], list[WorkoutSet]]:
    """Return the sets before and after a new set performed at `performed_at`, in order.

    The new set's id is the highest, so it comes after sets of its time.
    """
    earlier: list[WorkoutSet] = []
    later: list[WorkoutSet] = []
    for row in sets:
        # Every set of a live session has a time. A set without one counts as earlier.
        if row.performed_at is None or row.performed_at <= performed_at:
            earlier.append(row)
        else:
            later.append(row)
    return earlier, later


async def _renumber(session: AsyncSession, exercise_id: int) -> None:
    """Number the exercise's sets 1, 2, ... by when they were performed, then by id."""
    rows = await session.scalars(
        select(WorkoutSet)
        .where(WorkoutSet.exercise_id == exercise_id)
        .order_by(WorkoutSet.performed_at, WorkoutSet.id)
    )
    for position, row in enumerate(rows, start=1):
        if row.order != position:
            row.order = position
    await session.flush()
