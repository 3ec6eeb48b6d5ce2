"""Progress and personal records, updated for exactly the workouts a change touched.

Each call reads the sets of the touched workouts only, stores one summary row per exercise and
workout, adds the difference to the exercise's running totals, and finds each record holder
through an index on the summary rows. Its cost depends on the size of the touched workouts,
not on the length of the user's history.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, and_, delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from events import names
from storage import notifications, outbox
from storage.analytics import apply_analytics_changes
from storage.bulk_insert import insert_rows
from storage.grants import live_session_watchers
from storage.measures import (
    CANONICAL_UNIT,
    ExerciseSummary,
    SetMeasure,
    summarize,
    to_canonical,
)
from storage.models import (
    Category,
    Exercise,
    ExerciseProgress,
    ExerciseWorkoutStats,
    Workout,
    WorkoutSet,
)
from storage.record_holders import BEST_E1RM, MAX_LOAD, ExerciseTops, load_tops
from storage.records import RecordChange, update_all_records
from storage.types import utcnow

# The columns that say whether a summary row changed.
SUMMARY_COLUMNS = (
    "name_key",
    "workout_id",
    "category_id",
    "name",
    "type",
    "performed_at",
    "volume",
    "reps",
    "sets",
    "max_load",
    "max_load_set_id",
    "best_e1rm",
    "best_e1rm_set_id",
    "max_set_volume",
    "max_set_volume_set_id",
)


@dataclass
class ExerciseInWorkout:
    """The sets of one exercise (by normalized name) in one workout."""

    workout_id: int
    name_key: str
    name: str
    type: str
    category_id: int
    sets: list[SetMeasure] = field(default_factory=list)


async def apply_workout_changes(
    session: AsyncSession,
    *,
    user_id: int,
    workout_ids: Sequence[int],
    announce: bool = True,
    live_sessions: dict[int, list[int]] | None = None,
) -> tuple[list[dict[str, Any]], list[RecordChange]]:
    """Bring progress and records up to date with the current state of `workout_ids`.

    Running it twice for the same state changes nothing the second time, so a task that is
    delivered again is harmless. Events go to the outbox of `session`, and to the watchers of
    a touched live session as well. With `announce` False (bulk imports) no record event is
    sent, but records are still stored. A caller that has read the watchers of each touched
    live session in this transaction passes them as `live_sessions`.
    """
    await _lock_user(session, user_id)
    touched = set(workout_ids)
    current, categories = await _load_exercises(session, user_id=user_id, workout_ids=touched)
    old_rows = await _load_summaries(session, user_id=user_id, workout_ids=touched)

    new_rows = [_summary_row(user_id, item, summarize(item.sets)) for item in current.values()]
    await session.execute(
        delete(ExerciseWorkoutStats).where(
            ExerciseWorkoutStats.user_id == user_id,
            ExerciseWorkoutStats.workout_id.in_(touched),
        )
    )
    # COPY on PostgreSQL: an import inserts a summary row per exercise of its whole history.
    columns = ("user_id", *SUMMARY_COLUMNS)
    await insert_rows(
        session,
        ExerciseWorkoutStats,
        columns,
        [tuple(row[column] for column in columns) for row in new_rows],
    )
    await apply_analytics_changes(session, user_id=user_id, old_rows=old_rows, new_rows=new_rows)

    keys = {row.name_key for row in old_rows} | {row["name_key"] for row in new_rows}
    tops = await load_tops(session, user_id=user_id, keys=keys)
    totals = await _update_totals(session, user_id, keys, old_rows, new_rows, tops)
    new_sets: dict[str, list[SetMeasure]] = defaultdict(list)
    for item in current.values():
        new_sets[item.name_key].extend(item.sets)
    changes = await update_all_records(
        session,
        user_id=user_id,
        keys=sorted(keys),
        touched=touched,
        new_sets=new_sets,
        tops=tops,
    )

    exercises = await _progress_payload(session, user_id, totals, categories)
    if not changes and _same_summaries(old_rows, new_rows):
        # A repeated delivery of the same change: nothing to tell the devices.
        return exercises, changes
    sessions = live_sessions
    if sessions is None:
        sessions = await live_session_watchers(session, user_id=user_id, workout_ids=touched)
    session_id, watchers = _audience(sessions)
    outbox.add_event(
        session,
        user_id=user_id,
        name=names.PROGRESS_UPDATED,
        data={"workoutIds": [str(w) for w in sorted(touched)], "exercises": exercises},
        session_id=session_id,
        watchers=watchers,
    )
    if announce:
        announce_records(session, user_id=user_id, changes=changes, sessions=sessions)
    return exercises, changes


def announce_records(
    session: AsyncSession,
    *,
    user_id: int,
    changes: Sequence[RecordChange],
    sessions: dict[int, list[int]],
) -> None:
    """Queue an event for each record change, and one task that notifies the records achieved.

    `sessions` maps each touched live session to its watchers, who also get the events of the
    records its sets made or lost.
    """
    for change in changes:
        session_id, watchers = _audience(sessions, change)
        outbox.add_event(
            session,
            user_id=user_id,
            name=change.event,
            data=change.payload(),
            session_id=session_id,
            watchers=watchers,
        )
    achieved = [c.payload() for c in changes if c.event == names.RECORD_ACHIEVED]
    notifications.add_achievement_task(session, user_id=user_id, records=achieved)


def _audience(
    sessions: dict[int, list[int]], change: RecordChange | None = None
) -> tuple[int | None, list[int]]:
    """Pick the live session whose watchers also get an event, and those watchers.

    A record event goes to the session of the set that made or lost the record. Other events
    go to the touched session when there is exactly one. With several, only the owner gets them.
    """
    if change is not None:
        for holder in (change.new, change.previous):
            if holder is not None and holder.workout_id in sessions:
                return holder.workout_id, sessions[holder.workout_id]
    if len(sessions) == 1:
        session_id, watchers = next(iter(sessions.items()))
        return session_id, watchers
    return None, []


def _same_summaries(old_rows: list[ExerciseWorkoutStats], new_rows: list[dict[str, Any]]) -> bool:
    def key(row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(row[column] for column in SUMMARY_COLUMNS)

    old = sorted(key({c: getattr(row, c) for c in SUMMARY_COLUMNS}) for row in old_rows)
    return old == sorted(key(row) for row in new_rows)


async def _lock_user(session: AsyncSession, user_id: int) -> None:
    """Serialize progress updates of one user; SQLite's write lock already does."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"progress:{user_id}"},
        )


async def _load_exercises(
    session: AsyncSession, *, user_id: int, workout_ids: set[int]
) -> tuple[dict[tuple[int, str], ExerciseInWorkout], dict[int, str]]:
    """Return the sets of each exercise of the workouts, and the names of their categories."""
    # Exercises and sets in two queries, so the exercise's names are not repeated on every
    # set row, and Core columns rather than ORM attributes, so rows come back as plain tuples.
    exercise = cast(Table, Exercise.__table__).c
    workouts = cast(Table, Workout.__table__)
    categories_table = cast(Table, Category.__table__)
    workout, category = workouts.c, categories_table.c
    sets = cast(Table, WorkoutSet.__table__).c
    exercise_rows = (
        await session.execute(
            select(
                exercise.id,
                exercise.workout_id,
                exercise.name,
                exercise.name_key,
                exercise.type,
                exercise.unit,
                workout.created_at,
                workout.category_id,
                category.name,
            )
            .join(workouts, workout.id == exercise.workout_id)
            .outerjoin(categories_table, category.id == workout.category_id)
            .where(workout.user_id == user_id, workout.id.in_(workout_ids))
            .order_by(exercise.workout_id, exercise.order, exercise.id)
        )
    ).all()
    if not exercise_rows:
        return {}, {}
    in_workouts = and_(exercise.user_id == user_id, exercise.workout_id.in_(workout_ids))
    set_rows = (
        await session.execute(
            select(sets.exercise_id, sets.id, sets.value, sets.reps)
            .where(sets.exercise_id.in_(select(exercise.id).where(in_workouts)))
            .order_by(sets.exercise_id, sets.order, sets.id)
        )
    ).all()
    sets_of: dict[int, list[tuple[int, float | None, int]]] = defaultdict(list)
    for exercise_id, set_id, value, reps in set_rows:
        sets_of[exercise_id].append((set_id, value, reps))

    exercises: dict[tuple[int, str], ExerciseInWorkout] = {}
    categories: dict[int, str] = {}
    for row in exercise_rows:
        exercise_id, workout_id, name, name_key, kind, unit, performed_at, category_id, title = row
        if category_id is not None:
            categories[category_id] = title
        measured = sets_of.get(exercise_id)
        if not measured:
            continue
        item = exercises.get((workout_id, name_key))
        if item is None:
            item = ExerciseInWorkout(workout_id, name_key, name, kind, category_id)
            exercises[(workout_id, name_key)] = item
        item.sets.extend(
            SetMeasure(
                set_id, workout_id, performed_at, kind, to_canonical(value, kind, unit), reps
            )
            for set_id, value, reps in measured
        )
    return exercises, categories


async def _load_summaries(
    session: AsyncSession, *, user_id: int, workout_ids: set[int]
) -> list[ExerciseWorkoutStats]:
    result = await session.execute(
        select(ExerciseWorkoutStats).where(
            ExerciseWorkoutStats.user_id == user_id,
            ExerciseWorkoutStats.workout_id.in_(workout_ids),
        )
    )
    return list(result.scalars())


def _summary_row(user_id: int, item: ExerciseInWorkout, summary: ExerciseSummary) -> dict[str, Any]:
    def best(attribute: str) -> tuple[float | None, int | None]:
        value = getattr(summary, attribute)
        return (value.value, value.set_id) if value is not None else (None, None)

    max_load, max_load_set = best("max_load")
    best_e1rm, best_e1rm_set = best("best_e1rm")
    max_set_volume, max_set_volume_set = best("max_set_volume")
    return {
        "user_id": user_id,
        "name_key": item.name_key,
        "workout_id": item.workout_id,
        "category_id": item.category_id,
        "name": item.name,
        "type": item.type,
        "performed_at": item.sets[0].performed_at,
        "volume": summary.volume,
        "reps": summary.reps,
        "sets": summary.sets,
        "max_load": max_load,
        "max_load_set_id": max_load_set,
        "best_e1rm": best_e1rm,
        "best_e1rm_set_id": best_e1rm_set,
        "max_set_volume": max_set_volume,
        "max_set_volume_set_id": max_set_volume_set,
    }


async def _update_totals(
    session: AsyncSession,
    user_id: int,
    keys: set[str],
    old_rows: list[ExerciseWorkoutStats],
    new_rows: list[dict[str, Any]],
    tops: dict[str, ExerciseTops],
) -> list[ExerciseProgress]:
    """Add the difference between new and old summaries to each exercise's running totals."""
    delta: dict[str, list[float]] = defaultdict(lambda: [0.0, 0, 0, 0])
    for old in old_rows:
        change = delta[old.name_key]
        change[0] -= old.volume
        change[1] -= old.reps
        change[2] -= old.sets
        change[3] -= 1
    latest: dict[str, dict[str, Any]] = {}
    for new in new_rows:
        change = delta[new["name_key"]]
        change[0] += new["volume"]
        change[1] += new["reps"]
        change[2] += new["sets"]
        change[3] += 1
        previous = latest.get(new["name_key"])
        if previous is None or new["performed_at"] >= previous["performed_at"]:
            latest[new["name_key"]] = new

    existing = {
        row.name_key: row
        for row in await session.scalars(
            select(ExerciseProgress).where(
                ExerciseProgress.user_id == user_id, ExerciseProgress.name_key.in_(keys)
            )
        )
    }
    totals = []
    for key in sorted(keys):
        row = existing.get(key)
        if row is None:
            source = latest[key]
            row = ExerciseProgress(
                user_id=user_id,
                name_key=key,
                name=source["name"],
                type=source["type"],
                volume=0.0,
                reps=0,
                sets=0,
                workouts=0,
            )
            session.add(row)
        volume, reps, sets, workouts = delta[key]
        row.volume = round(row.volume + volume, 6)
        row.reps = int(row.reps + reps)
        row.sets = int(row.sets + sets)
        row.workouts = int(row.workouts + workouts)
        if key in latest:
            row.name = latest[key]["name"]
            row.type = latest[key]["type"]
            row.category_id = latest[key]["category_id"]
        row.max_load = _top_value(tops, key, MAX_LOAD)
        row.best_e1rm = _top_value(tops, key, BEST_E1RM)
        row.updated_at = utcnow()
        totals.append(row)
    await session.flush()
    for row in totals:
        if row.workouts <= 0:
            await session.delete(row)
    return totals


def _top_value(tops: dict[str, ExerciseTops], key: str, kind: str) -> float | None:
    """Return the exercise's best value of a kind over all its summary rows, if any."""
    exercise = tops.get(key)
    holder = exercise.holders[kind] if exercise is not None else None
    return holder.value if holder is not None else None


async def _progress_payload(
    session: AsyncSession,
    user_id: int,
    totals: list[ExerciseProgress],
    known_categories: dict[int, str],
) -> list[dict[str, Any]]:
    categories = dict(known_categories)
    category_ids = {row.category_id for row in totals if row.category_id is not None}
    missing = category_ids - categories.keys()
    if missing:
        result = await session.execute(
            select(Category.id, Category.name).where(
                Category.user_id == user_id, Category.id.in_(missing)
            )
        )
        categories.update((row.id, row.name) for row in result)
    return [
        {
            "name": row.name,
            "nameKey": row.name_key,
            "type": row.type,
            "categoryId": str(row.category_id) if row.category_id is not None else None,
            "category": categories.get(row.category_id) if row.category_id else None,
            "volume": round(row.volume, 4) if row.workouts > 0 else 0.0,
            "reps": max(row.reps, 0),
            "sets": max(row.sets, 0),
            "workouts": max(row.workouts, 0),
            "maxLoad": _rounded(row.max_load),
            "bestE1rm": _rounded(row.best_e1rm),
            "unit": CANONICAL_UNIT[row.type],
        }
        for row in totals
    ]


def _rounded(value: float | None) -> float | None:
    return round(value, 4) if value is not None else None
