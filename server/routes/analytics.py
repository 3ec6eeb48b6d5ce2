"""Training analytics: daily and weekly figures, streaks and one-rep-max trends.

Days and weeks are the user's local days and ISO weeks (Monday first) in the time zone of the
account. Volume is weight volume in kilograms.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from aiohttp import web

from server.auth import current_user, services
from server.errors import ValidationFailed, json_response
from server.schemas import iso
from storage.analytics import get_user_zone, local_today, week_start
from storage.analytics_reads import Streak, get_streaks, list_daily_stats, list_weekly_stats
from storage.models import DailyStats, WeeklyStats
from storage.trends import WINDOW as TREND_WINDOW
from storage.trends import list_trends
from storage.types import utcnow

routes = web.RouteTableDef()

# Maximum range of one request, in days with both ends included.
MAX_DAILY_DAYS = 366
MAX_WEEKLY_DAYS = 5 * 366
# Ranges used when `from` is missing, ending on `to`.
DEFAULT_DAILY_DAYS = 30
DEFAULT_WEEKLY_DAYS = 12 * 7

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@routes.get("/analytics/daily")
async def get_daily(request: web.Request) -> web.Response:
    """Return each local day from `from` to `to` (YYYY-MM-DD, both included), idle days too."""
    user_id = current_user(request)
    async with services(request).db.read(primary=True) as session:
        zone = await get_user_zone(session, user_id=user_id)
        start, end = date_range(
            request.query,
            today=local_today(zone),
            default_days=DEFAULT_DAILY_DAYS,
            max_days=MAX_DAILY_DAYS,
        )
        rows = await list_daily_stats(session, user_id=user_id, start=start, end=end)
    by_day = {row.day: row for row in rows}
    days = []
    for offset in range((end - start).days + 1):
        day = start + timedelta(days=offset)
        days.append({"date": day.isoformat(), **_figures(by_day.get(day))})
    return json_response(
        {"timezone": zone.key, "from": start.isoformat(), "to": end.isoformat(), "days": days}
    )


@routes.get("/analytics/weekly")
async def get_weekly(request: web.Request) -> web.Response:
    """Return each ISO week that contains a day from `from` to `to`, idle weeks too."""
    user_id = current_user(request)
    async with services(request).db.read(primary=True) as session:
        zone = await get_user_zone(session, user_id=user_id)
        start, end = date_range(
            request.query,
            today=local_today(zone),
            default_days=DEFAULT_WEEKLY_DAYS,
            max_days=MAX_WEEKLY_DAYS,
        )
        rows = await list_weekly_stats(session, user_id=user_id, start=start, end=end)
    by_week = {row.week_start: row for row in rows}
    weeks = []
    first_monday = week_start(start)
    # Counting the weeks, not stepping a date past `end`, keeps the last step inside year 9999.
    for offset in range((end - first_monday).days // 7 + 1):
        monday = first_monday + timedelta(weeks=offset)
        row = by_week.get(monday)
        iso_week = monday.isocalendar()
        weeks.append(
            {
                "weekStart": monday.isoformat(),
                "isoYear": iso_week.year,
                "isoWeek": iso_week.week,
                **_figures(row),
                "activeDays": row.active_days if row is not None else 0,
            }
        )
    return json_response(
        {"timezone": zone.key, "from": start.isoformat(), "to": end.isoformat(), "weeks": weeks}
    )


@routes.get("/analytics/streaks")
async def get_streaks_reply(request: web.Request) -> web.Response:
    """Return the current and longest runs of consecutive active days and ISO weeks."""
    user_id = current_user(request)
    async with services(request).db.read(primary=True) as session:
        zone = await get_user_zone(session, user_id=user_id)
        today = local_today(zone)
        days, weeks = await get_streaks(session, user_id=user_id, today=today)
    return json_response(
        {
            "timezone": zone.key,
            "today": today.isoformat(),
            "days": _streak_reply(days),
            "weeks": _streak_reply(weeks),
        }
    )


@routes.get("/analytics/trends")
async def get_trends(request: web.Request) -> web.Response:
    """Return the slope of each exercise's estimated one-rep max over the last 8 weeks."""
    user_id = current_user(request)
    now = utcnow()
    async with services(request).db.read(primary=True) as session:
        trends = await list_trends(session, user_id=user_id, now=now)
    exercises = [
        {
            "name": trend.name,
            "nameKey": trend.name_key,
            "slopeKgPerWeek": trend.slope_kg_per_week,
            "points": trend.points,
            "since": iso(trend.since),
        }
        for trend in trends
    ]
    return json_response({"from": iso(now - TREND_WINDOW), "to": iso(now), "exercises": exercises})


def date_range(
    query: Mapping[str, str], *, today: date, default_days: int, max_days: int
) -> tuple[date, date]:
    """Read `from` and `to`. `to` defaults to today, and `from` to `default_days` days before."""
    end = _parse_date(query, "to") or today
    # The default range stops at 0001-01-01, the first day a date can hold.
    default_start = end - timedelta(days=min(default_days - 1, (end - date.min).days))
    start = _parse_date(query, "from") or default_start
    if start > end:
        raise ValidationFailed.field(
            "from", f"invalid: {start.isoformat()} is after to ({end.isoformat()})"
        )
    length = (end - start).days + 1
    if length > max_days:
        raise ValidationFailed.field(
            "to", f"invalid: the range spans {length} days, more than the limit of {max_days}"
        )
    return start, end


def _parse_date(query: Mapping[str, str], field: str) -> date | None:
    value = query.get(field, "")
    if value == "":
        return None
    if not _DATE.fullmatch(value):
        raise ValidationFailed.field(field, f"invalid date {value[:40]!r}: expected YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed.field(field, f"invalid date {value!r}: no such day") from None


def _figures(row: DailyStats | WeeklyStats | None) -> dict[str, Any]:
    if row is None:
        return {"workouts": 0, "sets": 0, "reps": 0, "volume": 0.0}
    return {
        "workouts": row.workouts,
        "sets": row.sets,
        "reps": row.reps,
        "volume": round(row.volume, 4),
    }


def _streak_reply(streak: Streak) -> dict[str, Any]:
    def day(value: date | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "current": streak.current,
        "currentStart": day(streak.current_start),
        "currentEnd": day(streak.current_end),
        "longest": streak.longest,
        "longestStart": day(streak.longest_start),
        "longestEnd": day(streak.longest_end),
    }
