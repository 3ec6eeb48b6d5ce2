"""Streaks and one-rep-max trends, against hand-computed values, on both back ends."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from storage.analytics_reads import Streak, get_streaks
from storage.db import Database
from storage.trends import Trend, list_trends
from tests.analytics_data import add_workout, make_user, run_job

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


async def add_days(db: Database, user_id: int, category_id: int, days: list[date]) -> None:
    """Add one workout at 10:00 UTC, the same day in Paris, on each of `days`."""
    ids = []
    for day in days:
        when = datetime(day.year, day.month, day.day, 10, tzinfo=UTC)
        ids.append(await add_workout(db, user_id, category_id, when))
    await run_job(db, user_id, ids)


async def streaks(db: Database, user_id: int, today: date) -> tuple[Streak, Streak]:
    async with db.read() as session:
        return await get_streaks(session, user_id=user_id, today=today)


async def trends(db: Database, user_id: int) -> dict[str, Trend]:
    async with db.read() as session:
        return {t.name_key: t for t in await list_trends(session, user_id=user_id, now=NOW)}


async def one_rep(
    db: Database, user_id: int, category_id: int, name: str, days_ago: float, load: float
) -> int:
    """Add a workout with one single-rep set, whose estimated one-rep max is the load."""
    when = NOW - timedelta(days=days_ago)
    workout = await add_workout(db, user_id, category_id, when, [(name, "weight", [(load, 1)])])
    await run_job(db, user_id, [workout])
    return workout


@pytest.fixture
async def training(db: Database) -> int:
    """A user active on three runs of days, which make two runs of ISO weeks.

    Days: 3 (Mar 2-4), 1 (Mar 10) and 2 (Mar 12-13). Weeks: Feb 2, 9 and 16, then Mar 2 and 9.
    """
    user_id, category_id = await make_user(db)
    days = [date(2026, 2, 3), date(2026, 2, 10), date(2026, 2, 17)]
    days += [date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)]
    days += [date(2026, 3, 10), date(2026, 3, 12), date(2026, 3, 13)]
    await add_days(db, user_id, category_id, days)
    return user_id


async def test_streak_ending_yesterday(db: Database, training: int) -> None:
    days, weeks = await streaks(db, training, date(2026, 3, 14))
    assert days.current == 2
    assert days.current_start == date(2026, 3, 12)
    assert days.current_end == date(2026, 3, 13)
    assert days.longest == 3
    assert days.longest_start == date(2026, 3, 2)
    assert days.longest_end == date(2026, 3, 4)
    assert weeks.current == 2
    assert weeks.current_start == date(2026, 3, 2)
    assert weeks.longest == 3
    assert weeks.longest_start == date(2026, 2, 2)
    assert weeks.longest_end == date(2026, 2, 16)


async def test_streak_including_today(db: Database, training: int) -> None:
    days, _ = await streaks(db, training, date(2026, 3, 13))
    assert days.current == 2


async def test_streak_broken_by_idle_day(db: Database, training: int) -> None:
    days, weeks = await streaks(db, training, date(2026, 3, 15))
    assert days.current == 0
    assert days.current_start is None
    assert days.longest == 3
    # Sunday the 15th is still in the week of Monday the 9th.
    assert weeks.current == 2


async def test_week_streak_until_week_ends(db: Database, training: int) -> None:
    _, next_week = await streaks(db, training, date(2026, 3, 16))
    assert next_week.current == 2
    _, week_after = await streaks(db, training, date(2026, 3, 23))
    assert week_after.current == 0
    assert week_after.longest == 3


async def test_week_streak_across_iso_years(db: Database) -> None:
    user_id, category_id = await make_user(db)
    # ISO 2026 has 53 weeks: W52 starts Dec 21, W53 Dec 28, and 2027-W01 Jan 4.
    await add_days(db, user_id, category_id, [date(2026, 12, 22), date(2026, 12, 31)])
    await add_days(db, user_id, category_id, [date(2027, 1, 5)])
    days, weeks = await streaks(db, user_id, date(2027, 1, 6))
    assert weeks.current == 3
    assert weeks.current_start == date(2026, 12, 21)
    assert weeks.current_end == date(2027, 1, 4)
    assert days.longest == 1


async def test_streaks_without_workouts(db: Database) -> None:
    user_id, _ = await make_user(db)
    days, weeks = await streaks(db, user_id, date(2026, 3, 14))
    assert days == Streak(0, None, None, 0, None, None)
    assert weeks == Streak(0, None, None, 0, None, None)


async def test_trend_slope_by_least_squares(db: Database) -> None:
    user_id, category_id = await make_user(db)
    # x = 0, 7 and 21 days with y = 100, 101 and 106 kg: Sxy = 203/3, Sxx = 686/3, so the
    # slope is 203/686 kg a day, or 29/14 kg a week.
    for days_ago, load in ((28, 100.0), (21, 101.0), (7, 106.0)):
        await one_rep(db, user_id, category_id, "Bench Press", days_ago, load)
    # Older than 8 weeks: outside the window, or the slope would be negative.
    await one_rep(db, user_id, category_id, "Bench Press", 60, 200.0)

    bench = (await trends(db, user_id))["bench press"]
    assert bench.name == "Bench Press"
    assert bench.points == 3
    assert bench.since == NOW - timedelta(days=28)
    assert bench.slope_kg_per_week == pytest.approx(29 / 14, abs=1e-4)


async def test_trend_of_two_points(db: Database) -> None:
    user_id, category_id = await make_user(db)
    await one_rep(db, user_id, category_id, "Curl", 14, 50.0)
    await one_rep(db, user_id, category_id, "Curl", 7, 52.0)
    curl = (await trends(db, user_id))["curl"]
    assert curl.slope_kg_per_week == pytest.approx(2.0, abs=1e-4)


async def test_trend_null_cases(db: Database) -> None:
    user_id, category_id = await make_user(db)
    await one_rep(db, user_id, category_id, "Squat", 3, 140.0)
    # Two workouts at one instant leave no spread in time.
    await one_rep(db, user_id, category_id, "Deadlift", 5, 180.0)
    await one_rep(db, user_id, category_id, "Deadlift", 5, 190.0)
    # Sets of more than 12 reps and time exercises have no estimated one-rep max.
    high_reps = [("Row", "weight", [(60.0, 15)]), ("Plank", "time", [(60.0, 1)])]
    workout = await add_workout(db, user_id, category_id, NOW - timedelta(days=2), high_reps)
    await run_job(db, user_id, [workout])

    found = await trends(db, user_id)
    assert sorted(found) == ["deadlift", "squat"]
    assert found["squat"].points == 1
    assert found["squat"].slope_kg_per_week is None
    assert found["deadlift"].points == 2
    assert found["deadlift"].slope_kg_per_week is None
