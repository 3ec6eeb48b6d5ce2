"""Reply bodies of the REST API as typed dicts, from which the OpenAPI schemas are generated.

Keys are the camelCase keys on the wire. Ids are strings of digits, except job ids, which are
UUIDs. Timestamps are UTC ISO 8601 strings with milliseconds and `Z`; dates are YYYY-MM-DD.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired

from pydantic import Field
from typing_extensions import TypedDict

JobState = Literal["queued", "running", "retrying", "succeeded", "failed"]
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
Day = Annotated[str, Field(json_schema_extra={"format": "date"})]


class ErrorDetail(TypedDict):
    field: str
    message: str


class ErrorReply(TypedDict):
    """The body of every error reply."""

    error: str
    details: NotRequired[Annotated[list[ErrorDetail], Field(description="For invalid input")]]


class Pagination(TypedDict):
    hasMore: bool
    nextCursor: Annotated[str | None, Field(description="Pass as `cursor` for the next page")]


class Success(TypedDict):
    success: bool


class JobStarted(TypedDict):
    """A job was queued; follow it at GET /jobs/{jobId}."""

    jobId: str
    state: JobState


# ---- health and accounts -----------------------------------------------------------------


class Health(TypedDict):
    status: Literal["ok"]


class Readiness(TypedDict):
    status: Literal["ok", "unavailable"]
    checks: Annotated[
        dict[str, str], Field(description="`database` and `redis`: ok, or why it is unavailable")
    ]


class Registered(TypedDict):
    id: str


class Tokens(TypedDict):
    accessToken: str
    refreshToken: str
    userId: str
    email: str
    role: str


class Account(TypedDict):
    id: str
    email: str
    role: str
    timezone: str


class Preferences(TypedDict):
    timezone: Annotated[str, Field(description="IANA time zone name")]
    unit: Literal["kg", "lb"]
    reminderDays: Annotated[list[int], Field(description="ISO weekdays, 1 is Monday")]
    reminderTime: Annotated[
        str | None, Field(description="HH:MM in local time, or null for no reminders")
    ]
    notifyAchievements: bool
    notifyReminders: bool
    notifyWeeklySummary: bool
    notifyEmail: bool


# ---- notifications -----------------------------------------------------------------------


class Notification(TypedDict):
    id: str
    kind: str
    title: str
    body: str
    data: dict[str, Any]
    read: bool
    createdAt: Timestamp
    readAt: Timestamp | None


class NotificationPage(TypedDict):
    notifications: list[Notification]
    pagination: Pagination


class UnreadCount(TypedDict):
    unread: int


class MarkedRead(TypedDict):
    marked: Annotated[int, Field(description="Notifications that were unread until now")]
    unread: int


# ---- analytics ---------------------------------------------------------------------------


class DayFigures(TypedDict):
    date: Day
    workouts: int
    sets: int
    reps: int
    volume: Annotated[float, Field(description="Weight volume in kilograms")]


class DailyStats(TypedDict):
    timezone: str
    from_: Annotated[Day, Field(alias="from")]
    to: Day
    days: list[DayFigures]


class WeekFigures(TypedDict):
    weekStart: Annotated[Day, Field(description="The week's Monday")]
    isoYear: int
    isoWeek: int
    workouts: int
    sets: int
    reps: int
    volume: Annotated[float, Field(description="Weight volume in kilograms")]
    activeDays: int


class WeeklyStats(TypedDict):
    timezone: str
    from_: Annotated[Day, Field(alias="from")]
    to: Day
    weeks: list[WeekFigures]


class Streak(TypedDict):
    """Runs of consecutive active days or ISO weeks, counted in days or weeks."""

    current: int
    currentStart: Day | None
    currentEnd: Day | None
    longest: int
    longestStart: Day | None
    longestEnd: Day | None


class Streaks(TypedDict):
    timezone: str
    today: Day
    days: Streak
    weeks: Streak


class Trend(TypedDict):
    name: str
    nameKey: str
    slopeKgPerWeek: Annotated[
        float | None,
        Field(description="Slope of the Epley one-rep max; null without 2 points at 2 times"),
    ]
    points: int
    since: Timestamp


class Trends(TypedDict):
    from_: Annotated[Timestamp, Field(alias="from")]
    to: Timestamp
    exercises: list[Trend]
