"""Request models and reply shapes of live sessions, shared by REST and Socket.IO."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator

from server.routes.auth import EMAIL_PATTERN
from server.schemas import (
    MAX_REST_MINUTES,
    UNITS,
    ExerciseName,
    ExerciseType,
    IdValue,
    Notes,
    category_reply,
    iso,
)
from server.validation import CamelModel
from storage.categories import KEEP, Keep
from storage.grants import Watcher
from storage.measures import MAX_REPS, MAX_VALUE
from storage.models import Category, Exercise, Workout, WorkoutSet
from storage.session_sets import LoggedSet, SessionExercise
from storage.sessions import SessionState, running_timer
from storage.types import to_utc, utcnow

MAX_TIMER_SECONDS = 3600
# How far ahead of the server clock a client may date a set, for clocks that run fast.
MAX_CLOCK_AHEAD = timedelta(days=1)
_CLIENT_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def _check_client_id(value: str) -> str:
    if not _CLIENT_ID.fullmatch(value):
        raise ValueError(
            "invalid clientId: use 1 to 64 letters, digits, '.', '_', ':' or '-', e.g. a UUID"
        )
    return value


def _check_performed_at(value: datetime | None) -> datetime | None:
    """Convert a set's time to UTC, reading one without an offset as UTC.

    Raises ValueError for a time more than MAX_CLOCK_AHEAD ahead of the server clock, as a
    device with a wrong clock sends, and for one outside the years 1 to 9999 in UTC.
    """
    if value is None:
        return None
    moment = value.replace(tzinfo=UTC) if value.utcoffset() is None else to_utc(value)
    latest = utcnow() + MAX_CLOCK_AHEAD
    if moment > latest:
        raise ValueError(
            f"invalid: {iso(moment)} is more than a day ahead of the server clock "
            f"(latest accepted {iso(latest)}). Check the device's date and time"
        )
    return moment


ClientId = Annotated[str, Field(strict=True), AfterValidator(_check_client_id)]
Value = Annotated[float | None, Field(strict=True, ge=0, le=MAX_VALUE)]
Reps = Annotated[int, Field(strict=True, ge=0, le=MAX_REPS)]
RestMinutes = Annotated[float | None, Field(strict=True, ge=0, le=MAX_REST_MINUTES)]


# ---- request models ----------------------------------------------------------------------


class SessionCreate(CamelModel):
    category_id: IdValue
    notes: Notes = None


class SessionExerciseBody(CamelModel):
    type: ExerciseType
    name: ExerciseName
    # Absent: the unit the exercise already has in the session, or the type's default.
    unit: str | None = None

    @field_validator("unit")
    @classmethod
    def _check_unit(cls, value: str | None, info: ValidationInfo) -> str | None:
        kind = info.data.get("type")
        if value is None or kind is None:  # an invalid type is reported by its own error
            return value
        if value not in UNITS[kind]:
            allowed = ", ".join(UNITS[kind])
            raise ValueError(f"invalid unit {value!r} for type {kind!r}: use one of {allowed}")
        return value

    def to_storage(self) -> SessionExercise:
        return SessionExercise(type=self.type, name=self.name, unit=self.unit)


class SetLog(CamelModel):
    client_id: ClientId
    exercise: SessionExerciseBody
    value: Value = None
    reps: Reps
    rest_minutes: RestMinutes = None
    # When the set was done, by the client's clock; absent means now by the server's.
    performed_at: Annotated[datetime | None, AfterValidator(_check_performed_at)] = None


class SetUpdate(CamelModel):
    value: Value = None
    reps: Reps | None = None
    rest_minutes: RestMinutes = None

    @field_validator("reps", mode="before")
    @classmethod
    def _reject_null_reps(cls, value: object) -> object:
        if value is None:
            raise ValueError("invalid reps: a set needs a number of reps, not null")
        return value

    @model_validator(mode="after")
    def _require_a_change(self) -> SetUpdate:
        if not self.model_fields_set & {"value", "reps", "rest_minutes"}:
            raise ValueError("missing change: send at least one of value, reps, restMinutes")
        return self

    def new_value(self) -> float | None | Keep:
        return self.value if "value" in self.model_fields_set else KEEP

    def new_rest_minutes(self) -> float | None | Keep:
        return self.rest_minutes if "rest_minutes" in self.model_fields_set else KEEP


class TimerStart(CamelModel):
    seconds: int = Field(strict=True, ge=1, le=MAX_TIMER_SECONDS)


class WatcherCreate(CamelModel):
    email: str = Field(max_length=254)

    @field_validator("email")
    @classmethod
    def _normalize_email(cls, value: str) -> str:
        value = value.strip().lower()
        if not EMAIL_PATTERN.match(value):
            raise ValueError("invalid email address")
        return value


# Socket.IO payloads: the REST body plus the ids that REST takes from the path.


class SessionRef(CamelModel):
    session_id: IdValue


class SetRef(SessionRef):
    client_id: ClientId


class SocketSetLog(SetLog, SessionRef):
    pass


class SocketSetUpdate(SetUpdate, SetRef):
    pass


class SocketTimerStart(TimerStart, SessionRef):
    pass


# ---- replies -----------------------------------------------------------------------------


def session_reply(state: SessionState, watchers: list[Watcher] | None = None) -> dict[str, Any]:
    """Shape a session in full; `watchers` is given to the owner only."""
    reply = _session_fields(state.workout, state.category)
    reply["exercises"] = [
        {
            "id": str(item.exercise.id),
            "workoutId": str(item.exercise.workout_id),
            "type": item.exercise.type,
            "name": item.exercise.name,
            "unit": item.exercise.unit,
            "notes": item.exercise.notes,
            "order": item.exercise.order,
            "setsDetail": [_set_fields(row) for row in item.sets],
        }
        for item in state.exercises
    ]
    if watchers is not None:
        reply["watchers"] = [watcher_reply(watcher) for watcher in watchers]
    return reply


def session_summary_reply(workout: Workout, category: Category, *, user_id: int) -> dict[str, Any]:
    reply = _session_fields(workout, category)
    reply["role"] = "owner" if workout.user_id == user_id else "watcher"
    return reply


def logged_set_reply(logged: LoggedSet) -> dict[str, Any]:
    """Shape a set with its exercise, as POST /sessions/{id}/sets and set events carry it."""
    exercise: Exercise = logged.exercise
    reply = _set_fields(logged.set)
    reply["exercise"] = {
        "id": str(exercise.id),
        "name": exercise.name,
        "type": exercise.type,
        "unit": exercise.unit,
        "order": exercise.order,
    }
    return reply


def timer_reply(workout: Workout) -> dict[str, str] | None:
    ends_at = running_timer(workout)
    return None if ends_at is None else {"endsAt": iso(ends_at)}


def watcher_reply(watcher: Watcher) -> dict[str, Any]:
    return {
        "userId": str(watcher.user_id),
        "email": watcher.email,
        "createdAt": iso(watcher.created_at),
    }


def _session_fields(workout: Workout, category: Category) -> dict[str, Any]:
    return {
        "id": str(workout.id),
        "userId": str(workout.user_id),
        "categoryId": str(workout.category_id),
        "category": category_reply(category),
        "notes": workout.notes,
        "status": workout.status,
        "createdAt": iso(workout.created_at),
        "updatedAt": iso(workout.updated_at),
        "finishedAt": iso(workout.finished_at) if workout.finished_at else None,
        "timer": timer_reply(workout),
    }


def _set_fields(item: WorkoutSet) -> dict[str, Any]:
    return {
        "id": str(item.id),
        "clientId": item.client_id,
        "exerciseId": str(item.exercise_id),
        "order": item.order,
        "value": item.value,
        "reps": item.reps,
        "restMinutes": item.rest_minutes,
        "performedAt": iso(item.performed_at) if item.performed_at else None,
    }
