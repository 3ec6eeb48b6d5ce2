"""Keyset pagination of workouts: opaque cursors that hold the position after a page."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import orjson

from server.errors import ValidationFailed
from storage.types import to_utc

# The attribute of a workout that each sort key orders by, after which ties go by id.
SORT_ATTRIBUTES = {"createdAt": "created_at", "updatedAt": "updated_at", "id": "id"}
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


class Sortable(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...


def cursor_after(workout: Sortable, *, sort_by: str, sort_order: str) -> Cursor:
    value = None if sort_by == "id" else getattr(workout, SORT_ATTRIBUTES[sort_by])
    return Cursor(sort_by=sort_by, sort_order=sort_order, value=value, last_id=workout.id)


def decode_cursor(token: str, *, sort_by: str, sort_order: str) -> Cursor:
    """Parse a cursor, rejecting one that is malformed or was made for another sort."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = orjson.loads(raw)
        cursor = Cursor(
            sort_by=data["s"],
            sort_order=data["o"],
            value=None if data["v"] is None else to_utc(datetime.fromisoformat(data["v"])),
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
        valid = cursor.value is not None
    if not valid or not 0 < cursor.last_id <= MAX_ID:
        raise ValidationFailed.field("cursor", _INVALID)
    return cursor
