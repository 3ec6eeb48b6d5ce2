"""Day and week aggregates: local days across daylight saving, edits, deletes and rebuilds."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from storage.analytics import rebuild_user_analytics
from storage.db import Database
from tests.analytics_data import (
    ExerciseSpec,
    add_workout,
    daily,
    delete_workout,
    make_user,
    move_workout,
    replace_exercises,
    run_job,
    set_timezone,
    weekly,
)

PARIS = ZoneInfo("Europe/Paris")
# BENCH in analytics_data: 100 kg x 5 and 80 kg x 8.
BENCH_FIGURES = (1, 2, 13, 1140.0)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


async def rebuild(db: Database, user_id: int) -> None:
    async with db.transaction() as session:
        await rebuild_user_analytics(session, user_id=user_id)


async def test_monday_half_past_midnight_counts_on_monday(db: Database) -> None:
    user_id, category_id = await make_user(db)
    # 00:30 on Monday 2026-03-30 in Paris (UTC+2) is 22:30 UTC on Sunday.
    workout = await add_workout(db, user_id, category_id, utc(2026, 3, 29, 22, 30))
    await run_job(db, user_id, [workout])

    days = await daily(db, user_id)
    assert days == {date(2026, 3, 30): BENCH_FIGURES}
    weeks = await weekly(db, user_id)
    assert list(weeks) == [date(2026, 3, 30)]
    assert weeks[date(2026, 3, 30)]["iso"] == (2026, 14)
    assert weeks[date(2026, 3, 30)]["workouts"] == 1
    assert weeks[date(2026, 3, 30)]["active_days"] == 1


async def test_spring_forward_day(db: Database) -> None:
    user_id, category_id = await make_user(db)
    # On 2026-03-29 Paris moves from UTC+1 to UTC+2 at 02:00 local (01:00 UTC).
    instants = [
        utc(2026, 3, 28, 22, 59),  # 23:59 on Saturday the 28th
        utc(2026, 3, 28, 23, 30),  # 00:30 on the 29th, UTC+1
        utc(2026, 3, 29, 1, 30),  # 03:30 on the 29th, UTC+2
        utc(2026, 3, 29, 21, 59),  # 23:59 on the 29th
        utc(2026, 3, 29, 22, 0),  # 00:00 on Monday the 30th
    ]
    ids = [await add_workout(db, user_id, category_id, when) for when in instants]
    await run_job(db, user_id, ids)

    days = await daily(db, user_id)
    assert {day: figures[0] for day, figures in days.items()} == {
        date(2026, 3, 28): 1,
        date(2026, 3, 29): 3,
        date(2026, 3, 30): 1,
    }
    weeks = await weekly(db, user_id)
    assert weeks[date(2026, 3, 23)]["workouts"] == 4
    assert weeks[date(2026, 3, 23)]["active_days"] == 2
    assert weeks[date(2026, 3, 30)]["workouts"] == 1
    assert weeks[date(2026, 3, 30)]["active_days"] == 1


async def test_fall_back_day(db: Database) -> None:
    user_id, category_id = await make_user(db)
    # On 2026-10-25 Paris moves from UTC+2 back to UTC+1 at 03:00 local (01:00 UTC), so
    # 02:30 local happens twice.
    instants = [
        utc(2026, 10, 24, 21, 59),  # 23:59 on Saturday the 24th, UTC+2
        utc(2026, 10, 24, 22, 30),  # 00:30 on the 25th, UTC+2
        utc(2026, 10, 25, 0, 30),  # 02:30 on the 25th, first time (UTC+2)
        utc(2026, 10, 25, 1, 30),  # 02:30 on the 25th, second time (UTC+1)
        utc(2026, 10, 25, 22, 59),  # 23:59 on the 25th, UTC+1
        utc(2026, 10, 25, 23, 0),  # 00:00 on Monday the 26th
    ]
    ids = [await add_workout(db, user_id, category_id, when) for when in instants]
    await run_job(db, user_id, ids)

    days = await daily(db, user_id)
    assert {day: figures[0] for day, figures in days.items()} == {
        date(2026, 10, 24): 1,
        date(2026, 10, 25): 4,
        date(2026, 10, 26): 1,
    }
    weeks = await weekly(db, user_id)
    assert weeks[date(2026, 10, 19)]["iso"] == (2026, 43)
    assert weeks[date(2026, 10, 19)]["workouts"] == 5
    assert weeks[date(2026, 10, 19)]["active_days"] == 2
    assert weeks[date(2026, 10, 26)]["iso"] == (2026, 44)


async def test_delete_updates_days_and_active_days(db: Database) -> None:
    user_id, category_id = await make_user(db)
    monday_morning = await add_workout(db, user_id, category_id, utc(2026, 3, 2, 9))
    monday_evening = await add_workout(db, user_id, category_id, utc(2026, 3, 2, 17))
    wednesday = await add_workout(db, user_id, category_id, utc(2026, 3, 4, 9))
    await run_job(db, user_id, [monday_morning, monday_evening, wednesday])
    week = date(2026, 3, 2)
    assert (await weekly(db, user_id))[week]["workouts"] == 3
    assert (await weekly(db, user_id))[week]["active_days"] == 2

    await delete_workout(db, monday_morning)
    await run_job(db, user_id, [monday_morning])
    assert (await daily(db, user_id))[date(2026, 3, 2)] == BENCH_FIGURES
    assert (await weekly(db, user_id))[week]["workouts"] == 2
    assert (await weekly(db, user_id))[week]["active_days"] == 2

    await delete_workout(db, wednesday)
    await run_job(db, user_id, [wednesday])
    assert list(await daily(db, user_id)) == [date(2026, 3, 2)]
    assert (await weekly(db, user_id))[week]["workouts"] == 1
    assert (await weekly(db, user_id))[week]["sets"] == 2
    assert (await weekly(db, user_id))[week]["active_days"] == 1

    await delete_workout(db, monday_evening)
    await run_job(db, user_id, [monday_evening])
    assert await daily(db, user_id) == {}
    assert await weekly(db, user_id) == {}


async def test_edit_updates_figures(db: Database) -> None:
    user_id, category_id = await make_user(db)
    workout = await add_workout(db, user_id, category_id, utc(2026, 3, 2, 9))
    other = await add_workout(db, user_id, category_id, utc(2026, 3, 3, 9))
    await run_job(db, user_id, [workout, other])

    # Time exercises add sets and reps but no volume.
    await replace_exercises(
        db,
        user_id,
        workout,
        [("Squat", "weight", [(120.0, 5), (None, 3)]), ("Plank", "time", [(60.0, 1)])],
    )
    await run_job(db, user_id, [workout])
    assert (await daily(db, user_id))[date(2026, 3, 2)] == (1, 3, 9, 600.0)
    week = (await weekly(db, user_id))[date(2026, 3, 2)]
    assert week["sets"] == 5
    assert week["volume"] == pytest.approx(1740.0)
    assert week["active_days"] == 2

    # Moved to the next week: out of Monday and its week, into the new day and week.
    await move_workout(db, workout, utc(2026, 3, 10, 9))
    await run_job(db, user_id, [workout])
    assert list(await daily(db, user_id)) == [date(2026, 3, 3), date(2026, 3, 10)]
    weeks = await weekly(db, user_id)
    assert weeks[date(2026, 3, 2)]["workouts"] == 1
    assert weeks[date(2026, 3, 2)]["active_days"] == 1
    assert weeks[date(2026, 3, 9)]["workouts"] == 1
    assert weeks[date(2026, 3, 9)]["active_days"] == 1

    # A workout left with no sets no longer counts.
    await replace_exercises(db, user_id, workout, [])
    await run_job(db, user_id, [workout])
    assert list(await daily(db, user_id)) == [date(2026, 3, 3)]
    assert list(await weekly(db, user_id)) == [date(2026, 3, 2)]


async def test_job_twice_changes_nothing(db: Database) -> None:
    user_id, category_id = await make_user(db)
    workout = await add_workout(db, user_id, category_id, utc(2026, 3, 2, 9))
    await run_job(db, user_id, [workout])
    await run_job(db, user_id, [workout])
    assert await daily(db, user_id) == {date(2026, 3, 2): BENCH_FIGURES}
    assert (await weekly(db, user_id))[date(2026, 3, 2)]["workouts"] == 1


async def test_rebuild_after_timezone_change(db: Database) -> None:
    user_id, category_id = await make_user(db)
    workout = await add_workout(db, user_id, category_id, utc(2026, 3, 29, 22, 30))
    await run_job(db, user_id, [workout])

    # 22:30 UTC is 18:30 on Sunday in New York.
    await set_timezone(db, user_id, "America/New_York")
    await rebuild(db, user_id)
    assert await daily(db, user_id) == {date(2026, 3, 29): BENCH_FIGURES}
    assert list(await weekly(db, user_id)) == [date(2026, 3, 23)]

    # Later changes apply in the new zone.
    await delete_workout(db, workout)
    await run_job(db, user_id, [workout])
    assert await daily(db, user_id) == {}
    assert await weekly(db, user_id) == {}


EXERCISES: list[ExerciseSpec] = [
    ("Bench Press", "weight", [(100.0, 5), (102.5, 3), (None, 10)]),
    ("Squat", "weight", [(140.0, 5), (140.0, 5), (150.0, 2)]),
    ("Deadlift", "weight", [(180.5, 3)]),
    ("Plank", "time", [(60.0, 1), (45.0, 1)]),
    ("Run", "distance", [(5000.0, 1)]),
]


def random_instant(rng: random.Random) -> datetime:
    """Return an instant in 2026 that is often close to local midnight or a clock change."""
    day = date(2026, 3, 1) + timedelta(days=rng.randrange(250))
    if rng.random() < 0.2:
        day = rng.choice([date(2026, 3, 29), date(2026, 10, 25)])
    minute = rng.choice([0, 30, 59, rng.randrange(60)])
    hour = rng.choice([0, 1, 2, 3, 22, 23, rng.randrange(24)])
    # `fold` picks the first or second 02:30 of the fall-back day.
    local = datetime(
        day.year, day.month, day.day, hour, minute, tzinfo=PARIS, fold=rng.randint(0, 1)
    )
    return local.astimezone(UTC)


def random_exercises(rng: random.Random) -> list[ExerciseSpec]:
    return rng.sample(EXERCISES, rng.randint(0, 3))


def expected_days(
    workouts: dict[int, tuple[datetime, list[ExerciseSpec]]],
) -> dict[date, tuple[int, int, int, float]]:
    """Compute the day figures from the workouts themselves, independently of the SQL."""
    days: dict[date, list[float]] = defaultdict(lambda: [0, 0, 0, 0.0])
    for when, exercises in workouts.values():
        if not any(sets for _, _, sets in exercises):
            continue
        figures = days[when.astimezone(PARIS).date()]
        figures[0] += 1
        for _, kind, sets in exercises:
            for value, reps in sets:
                figures[1] += 1
                figures[2] += reps
                if kind == "weight" and value is not None:
                    figures[3] += value * reps
    return {day: (int(f[0]), int(f[1]), int(f[2]), f[3]) for day, f in days.items()}


async def test_incremental_matches_rebuild(db: Database) -> None:
    rng = random.Random(20260330)
    user_id, category_id = await make_user(db)
    workouts: dict[int, tuple[datetime, list[ExerciseSpec]]] = {}
    pending: list[int] = []
    for _ in range(36):
        when, exercises = random_instant(rng), random_exercises(rng)
        workout = await add_workout(db, user_id, category_id, when, exercises)
        workouts[workout] = (when, exercises)
        pending.append(workout)
        if rng.random() < 0.3:
            await run_job(db, user_id, pending)
            pending = []
    await run_job(db, user_id, pending)

    for _ in range(24):
        workout = rng.choice(sorted(workouts))
        action = rng.choice(["edit", "move", "delete"])
        if action == "edit":
            exercises = random_exercises(rng)
            await replace_exercises(db, user_id, workout, exercises)
            workouts[workout] = (workouts[workout][0], exercises)
        elif action == "move":
            when = random_instant(rng)
            await move_workout(db, workout, when)
            workouts[workout] = (when, workouts[workout][1])
        else:
            await delete_workout(db, workout)
            del workouts[workout]
        await run_job(db, user_id, [workout])

    incremental_days = await daily(db, user_id)
    incremental_weeks = await weekly(db, user_id)
    expected = expected_days(workouts)
    assert incremental_days.keys() == expected.keys()
    for day, figures in expected.items():
        assert incremental_days[day][:3] == figures[:3], day
        assert incremental_days[day][3] == pytest.approx(figures[3]), day

    await rebuild(db, user_id)
    rebuilt_days = await daily(db, user_id)
    rebuilt_weeks = await weekly(db, user_id)
    assert rebuilt_days.keys() == incremental_days.keys()
    for day, figures in rebuilt_days.items():
        assert figures[:3] == incremental_days[day][:3], day
        assert figures[3] == pytest.approx(incremental_days[day][3]), day
    assert rebuilt_weeks.keys() == incremental_weeks.keys()
    for monday, week in rebuilt_weeks.items():
        for field in ("iso", "workouts", "sets", "reps", "active_days"):
            assert week[field] == incremental_weeks[monday][field], (monday, field)
        assert week["volume"] == pytest.approx(incremental_weeks[monday]["volume"]), monday
