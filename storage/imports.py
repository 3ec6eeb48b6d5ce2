"""Bulk writes of imported workouts: categories, workouts, exercises and sets."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage import outbox
from storage.bulk_insert import allocate_ids, insert_rows
from storage.models import WORKOUT_FINISHED, Category, Exercise, Workout, WorkoutSet
from storage.names import normalize_exercise_name
from storage.types import utcnow

if TYPE_CHECKING:
    from tasks.parsed import ParsedWorkout

log = logging.getLogger(__name__)

# Workouts written per round of inserts. Progress is reported after each round.
BATCH_WORKOUTS = 500
# Values per IN (...) lookup, well under SQLite's limit of bound parameters.
LOOKUP_CHUNK = 500
WORKOUT_COLUMNS = (
    "id",
    "user_id",
    "category_id",
    "notes",
    "import_key",
    "status",
    "created_at",
    "updated_at",
)
EXERCISE_COLUMNS = (
    "id",
    "workout_id",
    "user_id",
    "type",
    "name",
    "name_key",
    "unit",
    "notes",
    "order",
    "superset_id",
)
SET_COLUMNS = (
    "id",
    "exercise_id",
    "order",
    "value",
    "reps",
    "rest_minutes",
    "set_type",
    "rpe",
    "duration_seconds",
    "distance_m",
    "notes",
)

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


def workout_import_key(fmt: str, workout: ParsedWorkout) -> str:
    key_name = workout.name if workout.key_name is None else workout.key_name
    return import_key(fmt, workout.local_date, key_name)


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
    categories, as the file has them. Imports of one user run one at a time.
    """
    await _lock_user_imports(session, user_id)
    keyed = [(workout_import_key(fmt, w), w) for w in workouts]
    existing = await _existing_keys(session, user_id=user_id, keys=[key for key, _ in keyed])
    fresh = [(key, workout) for key, workout in keyed if key not in existing]
    counts = ImportCounts(skipped=len(keyed) - len(fresh))
    if not fresh:
        return counts

    categories = await _category_ids(
        session, user_id=user_id, names={workout.name for _, workout in fresh}
    )
    name_keys: dict[str, str] = {}
    for start in range(0, len(fresh), BATCH_WORKOUTS):
        batch = fresh[start : start + BATCH_WORKOUTS]
        await _insert_batch(
            session,
            user_id=user_id,
            batch=batch,
            categories=categories,
            name_keys=name_keys,
            counts=counts,
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
    name_keys: dict[str, str],
    counts: ImportCounts,
) -> None:
    exercise_total = sum(len(workout.exercises) for _, workout in batch)
    set_total = sum(len(e.sets) for _, workout in batch for e in workout.exercises)
    workout_ids = await allocate_ids(session, Workout, len(batch))
    exercise_ids = iter(await allocate_ids(session, Exercise, exercise_total))
    set_ids = iter(await allocate_ids(session, WorkoutSet, set_total))

    workout_rows: list[tuple[Any, ...]] = []
    exercise_rows: list[tuple[Any, ...]] = []
    set_rows: list[tuple[Any, ...]] = []
    for workout_id, (key, workout) in zip(workout_ids, batch, strict=True):
        workout_rows.append(
            (
                workout_id,
                user_id,
                categories[workout.name],
                workout.notes,
                key,
                WORKOUT_FINISHED,
                workout.date,
                workout.date,
            )
        )
        for order, exercise in enumerate(workout.exercises, start=1):
            exercise_id = next(exercise_ids)
            name_key = name_keys.get(exercise.name)
            if name_key is None:
                name_key = name_keys[exercise.name] = normalize_exercise_name(exercise.name)
            exercise_rows.append(
                (
                    exercise_id,
                    workout_id,
                    user_id,
                    exercise.type,
                    exercise.name,
                    name_key,
                    exercise.unit,
                    exercise.notes,
                    order,
                    exercise.superset_id,
                )
            )
            set_rows.extend(
                (
                    next(set_ids),
                    exercise_id,
                    item.order,
                    item.value,
                    item.reps,
                    None if item.rest_seconds is None else round(item.rest_seconds / 60, 6),
                    item.set_type,
                    item.rpe,
                    item.duration_seconds,
                    item.distance_m,
                    item.notes,
                )
                for item in exercise.sets
            )

    await insert_rows(session, Workout, WORKOUT_COLUMNS, workout_rows)
    await insert_rows(session, Exercise, EXERCISE_COLUMNS, exercise_rows)
    await insert_rows(session, WorkoutSet, SET_COLUMNS, set_rows)
    counts.workouts += len(workout_rows)
    counts.exercises += len(exercise_rows)
    counts.sets += len(set_rows)
    counts.workout_ids.extend(workout_ids)


async def _lock_user_imports(session: AsyncSession, user_id: int) -> None:
    """Make a second import of the same user wait for the first to commit.

    The second then finds the first one's import keys and skips those workouts, instead of
    failing on the unique key. SQLite's write lock already serializes imports.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"import:{user_id}"},
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
