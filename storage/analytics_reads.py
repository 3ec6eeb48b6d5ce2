"""Reads of the day and week aggregates: ranges for charts, and training streaks.

A streak is a run of consecutive active days (a day with at least one workout) or of
consecutive active ISO weeks (a week with at least one workout). The current streak is the run
that includes today, or this week, or that ended yesterday, or last week: a day or week that has
not ended yet breaks no streak. Runs are found in SQL with the gaps-and-islands method: numbering
the active days in order and subtracting that number from the day's own number gives the same
value for every day of one run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from storage.analytics import week_start
from storage.models import DailyStats, WeeklyStats

# Day 0 of the day numbers, and week 0 of the week numbers (a Monday).
EPOCH_DAY = date(1970, 1, 1)
EPOCH_MONDAY = date(1970, 1, 5)

# Per dialect: the SQL of a day's number and of an ISO week's number from its Monday.
DAY_NUMBER = {
    "postgresql": "(day - DATE '1970-01-01')",
    "sqlite": "CAST(julianday(day) - julianday('1970-01-01') AS INTEGER)",
}
WEEK_NUMBER = {
    "postgresql": "((week_start - DATE '1970-01-05') / 7)",
    "sqlite": "CAST((julianday(week_start) - julianday('1970-01-05')) / 7 AS INTEGER)",
}

# The run of maximum length (the latest of equal ones), and the latest run.
RUNS_SQL = """
WITH active AS (
    SELECT {number} AS n FROM {table} WHERE user_id = :user_id AND workouts > 0
), numbered AS (
    SELECT n, n - ROW_NUMBER() OVER (ORDER BY n) AS island FROM active
), runs AS (
    SELECT MIN(n) AS run_start, MAX(n) AS run_end, COUNT(*) AS run_length
    FROM numbered GROUP BY island
)
SELECT 'longest' AS kind, run_start, run_end, run_length FROM (
    SELECT * FROM runs ORDER BY run_length DESC, run_end DESC LIMIT 1
) AS longest
UNION ALL
SELECT 'latest' AS kind, run_start, run_end, run_length FROM (
    SELECT * FROM runs ORDER BY run_end DESC LIMIT 1
) AS latest
"""


@dataclass(frozen=True)
class Streak:
    """The current and the longest run, each as a length and the first and last day or Monday."""

    current: int
    current_start: date | None
    current_end: date | None
    longest: int
    longest_start: date | None
    longest_end: date | None


async def list_daily_stats(
    session: AsyncSession, *, user_id: int, start: date, end: date
) -> list[DailyStats]:
    """Return the user's day rows from `start` to `end`, both included. Idle days have none."""
    result = await session.scalars(
        select(DailyStats)
        .where(DailyStats.user_id == user_id, DailyStats.day >= start, DailyStats.day <= end)
        .order_by(DailyStats.day)
    )
    return list(result)


async def list_weekly_stats(
    session: AsyncSession, *, user_id: int, start: date, end: date
) -> list[WeeklyStats]:
    """Return the user's rows of the ISO weeks that contain a day from `start` to `end`."""
    first = week_start(start).isocalendar()
    last = week_start(end).isocalendar()
    week = tuple_(WeeklyStats.iso_year, WeeklyStats.iso_week)
    result = await session.scalars(
        select(WeeklyStats)
        .where(
            WeeklyStats.user_id == user_id,
            week >= tuple_(first.year, first.week),
            week <= tuple_(last.year, last.week),
        )
        .order_by(WeeklyStats.iso_year, WeeklyStats.iso_week)
    )
    return list(result)


async def get_streaks(session: AsyncSession, *, user_id: int, today: date) -> tuple[Streak, Streak]:
    """Return the day streak and the week streak of a user, given the user's local date."""
    dialect = session.get_bind().dialect.name
    days = await _runs(session, user_id, table="daily_stats", number=DAY_NUMBER[dialect])
    weeks = await _runs(session, user_id, table="weekly_stats", number=WEEK_NUMBER[dialect])
    today_number = (today - EPOCH_DAY).days
    this_week = (week_start(today) - EPOCH_MONDAY).days // 7
    return (
        _streak(days, today_number, lambda n: EPOCH_DAY + timedelta(days=n)),
        _streak(weeks, this_week, lambda n: EPOCH_MONDAY + timedelta(weeks=n)),
    )


Run = tuple[int, int, int]


async def _runs(session: AsyncSession, user_id: int, *, table: str, number: str) -> dict[str, Run]:
    result = await session.execute(
        text(RUNS_SQL.format(table=table, number=number)), {"user_id": user_id}
    )
    return {row.kind: (int(row.run_start), int(row.run_end), int(row.run_length)) for row in result}


def _streak(runs: dict[str, Run], now: int, convert: Callable[[int], date]) -> Streak:
    longest = runs.get("longest")
    latest = runs.get("latest")
    # The run is current while it reaches the present period or the one just before it.
    current = latest if latest is not None and latest[1] >= now - 1 else None
    return Streak(
        current=current[2] if current else 0,
        current_start=convert(current[0]) if current else None,
        current_end=convert(current[1]) if current else None,
        longest=longest[2] if longest else 0,
        longest_start=convert(longest[0]) if longest else None,
        longest_end=convert(longest[1]) if longest else None,
    )
