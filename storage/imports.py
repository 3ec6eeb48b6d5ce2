"""Bulk writes of imported workouts: categories, workouts, exercises and sets."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage import outbox
from storage.models import Category, Exercise, Workout, WorkoutSet
from storage.names import normalize_exercise_name
from storage.types import utcnow

if TYPE_CHECKING:
    from tasks.strong import ParsedWorkout

log = logging.getLogger(__name__)

# Workouts written per round of INSERTs. Progress is reported after each round.
BATCH_WORKOUTS = 200
# Values per IN (...) lookup, well under SQLite's limit of bound parameters.
LOOKUP_CHUNK = 500
SET_COLUMNS = ("exercise_id", "order", "value", "reps", "rest_minutes")

Progress = Callable[[float], Awaitable[None]]


@dataclass
class ImportCounts:
    workouts: int = 0
    skipped: int = 0
    """Workouts left out because an earlier import of the same file created them."""
    exercises: int = 0
    sets: int = 0
    workout_ids: list[int] = field(default_factory=list)


def import_key(fmt: str, local_date: datetime, workout_name: str) -> str:
    """Return the key that identifies an imported workout across imports of its file.

    It uses the start time as the file writes it, so changing the time zone between two
    imports of one file still finds the workouts of the first.
    """
    source = "\x1f".join((fmt, local_date.isoformat(), workout_name))
    return hashlib.sha256(source.encode()).hexdigest()


async def create_imported_workouts(
    session: AsyncSession,
    *,
    user_id: int,
    fmt: str,
    workouts: Sequence[ParsedWorkout],
    on_progress: Progress | None = None,
) -> ImportCounts:
    """Insert the workouts a previous import did not create, with their categories.

    Runs in the caller's transaction and adds one outbox task that recomputes progress for
    the new workouts. A category is matched by its exact name, so "Push" and "PUSH" stay two
    categories, as the file has them.
    """
    keyed = [(import_key(fmt, w.local_date, w.name), w) for w in workouts]
    existing = await _existing_keys(session, user_id=user_id, keys=[key for key, _ in keyed])
    fresh = [(key, workout) for key, workout in keyed if key not in existing]
    counts = ImportCounts(skipped=len(keyed) - len(fresh))
    if not fresh:
        return counts

    categories = await _category_ids(
        session, user_id=user_id, names={workout.name for _, workout in fresh}
    )
    for start in range(0, len(fresh), BATCH_WORKOUTS):
        batch = fresh[start : start + BATCH_WORKOUTS]
        await _insert_batch(
            session, user_id=user_id, batch=batch, categories=categories, counts=counts
        )
        if on_progress is not None:
            await on_progress(min(1.0, (start + len(batch)) / len(fresh)))

    # Records from a whole history are stored but not announced one by one: the job's
    # completion event tells the devices to reload.
    outbox.add_task(
        session,
        "progress.recompute",
        user_id=user_id,
        workout_ids=list(counts.workout_ids),
        announce=False,
    )
    return counts


async def _insert_batch(
    session: AsyncSession,
    *,
    user_id: int,
    batch: list[tuple[str, ParsedWorkout]],
    categories: dict[str, int],
    counts: ImportCounts,
) -> None:
    workout_rows = [
        {
            "user_id": user_id,
            "category_id": categories[workout.name],
            "notes": workout.notes,
            "import_key": key,
            "created_at": workout.date,
            "updated_at": workout.date,
        }
        for key, workout in batch
    ]
    workout_ids = await _insert_returning_ids(session, Workout, workout_rows)

    exercise_rows: list[dict[str, Any]] = []
    exercise_sets = []
    for workout_id, (_, workout) in zip(workout_ids, batch, strict=True):
        for order, exercise in enumerate(workout.exercises, start=1):
            exercise_rows.append(
                {
                    "workout_id": workout_id,
                    "user_id": user_id,
                    "type": exercise.type,
                    "name": exercise.name,
                    "name_key": normalize_exercise_name(exercise.name),
                    "unit": exercise.unit,
                    "notes": exercise.notes,
                    "order": order,
                }
            )
            exercise_sets.append(exercise.sets)
    exercise_ids = await _insert_returning_ids(session, Exercise, exercise_rows)

    set_rows = [
        (
            exercise_id,
            item.order,
            item.value,
            item.reps,
            None if item.rest_seconds is None else round(item.rest_seconds / 60, 6),
        )
        for exercise_id, sets in zip(exercise_ids, exercise_sets, strict=True)
        for item in sets
    ]
    await _insert_sets(session, set_rows)

    counts.workouts += len(workout_ids)
    counts.exercises += len(exercise_ids)
    counts.sets += len(set_rows)
    counts.workout_ids.extend(workout_ids)


async def _insert_returning_ids(
    session: AsyncSession, model: type[Workout] | type[Exercise], rows: list[dict[str, Any]]
) -> list[int]:
    """Insert rows in multi-row statements and return their ids in the order of `rows`."""
    if not rows:
        return []
    statement = insert(model).returning(model.id, sort_by_parameter_order=True)
    result = await session.execute(statement, rows)
    return list(result.scalars())


async def _insert_sets(session: AsyncSession, rows: list[tuple[Any, ...]]) -> None:
    """Insert set rows with COPY on asyncpg, else with one executemany INSERT."""
    if not rows:
        return
    connection = await session.connection()
    if connection.dialect.name == "postgresql" and connection.dialect.driver == "asyncpg":
        raw = await connection.get_raw_connection()
        # The raw connection is inside the session's transaction, so COPY commits or rolls
        # back with the rest of the import.
        await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
            WorkoutSet.__tablename__, records=rows, columns=SET_COLUMNS
        )
        return
    await session.execute(
        insert(WorkoutSet), [dict(zip(SET_COLUMNS, row, strict=True)) for row in rows]
    )


async def _existing_keys(session: AsyncSession, *, user_id: int, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), LOOKUP_CHUNK):
        chunk = keys[start : start + LOOKUP_CHUNK]
        result = await session.execute(
            select(Workout.import_key).where(
                Workout.user_id == user_id, Workout.import_key.in_(chunk)
            )
        )
        found.update(key for key in result.scalars() if key is not None)
    return found


async def _category_ids(session: AsyncSession, *, user_id: int, names: set[str]) -> dict[str, int]:
    """Return the id of each named category of the user, creating the missing ones."""
    ids = await _find_categories(session, user_id=user_id, names=sorted(names))
    missing = sorted(names - ids.keys())
    if missing:
        dialect = session.get_bind().dialect.name
        make_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        now = utcnow()
        for start in range(0, len(missing), LOOKUP_CHUNK):
            rows = [
                {"user_id": user_id, "name": name, "created_at": now, "updated_at": now}
                for name in missing[start : start + LOOKUP_CHUNK]
            ]
            # A category that another request created meanwhile is kept, not duplicated.
            await session.execute(
                make_insert(Category)
                .values(rows)
                .on_conflict_do_nothing(index_elements=["user_id", "name"])
            )
        ids.update(await _find_categories(session, user_id=user_id, names=missing))
        log.info("import created %d categories", len(missing), extra={"user_id": user_id})
    return ids


async def _find_categories(
    session: AsyncSession, *, user_id: int, names: list[str]
) -> dict[str, int]:
    ids: dict[str, int] = {}
    for start in range(0, len(names), LOOKUP_CHUNK):
        chunk = names[start : start + LOOKUP_CHUNK]
        result = await session.execute(
            select(Category.name, Category.id).where(
                Category.user_id == user_id, Category.name.in_(chunk)
            )
        )
        ids.update(dict(result.tuples().all()))
    return ids
