"""Account preferences: time zone, unit, reminder schedule and notification switches."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import Field, StrictBool, field_validator

from server.auth import current_user, services
from server.errors import ValidationFailed, json_response
from server.validation import CamelModel, read_json, validate
from storage import preferences
from storage.models import User
from storage.timezones import is_valid_timezone

routes = web.RouteTableDef()

_TIME = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")
Weekday = Annotated[int, Field(strict=True, ge=1, le=7)]
# Fields that take no null; reminderTime may be null, which turns reminders off.
NOT_NULL = (
    "timezone",
    "unit",
    "reminder_days",
    "notify_achievements",
    "notify_reminders",
    "notify_weekly_summary",
    "notify_email",
)


class PreferencesUpdate(CamelModel):
    """A partial update: only the fields present in the body change."""

    timezone: str | None = Field(default=None, max_length=64)
    unit: Literal["kg", "lb"] | None = None
    reminder_days: Annotated[list[Weekday], Field(max_length=7)] | None = None
    reminder_time: str | None = None
    notify_achievements: StrictBool | None = None
    notify_reminders: StrictBool | None = None
    notify_weekly_summary: StrictBool | None = None
    notify_email: StrictBool | None = None

    @field_validator(*NOT_NULL, mode="before")
    @classmethod
    def _reject_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("invalid: must not be null")
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str | None) -> str | None:
        if value is not None and not is_valid_timezone(value):
            raise ValueError(
                f"invalid time zone {value!r}: use an IANA name such as Europe/Paris or UTC"
            )
        return value

    @field_validator("reminder_days")
    @classmethod
    def _sort_days(cls, value: list[int] | None) -> list[int] | None:
        return sorted(set(value)) if value is not None else None

    @field_validator("reminder_time")
    @classmethod
    def _check_time(cls, value: str | None) -> str | None:
        if value is not None and not _TIME.fullmatch(value):
            raise ValueError(f"invalid time {value!r}: use 24-hour HH:MM, e.g. 18:30")
        return value


FIELDS = {
    PreferencesUpdate.model_fields[name].alias or name: name
    for name in PreferencesUpdate.model_fields
}


@routes.get("/me/preferences")
async def get_preferences(request: web.Request) -> web.Response:
    user_id = current_user(request)
    async with services(request).db.read(primary=True) as session:
        user = await preferences.get_preferences(session, user_id=user_id)
    return json_response(preferences_reply(user))


@routes.patch("/me/preferences")
async def update_preferences(request: web.Request) -> web.Response:
    """Change the preferences present in the body and return all of them."""
    user_id = current_user(request)
    data = await read_json(request)
    if not isinstance(data, dict):
        raise ValidationFailed.field("body", "invalid: expected a JSON object")
    unknown = sorted(set(data) - FIELDS.keys())
    if unknown:
        allowed = ", ".join(FIELDS)
        raise ValidationFailed.field(unknown[0], f"unknown preference: use {allowed}")
    body = validate(PreferencesUpdate, data)
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    async with services(request).write() as session:
        user = await preferences.update_preferences(session, user_id=user_id, changes=changes)
        reply = preferences_reply(user)
    return json_response(reply)


def preferences_reply(user: User) -> dict[str, Any]:
    return {
        "timezone": user.timezone,
        "unit": user.unit,
        "reminderDays": list(user.reminder_days or []),
        "reminderTime": user.reminder_time,
        "notifyAchievements": user.notify_achievements,
        "notifyReminders": user.notify_reminders,
        "notifyWeeklySummary": user.notify_weekly_summary,
        "notifyEmail": user.notify_email,
    }
