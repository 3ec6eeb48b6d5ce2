"""Keyset pages of a user's finished workouts, read as rows through statements built once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, bindparam, null, select, tuple_

from storage.models import WORKOUT_FINISHED, Workout
from storage.pagination import SORT_ATTRIBUTES, Cursor, cursor_after, decode_cursor
from storage.types import BigId, UTCDateTime
from storage.workout_rows import (
    CATEGORY_COLUMNS,
    WORKOUT_COLUMNS,
    WORKOUT_FIELDS,
    CategoryRecord,
    Reader,
    WorkoutDetail,
    WorkoutPage,
    WorkoutRecord,
    load_exercises,
)

_WORKOUT = Workout.__table__.c
_CATEGORY_ID = CATEGORY_COLUMNS[0]
# The workout column behind each field of the reply, and behind each sort key.
FIELD_COLUMNS = {
    "id": "id",
    "notes": "notes",
    "categoryId": "category_id",
    "userId": "user_id",
    "createdAt": "created_at",
    "updatedAt": "updated_at",
}
_WIDTH = len(WORKOUT_COLUMNS)


@dataclass(frozen=True)
class _Shape:
    """What varies between page statements. Values travel as bound parameters."""

    columns: frozenset[str]
    with_category: bool
    sort_by: str
    sort_order: str
    by_category: bool
    created_from: bool
    created_until: bool
    after: bool
    limited: bool


async def list_workouts(
    reader: Reader,
    *,
    user_id: int,
    fields: Iterable[str] = WORKOUT_FIELDS,
    sort_by: str = "createdAt",
    sort_order: str = "desc",
    limit: int | None = None,
    cursor: str | None = None,
    category_id: int | None = None,
    created_from: datetime | None = None,
    created_until: datetime | None = None,
) -> WorkoutPage:
    """Return one page of the user's finished workouts in keyset order, or all without `limit`.

    A page costs three queries whatever its size: workouts with their categories, their
    exercises, and the sets of those exercises. The category and the exercises are read only
    when `fields` includes them.
    """
    requested = set(fields)
    position = decode_cursor(cursor, sort_by=sort_by, sort_order=sort_order) if cursor else None
    shape = _Shape(
        columns=frozenset(
            name for field, name in FIELD_COLUMNS.items() if field in requested or field == sort_by
        ),
        with_category="category" in requested,
        sort_by=sort_by,
        sort_order=sort_order,
        by_category=category_id is not None,
        created_from=created_from is not None,
        created_until=created_until is not None,
        after=position is not None,
        limited=limit is not None,
    )
    params: dict[str, Any] = {
        "user_id": user_id,
        "category_id": category_id,
        "created_from": created_from,
        "created_until": created_until,
    }
    if position is not None:
        params.update(_after(position))
    if limit is not None:
        params["limit"] = limit + 1
    rows = (await reader.execute(_page_statement(shape), params)).all()

    has_more = limit is not None and len(rows) > limit
    if has_more:
        rows = rows[:limit]
    details = [
        WorkoutDetail(
            WorkoutRecord(*row[:_WIDTH]),
            CategoryRecord(*row[_WIDTH:]) if shape.with_category else None,
        )
        for row in rows
    ]
    if "exercises" in requested:
        await load_exercises(reader, details)

    next_cursor = None
    if has_more:
        last = details[-1].workout
        next_cursor = cursor_after(last, sort_by=sort_by, sort_order=sort_order).encode()
    return WorkoutPage(details, has_more, next_cursor)


def _after(position: Cursor) -> dict[str, Any]:
    return {"after_value": position.value, "after_id": position.last_id}


@lru_cache(maxsize=512)
def _page_statement(shape: _Shape) -> Select[Any]:
    """Build the page query for one shape; the few shapes in use are each built once.

    A workout column that `fields` does not ask for is read as NULL, so that rows keep the
    shape of WorkoutRecord. The id is always read, for the cursor and the exercises.
    """
    columns: list[ColumnElement[Any]] = [
        column if column.key in shape.columns or column.key == "id" else null().label(column.key)
        for column in WORKOUT_COLUMNS
    ]
    if shape.with_category:
        columns += CATEGORY_COLUMNS
    query = select(*columns).where(
        _WORKOUT["user_id"] == bindparam("user_id", type_=BigId),
        _WORKOUT["status"] == WORKOUT_FINISHED,
    )
    if shape.with_category:
        query = query.join(_CATEGORY_ID.table, _CATEGORY_ID == _WORKOUT["category_id"])
    if shape.by_category:
        query = query.where(_WORKOUT["category_id"] == bindparam("category_id", type_=BigId))
    if shape.created_from:
        query = query.where(
            _WORKOUT["created_at"] >= bindparam("created_from", type_=UTCDateTime())
        )
    if shape.created_until:
        query = query.where(
            _WORKOUT["created_at"] <= bindparam("created_until", type_=UTCDateTime())
        )
    if shape.after:
        query = query.where(_after_condition(shape.sort_by, shape.sort_order))
    descending = shape.sort_order == "desc"
    keys = ["id"] if shape.sort_by == "id" else [SORT_ATTRIBUTES[shape.sort_by], "id"]
    query = query.order_by(
        *(_WORKOUT[key].desc() if descending else _WORKOUT[key].asc() for key in keys)
    )
    if shape.limited:
        query = query.limit(bindparam("limit", type_=Integer))
    return query


def _after_condition(sort_by: str, sort_order: str) -> ColumnElement[bool]:
    """Rows after the cursor in the page's order, ties on the sort column broken by id."""
    last_id = bindparam("after_id", type_=BigId)
    if sort_by == "id":
        column = _WORKOUT["id"]
        return column < last_id if sort_order == "desc" else column > last_id
    key = tuple_(_WORKOUT[SORT_ATTRIBUTES[sort_by]], _WORKOUT["id"])
    position = tuple_(bindparam("after_value", type_=UTCDateTime()), last_id)
    return key < position if sort_order == "desc" else key > position
