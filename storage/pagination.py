"""Keyset pagination of workouts: opaque cursors and the row-value condition they stand for."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import ColumnElement, literal, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from server.errors import ValidationFailed
from storage.models import Workout
from storage.types import BigId, UTCDateTime

SORT_COLUMNS: dict[str, InstrumentedAttribute[Any]] = {
    "createdAt": Workout.created_at,
    "updatedAt": Workout.updated_at,
    "id": Workout.id,
}
MAX_ID = 2**63 - 1
_INVALID = "invalid cursor: pass the nextCursor of the previous page unchanged"


@dataclass(frozen=True)
class Cursor:
    """The position after the last row of a page, for one sort key and order."""

    sort_by: str
    sort_order: str
    value: datetime | None
    last_id: int

    def encode(self) -> str:
        """Return the cursor as unpadded URL-safe base64 of JSON, safe in a query string."""
        data = {
            "s": self.sort_by,
            "o": self.sort_order,
            "v": None if self.value is None else self.value.astimezone(UTC).isoformat(),
            "i": str(self.last_id),
        }
        return base64.urlsafe_b64encode(orjson.dumps(data)).rstrip(b"=").decode()


def cursor_after(workout: Workout, *, sort_by: str, sort_order: str) -> Cursor:
    value = None if sort_by == "id" else getattr(workout, SORT_COLUMNS[sort_by].key)
    return Cursor(sort_by=sort_by, sort_order=sort_order, value=value, last_id=workout.id)


def decode_cursor(token: str, *, sort_by: str, sort_order: str) -> Cursor:
    """Parse a cursor, rejecting one that is malformed or was made for another sort."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = orjson.loads(raw)
        cursor = Cursor(
            sort_by=data["s"],
            sort_order=data["o"],
            value=None if data["v"] is None else datetime.fromisoformat(data["v"]),
            last_id=int(data["i"]),
        )
    except (binascii.Error, orjson.JSONDecodeError, ValueError, TypeError, KeyError):
        raise ValidationFailed.field("cursor", _INVALID) from None
    if cursor.sort_by != sort_by or cursor.sort_order != sort_order:
        raise ValidationFailed.field(
            "cursor",
            f"invalid cursor: it was made for sortBy={cursor.sort_by} sortOrder="
            f"{cursor.sort_order}, not sortBy={sort_by} sortOrder={sort_order}",
        )
    if sort_by == "id":
        valid = cursor.value is None
    else:
        valid = cursor.value is not None and cursor.value.tzinfo is not None
    if not valid or not 0 < cursor.last_id <= MAX_ID:
        raise ValidationFailed.field("cursor", _INVALID)
    return cursor


def after_cursor(cursor: Cursor) -> ColumnElement[bool]:
    """Return the condition for rows after the cursor in its order, ties broken by id."""
    last_id = literal(cursor.last_id, BigId)
    if cursor.sort_by == "id":
        return Workout.id < last_id if cursor.sort_order == "desc" else Workout.id > last_id
    column = SORT_COLUMNS[cursor.sort_by]
    key = tuple_(column, Workout.id)
    position = tuple_(literal(cursor.value, UTCDateTime()), last_id)
    return key < position if cursor.sort_order == "desc" else key > position


def order_by(sort_by: str, sort_order: str) -> list[ColumnElement[Any]]:
    columns = [Workout.id] if sort_by == "id" else [SORT_COLUMNS[sort_by], Workout.id]
    return [column.desc() if sort_order == "desc" else column.asc() for column in columns]
