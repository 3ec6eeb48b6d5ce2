"""Workouts as read for replies: ORM objects after a write, plain rows on the read paths.

A page of 20 workouts contains hundreds of sets. Building ORM objects for them took most of a
request's CPU time, so the read paths fetch table columns into small slotted records. The
records have the attribute names of the mapped classes, so one reply shaper serves both.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy import BigInteger, ColumnElement, Select, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from storage.models import Category, Exercise, Workout, WorkoutSet

# Every field of a workout in the API, in reply order. Callers may ask for a subset.
WORKOUT_FIELDS = (
    "id",
    "notes",
    "categoryId",
    "userId",
    "createdAt",
    "updatedAt",
    "category",
    "exercises",
)

Reader = AsyncConnection | AsyncSession


@dataclass(slots=True)
class WorkoutRecord:
    id: int
    user_id: int
    category_id: int
    notes: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(slots=True)
class CategoryRecord:
    id: int
    user_id: int
    name: str
    color: str
    created_at: datetime
    updated_at: datetime


@dataclass(slots=True)
class ExerciseRecord:
    id: int
    workout_id: int
    type: str
    name: str
    unit: str
    notes: str | None
    order: int


@dataclass(slots=True)
class SetRecord:
    id: int
    exercise_id: int
    order: int
    value: float | None
    reps: int
    rest_minutes: float | None


@dataclass
class ExerciseDetail:
    """An exercise with its sets as ORM objects, as a write or a live session has them."""

    exercise: Exercise
    sets: list[WorkoutSet]


@dataclass
class ExerciseRows:
    """An exercise with its sets as records, as the read paths fetch them."""

    exercise: ExerciseRecord
    sets: list[SetRecord]


@dataclass
class WorkoutDetail:
    """A workout and the parts of it that were loaded. The category and exercises may be absent."""

    workout: Workout | WorkoutRecord
    category: Category | CategoryRecord | None = None
    exercises: Sequence[ExerciseDetail | ExerciseRows] | None = None


@dataclass
class WorkoutPage:
    workouts: list[WorkoutDetail]
    has_more: bool
    next_cursor: str | None


_WORKOUTS = Workout.__table__
_CATEGORIES = Category.__table__
_SETS = WorkoutSet.__table__
_EXERCISES = Exercise.__table__
WORKOUT_COLUMNS = tuple(_WORKOUTS.c[name] for name in WorkoutRecord.__dataclass_fields__)
CATEGORY_COLUMNS = tuple(_CATEGORIES.c[name] for name in CategoryRecord.__dataclass_fields__)


def _of_workouts(column: ColumnElement[int], dialect: str) -> ColumnElement[bool]:
    """Return `column` IN the `workout_ids` parameter.

    PostgreSQL takes the ids as one array, so the statement text is the same for every page.
    SQLite gets an expanding IN list.
    """
    if dialect == "postgresql":
        return column == any_(bindparam("workout_ids", type_=ARRAY(BigInteger)))
    return column.in_(bindparam("workout_ids", expanding=True))


def _statements(dialect: str) -> tuple[Select[Any], Select[Any]]:
    sets = (
        select(*(_SETS.c[name] for name in SetRecord.__dataclass_fields__))
        .join(_EXERCISES, _EXERCISES.c.id == _SETS.c.exercise_id)
        .where(_of_workouts(_EXERCISES.c.workout_id, dialect))
        .order_by(_SETS.c.exercise_id, _SETS.c.order, _SETS.c.id)
    )
    exercises = (
        select(*(_EXERCISES.c[name] for name in ExerciseRecord.__dataclass_fields__))
        .where(_of_workouts(_EXERCISES.c.workout_id, dialect))
        .order_by(_EXERCISES.c.workout_id, _EXERCISES.c.order, _EXERCISES.c.id)
    )
    return sets, exercises


# Built once per dialect: building a select takes about as long as running it.
_STATEMENTS = {dialect: _statements(dialect) for dialect in ("postgresql", "sqlite")}


def dialect_of(reader: Reader) -> str:
    if isinstance(reader, AsyncConnection):
        return reader.dialect.name
    return reader.get_bind().dialect.name


async def load_exercises(reader: Reader, details: Sequence[WorkoutDetail]) -> None:
    """Fill in the exercises and sets of the workouts with one query for each level."""
    by_workout: dict[int, list[ExerciseRows]] = defaultdict(list)
    ids = [detail.workout.id for detail in details]
    if ids:
        select_sets, select_exercises = _STATEMENTS[dialect_of(reader)]
        sets_by_exercise: dict[int, list[SetRecord]] = defaultdict(list)
        for set_row in await _fetch_all(reader, select_sets, ids):
            sets_by_exercise[set_row[1]].append(SetRecord(*set_row))
        for exercise_row in await _fetch_all(reader, select_exercises, ids):
            exercise = ExerciseRecord(*exercise_row)
            by_workout[exercise.workout_id].append(
                ExerciseRows(exercise, sets_by_exercise[exercise.id])
            )
    for detail in details:
        detail.exercises = by_workout[detail.workout.id]


async def _fetch_all(reader: Reader, statement: Select[Any], ids: list[int]) -> Sequence[Any]:
    """Return every row of a statement over `workout_ids`.

    On a connection of the asyncpg driver the compiled text runs on the driver itself: a page
    has hundreds of sets, and SQLAlchemy's result layer took half the page's query time to
    wrap them. The columns need no conversion, so the rows are the same.
    """
    if not isinstance(reader, AsyncConnection) or reader.dialect.driver != "asyncpg":
        rows: Sequence[Any] = (await reader.execute(statement, {"workout_ids": ids})).all()
        return rows
    text = _COMPILED.get(statement)
    if text is None:
        text = _COMPILED[statement] = str(statement.compile(dialect=reader.dialect))
    driver: asyncpg.Connection = (await reader.get_raw_connection()).driver_connection
    try:
        records: list[asyncpg.Record] = await driver.fetch(text, ids)
        return records
    except (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError) as error:
        if not driver.is_closed():
            raise
        await reader.invalidate()
        raise ConnectionError("the database connection closed during a read") from error


_COMPILED: dict[Select[Any], str] = {}
