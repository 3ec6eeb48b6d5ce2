"""Request models and reply shapes of the categories and workouts API."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import (
    BeforeValidator,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from server.errors import NotFound, ValidationFailed
from server.validation import CamelModel
from storage.measures import MAX_REPS, MAX_VALUE
from storage.models import Category
from storage.types import to_utc
from storage.workout_rows import (
    WORKOUT_FIELDS,
    CategoryRecord,
    ExerciseDetail,
    ExerciseRows,
    WorkoutDetail,
    WorkoutPage,
)
from storage.workouts import ExerciseHistory, NewExercise, NewSet

ExerciseType = Literal["weight", "time", "distance"]
UNITS: dict[str, tuple[str, ...]] = {
    "weight": ("kg", "g", "lb"),
    "time": ("seconds", "minutes"),
    "distance": ("km", "m", "mi"),
}
DEFAULT_UNITS = {"weight": "kg", "time": "seconds", "distance": "km"}

# The database stores ids as signed 64-bit integers, so no other value can name a row.
_ID_PATTERN = re.compile(r"[0-9]{1,19}")
_MAX_ID = 2**63 - 1

# Bounds that keep values inside their columns and reject obvious typing mistakes.
MAX_ORDER = 1_000_000
MAX_REST_MINUTES = 10_000
MAX_NOTES = 10_000

Notes = Annotated[str | None, Field(max_length=MAX_NOTES)]
Order = Annotated[int | None, Field(strict=True, ge=-MAX_ORDER, le=MAX_ORDER)]
ExerciseName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
]
CategoryName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)
]
Color = Annotated[str | None, Field(max_length=32)]


def _id_text(value: object) -> object:
    # bool is a subclass of int, and True is no id.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise ValueError("invalid id: expected a string")
    return value


# A client sends back the string ids it was given. A number is accepted as well.
IdValue = Annotated[str, BeforeValidator(_id_text)]


# ---- request models ----------------------------------------------------------------------


class SetBody(CamelModel):
    order: Order = None
    value: float | None = Field(default=None, strict=True, ge=0, le=MAX_VALUE)
    reps: int = Field(strict=True, ge=0, le=MAX_REPS)
    rest_minutes: float | None = Field(default=None, strict=True, ge=0, le=MAX_REST_MINUTES)


class ExerciseBody(CamelModel):
    type: ExerciseType
    name: ExerciseName
    unit: str | None = Field(default=None, validate_default=True)
    notes: Notes = None
    order: Order = None
    sets_detail: Annotated[list[SetBody], Field(max_length=100)] | None = None

    @field_validator("unit")
    @classmethod
    def _check_unit(cls, value: str | None, info: ValidationInfo) -> str | None:
        kind = info.data.get("type")
        if kind is None:  # the invalid type is reported by its own error
            return value
        if value is None:
            return DEFAULT_UNITS[kind]
        if value not in UNITS[kind]:
            allowed = ", ".join(UNITS[kind])
            raise ValueError(f"invalid unit {value!r} for type {kind!r}: use one of {allowed}")
        return value

    def to_new(self, position: int) -> NewExercise:
        """Convert to the storage form, where a missing order becomes the 1-based position."""
        if self.sets_detail:
            sets = [
                NewSet(
                    order=index + 1 if item.order is None else item.order,
                    value=item.value,
                    reps=item.reps,
                    rest_minutes=item.rest_minutes,
                )
                for index, item in enumerate(self.sets_detail)
            ]
        else:
            sets = [NewSet(order=1, value=0.0, reps=1, rest_minutes=1.0)]
        assert self.unit is not None  # filled in by _check_unit
        return NewExercise(
            type=self.type,
            name=self.name,
            unit=self.unit,
            notes=self.notes,
            order=position + 1 if self.order is None else self.order,
            sets=sets,
        )


Exercises = Annotated[list[ExerciseBody], Field(min_length=1, max_length=100)]


class WorkoutCreate(CamelModel):
    category_id: IdValue
    notes: Notes = None
    exercises: Exercises

    def new_exercises(self) -> list[NewExercise]:
        return [exercise.to_new(index) for index, exercise in enumerate(self.exercises)]


class WorkoutUpdate(CamelModel):
    """A partial workout. The mobile client also sends `oldCategoryId`, which is ignored."""

    category_id: IdValue | None = None
    notes: Notes = None
    exercises: Exercises | None = None

    def new_exercises(self) -> list[NewExercise] | None:
        if self.exercises is None:
            return None
        return [exercise.to_new(index) for index, exercise in enumerate(self.exercises)]


class CategoryCreate(CamelModel):
    name: CategoryName
    color: Color = None


class CategoryUpdate(CamelModel):
    name: CategoryName | None = None
    color: Color = None

    @field_validator("name", mode="before")
    @classmethod
    def _reject_null_name(cls, value: object) -> object:
        if value is None:
            raise ValueError("invalid name: a category name cannot be null")
        return value


class WorkoutListQuery(CamelModel):
    limit: int = Field(default=20, ge=1, le=100)
    sort_by: Literal["createdAt", "updatedAt", "id"] = "createdAt"
    sort_order: Literal["asc", "desc"] = "desc"
    cursor: str | None = Field(default=None, max_length=1000)
    fields: str | None = Field(default=None, max_length=1000)


class CategoryWorkoutsQuery(CamelModel):
    include_progress: bool = False
    start_date: str | None = Field(default=None, max_length=64)
    end_date: str | None = Field(default=None, max_length=64)
    limit: int | None = Field(default=None, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=1000)
    fields: str | None = Field(default=None, max_length=1000)

    def date_range(self) -> tuple[datetime | None, datetime | None]:
        """Return the inclusive createdAt bounds. A date alone covers that whole UTC day."""
        start = parse_instant(self.start_date, "startDate", end_of_day=False)
        end = parse_instant(self.end_date, "endDate", end_of_day=True)
        if start is not None and end is not None and start > end:
            raise ValidationFailed.field("startDate", "invalid: startDate is after endDate")
        return start, end


# ---- parsing helpers ---------------------------------------------------------------------


def query_params(request: web.Request) -> dict[str, str]:
    """Return the query string as a dict, treating an empty value as an absent one."""
    return {key: value for key, value in request.query.items() if value != ""}


def path_id(request: web.Request, name: str, *, resource: str) -> int:
    """Return the numeric id in the path, raising NotFound for one that cannot exist."""
    value = parse_id(request.match_info[name])
    if value is None:
        raise NotFound(f"{resource} not found")
    return value


def body_id(value: str, *, resource: str) -> int:
    parsed = parse_id(value)
    if parsed is None:
        raise NotFound(f"{resource} not found")
    return parsed


def parse_id(value: str) -> int | None:
    if not _ID_PATTERN.fullmatch(value):
        return None
    parsed = int(value)
    return parsed if 0 < parsed <= _MAX_ID else None


def parse_fields(value: str | None) -> frozenset[str]:
    """Parse `fields=id,notes,...` into field names, or all of them when it is absent."""
    if value is None:
        return frozenset(WORKOUT_FIELDS)
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in WORKOUT_FIELDS]
    if unknown:
        allowed = ", ".join(WORKOUT_FIELDS)
        raise ValidationFailed.field("fields", f"unknown field {unknown[0]!r}: use {allowed}")
    return frozenset(names) if names else frozenset(WORKOUT_FIELDS)


def parse_instant(value: str | None, field: str, *, end_of_day: bool) -> datetime | None:
    """Parse an ISO 8601 date or date-time, taking one without an offset as UTC."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime.combine(day, time.max if end_of_day else time.min, UTC)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationFailed.field(
            field, f"invalid date {value!r}: use ISO 8601, e.g. 2024-05-01 or 2024-05-01T10:00:00Z"
        ) from None
    if moment.utcoffset() is None:
        return moment.replace(tzinfo=UTC)
    try:
        return to_utc(moment)
    except ValueError as error:
        raise ValidationFailed.field(field, f"invalid date {value!r}: {error}") from None


# ---- replies -----------------------------------------------------------------------------


def iso(value: datetime) -> str:
    """Format a timestamp as UTC ISO 8601 with milliseconds and `Z`, as JavaScript does."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def category_reply(
    category: Category | CategoryRecord, *, workout_count: int | None = None
) -> dict[str, Any]:
    reply: dict[str, Any] = {
        "id": str(category.id),
        "name": category.name,
        "color": category.color,
        "userId": str(category.user_id),
        "createdAt": iso(category.created_at),
        "updatedAt": iso(category.updated_at),
    }
    if workout_count is not None:
        reply["_count"] = {"workouts": workout_count}
    return reply


# The builder of each field of a workout reply, from a WorkoutDetail.
_WORKOUT_PARTS: dict[str, Callable[[WorkoutDetail], Any]] = {
    "id": lambda detail: str(detail.workout.id),
    "notes": lambda detail: detail.workout.notes,
    "categoryId": lambda detail: str(detail.workout.category_id),
    "userId": lambda detail: str(detail.workout.user_id),
    "createdAt": lambda detail: iso(detail.workout.created_at),
    "updatedAt": lambda detail: iso(detail.workout.updated_at),
    "category": lambda detail: None if detail.category is None else category_reply(detail.category),
    "exercises": lambda detail: [exercise_reply(item) for item in detail.exercises or ()],
}


def workout_reply(detail: WorkoutDetail, fields: Iterable[str] = WORKOUT_FIELDS) -> dict[str, Any]:
    """Shape a workout with the keys in `fields`, in the order of WORKOUT_FIELDS."""
    requested = fields if isinstance(fields, frozenset | set) else set(fields)
    return {name: make(detail) for name, make in _WORKOUT_PARTS.items() if name in requested}


def exercise_reply(detail: ExerciseDetail | ExerciseRows) -> dict[str, Any]:
    exercise = detail.exercise
    return {
        "id": str(exercise.id),
        "workoutId": str(exercise.workout_id),
        "type": exercise.type,
        "name": exercise.name,
        "unit": exercise.unit,
        "notes": exercise.notes,
        "order": exercise.order,
        "setsDetail": [
            {
                "id": str(item.id),
                "exerciseId": str(item.exercise_id),
                "order": item.order,
                "value": item.value,
                "reps": item.reps,
                "restMinutes": item.rest_minutes,
            }
            for item in detail.sets
        ],
    }


def page_reply(page: WorkoutPage, fields: Iterable[str]) -> dict[str, Any]:
    return {
        "workouts": [workout_reply(detail, fields) for detail in page.workouts],
        "pagination": {"hasMore": page.has_more, "nextCursor": page.next_cursor},
    }


def history_reply(history: Iterable[ExerciseHistory]) -> dict[str, Any]:
    """Shape the per-exercise history as `{"<name>-<type>": {name, type, progress: [...]}}`."""
    reply: dict[str, Any] = {}
    for item in history:
        reply[f"{item.name}-{item.type}"] = {
            "name": item.name,
            "type": item.type,
            "progress": [
                {
                    "date": iso(entry.date),
                    "volume": entry.volume,
                    "sets": entry.sets,
                    "reps": entry.reps,
                    "maxWeight": entry.max_weight,
                    "unit": entry.unit,
                }
                for entry in item.entries
            ],
        }
    return reply
