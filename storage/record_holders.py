"""The best summary row of each record kind, for many exercises in one query.

Each holder is the top row of an index on the exercise's summary rows, so the cost grows with
the number of exercises asked for, not with the length of the user's history. PostgreSQL reads
every exercise in one statement with LATERAL joins. SQLite has no LATERAL, and runs in process,
so it runs one query per exercise and kind.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Select, String, literal, select, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import bindparam, func

from storage.models import ExerciseWorkoutStats

MAX_LOAD = "max_load"
BEST_E1RM = "best_e1rm"
MAX_SET_VOLUME = "max_set_volume"
MAX_WORKOUT_VOLUME = "max_workout_volume"

# Each single-holder kind, with the summary columns of its value and of the set that made it.
SINGLE_KINDS = {
    MAX_LOAD: (ExerciseWorkoutStats.max_load, ExerciseWorkoutStats.max_load_set_id),
    BEST_E1RM: (ExerciseWorkoutStats.best_e1rm, ExerciseWorkoutStats.best_e1rm_set_id),
    MAX_SET_VOLUME: (
        ExerciseWorkoutStats.max_set_volume,
        ExerciseWorkoutStats.max_set_volume_set_id,
    ),
    MAX_WORKOUT_VOLUME: (ExerciseWorkoutStats.volume, None),
}
# Exercises per PostgreSQL statement.
KEYS_PER_QUERY = 500


@dataclass(frozen=True)
class Holder:
    value: float
    set_id: int | None
    workout_id: int
    achieved_at: datetime
    load: float | None = None


@dataclass
class ExerciseTops:
    """The latest name and type and the record holders among one exercise's summary rows."""

    name: str
    """The name and type of the exercise's most recent summary row."""
    type: str
    holders: dict[str, Holder | None] = field(default_factory=dict)


async def load_tops(
    session: AsyncSession, *, user_id: int, keys: Iterable[str]
) -> dict[str, ExerciseTops]:
    """Return the latest name and the holder of every single kind of each exercise that has
    summary rows; exercises without any are left out."""
    ordered = sorted(set(keys))
    if session.get_bind().dialect.name == "postgresql":
        tops: dict[str, ExerciseTops] = {}
        for start in range(0, len(ordered), KEYS_PER_QUERY):
            chunk = ordered[start : start + KEYS_PER_QUERY]
            result = await session.execute(_LATERAL_QUERY, {"user_id": user_id, "keys": chunk})
            for row in result:
                if row.name is not None:
                    tops[row.name_key] = _tops_of_row(row)
        return tops
    found = {key: await _load_one(session, user_id=user_id, name_key=key) for key in ordered}
    return {key: value for key, value in found.items() if value is not None}


def _holder_columns(kind: str) -> tuple[Any, ...]:
    value_column, set_column = SINGLE_KINDS[kind]
    set_id = set_column if set_column is not None else literal(None, BigInteger)
    return (
        value_column.label("value"),
        ExerciseWorkoutStats.workout_id,
        ExerciseWorkoutStats.performed_at,
        set_id.label("set_id"),
    )


def _holder_query(user_id: Any, kind: str, name_key: Any) -> Select[Any]:
    value_column, _ = SINGLE_KINDS[kind]
    return (
        select(*_holder_columns(kind))
        .where(
            ExerciseWorkoutStats.user_id == user_id,
            ExerciseWorkoutStats.name_key == name_key,
            value_column.is_not(None),
            value_column > 0,
        )
        # The earliest of equal values holds the record: a tie is not a new record.
        .order_by(
            value_column.desc(),
            ExerciseWorkoutStats.performed_at,
            ExerciseWorkoutStats.workout_id,
        )
        .limit(1)
    )


def _latest_query(user_id: Any, name_key: Any) -> Select[str, str]:
    return (
        select(ExerciseWorkoutStats.name, ExerciseWorkoutStats.type)
        .where(ExerciseWorkoutStats.user_id == user_id, ExerciseWorkoutStats.name_key == name_key)
        .order_by(ExerciseWorkoutStats.performed_at.desc(), ExerciseWorkoutStats.workout_id.desc())
        .limit(1)
    )


def _lateral_query(user_id: Any) -> Select[Any]:
    keys = (
        func.unnest(bindparam("keys", type_=ARRAY(String)))
        .table_valued("name_key")
        .render_derived(name="k")
    )
    latest = _latest_query(user_id, keys.c.name_key).lateral("latest")
    joined = keys.outerjoin(latest, true())
    columns: list[Any] = [keys.c.name_key, latest.c.name, latest.c.type]
    for kind in SINGLE_KINDS:
        holder = _holder_query(user_id, kind, keys.c.name_key).lateral(kind)
        joined = joined.outerjoin(holder, true())
        columns += [
            holder.c.value.label(f"{kind}_value"),
            holder.c.workout_id.label(f"{kind}_workout_id"),
            holder.c.performed_at.label(f"{kind}_performed_at"),
            holder.c.set_id.label(f"{kind}_set_id"),
        ]
    return select(*columns).select_from(joined)


# Built once: building this statement cost about as much as running it.
_LATERAL_QUERY = _lateral_query(bindparam("user_id", type_=BigInteger))


def _tops_of_row(row: Any) -> ExerciseTops:
    tops = ExerciseTops(name=row.name, type=row.type)
    for kind in SINGLE_KINDS:
        value = getattr(row, f"{kind}_value")
        tops.holders[kind] = (
            None
            if value is None
            else Holder(
                float(value),
                getattr(row, f"{kind}_set_id"),
                getattr(row, f"{kind}_workout_id"),
                getattr(row, f"{kind}_performed_at"),
            )
        )
    return tops


async def _load_one(session: AsyncSession, *, user_id: int, name_key: str) -> ExerciseTops | None:
    latest = (await session.execute(_latest_query(user_id, name_key))).first()
    if latest is None:
        return None
    tops = ExerciseTops(name=latest.name, type=latest.type)
    for kind in SINGLE_KINDS:
        row = (await session.execute(_holder_query(user_id, kind, name_key))).first()
        tops.holders[kind] = (
            None
            if row is None
            else Holder(float(row.value), row.set_id, row.workout_id, row.performed_at)
        )
    return tops
