"""A CSV export read back by the Strong importer into a new account gives the same history."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from server.app import SERVICES
from storage.measures import to_canonical
from storage.models import Category, Exercise, ExerciseProgress, PersonalRecord, Workout, WorkoutSet
from tests.export_helpers import (
    Client,
    Sample,
    download,
    export,
    measured,
    set_preferences,
    store_workouts,
    tasks_run,
    wait_for_job,
    wait_for_tasks,
    weight,
)
from tests.helpers import register

__all__ = ["tasks_run"]

PARIS = "Europe/Paris"
HEADER = (
    "Date,Workout Name,Duration,Exercise Name,Set Order,Weight,Reps,Distance,Seconds,Notes,"
    "Workout Notes,RPE"
)


def history() -> list[Sample]:
    """Weight, time and distance exercises in kg, lb, minutes, km and m, over a DST change."""
    bench = weight(
        "Bench Press", "kg", [(100, 5, 2), (102.5, 3, 2), (60, 12, 1.5), (None, 10, None)]
    )
    push = replace(bench, notes="Pause at the chest")
    return [
        Sample(
            "Push Day",
            datetime(2024, 3, 4, 17, 30, tzinfo=UTC),
            [
                push,
                measured("time", "Plank", "minutes", [1.5, 0.75]),
                weight("Incline Press", "lb", [(135, 8, None), (145, 6, 2.5)]),
            ],
            notes='Felt strong, "really"',
        ),
        Sample(
            "Cardio",
            datetime(2024, 3, 6, 6, 15, tzinfo=UTC),
            [
                measured("distance", "Running", "km", [5.2]),
                measured("distance", "Rowing", "m", [2000, 500]),
                weight("Pull Up", "kg", [(None, 5, None), (10, 3, None)]),
            ],
        ),
        # 00:30 on a Monday in Paris is 23:30 on Sunday in UTC.
        Sample(
            "Push Day",
            datetime(2024, 3, 10, 23, 30, tzinfo=UTC),
            [weight("Bench Press", "kg", [(105, 2, 3)]), weight("Dips", "kg", [(20, 8, None)])],
        ),
        # 03:30 in Paris on the morning clocks went forward, 01:30 UTC.
        Sample(
            "Legs",
            datetime(2024, 3, 31, 1, 30, tzinfo=UTC),
            [weight("Squat", "kg", [(140, 5, 3), (140, 5, 3), (150, 1, None)])],
        ),
    ]


def split_numbers(value: Any, numbers: list[float]) -> Any:
    """Replace each float in nested tuples and lists by a marker, and collect it in `numbers`.

    The skeleton then compares exactly and the numbers within the precision the CSV keeps:
    six decimals in the user's unit, under a millimetre or a milligram.
    """
    if isinstance(value, float):
        numbers.append(value)
        return "<number>"
    if isinstance(value, tuple | list):
        return [split_numbers(item, numbers) for item in value]
    return value


def assert_same(actual: Any, expected: Any) -> None:
    actual_numbers: list[float] = []
    expected_numbers: list[float] = []
    assert split_numbers(actual, actual_numbers) == split_numbers(expected, expected_numbers)
    assert actual_numbers == pytest.approx(expected_numbers, abs=1e-3)


async def stored_history(client: Client, user_id: int) -> list[Any]:
    """Return the user's finished workouts as comparable tuples, in canonical units."""
    db = client.server.app[SERVICES].db
    async with db.read() as session:
        rows = await session.execute(
            select(Workout, Category.name)
            .join(Category, Category.id == Workout.category_id)
            .where(Workout.user_id == user_id)
            .order_by(Workout.created_at)
        )
        result = []
        for workout, category in rows.tuples():
            exercises = await session.scalars(
                select(Exercise).where(Exercise.workout_id == workout.id).order_by(Exercise.order)
            )
            items = []
            for exercise in exercises:
                sets = await session.scalars(
                    select(WorkoutSet)
                    .where(WorkoutSet.exercise_id == exercise.id)
                    .order_by(WorkoutSet.order)
                )
                items.append(
                    (
                        exercise.order,
                        exercise.name,
                        exercise.type,
                        exercise.notes,
                        [
                            (
                                to_canonical(item.value, exercise.type, exercise.unit),
                                item.reps,
                                item.rest_minutes,
                            )
                            for item in sets
                        ],
                    )
                )
            started = workout.created_at.replace(microsecond=0)
            result.append((category, started, workout.notes, items))
    return result


async def stored_records(client: Client, user_id: int) -> list[Any]:
    db = client.server.app[SERVICES].db
    async with db.read() as session:
        records = await session.scalars(
            select(PersonalRecord).where(PersonalRecord.user_id == user_id)
        )
        return sorted(
            (row.name_key, row.kind, row.load, row.value, row.unit, row.achieved_at)
            for row in records
        )


async def stored_progress(client: Client, user_id: int) -> list[Any]:
    db = client.server.app[SERVICES].db
    async with db.read() as session:
        rows = await session.scalars(
            select(ExerciseProgress).where(ExerciseProgress.user_id == user_id)
        )
        return sorted(
            (
                row.name_key,
                row.type,
                row.volume,
                row.reps,
                row.sets,
                row.workouts,
                row.max_load,
                row.best_e1rm,
            )
            for row in rows
        )


async def import_csv(client: Client, headers: dict[str, str], data: bytes, unit: str) -> Any:
    form = aiohttp.FormData()
    form.add_field("file", data, filename="export.csv", content_type="text/csv")
    response = await client.post(f"/imports?format=strong&unit={unit}", data=form, headers=headers)
    assert response.status == 202, await response.text()
    return await wait_for_job(client, headers, (await response.json())["jobId"])


@pytest.mark.parametrize("unit", ["kg", "lb"])
async def test_csv_round_trip(client: Client, tasks_run: None, unit: str) -> None:
    source = await register(client)
    source_id = int(source["userId"])
    await set_preferences(client, source_id, timezone=PARIS, unit=unit)
    await store_workouts(client, source_id, history())
    await wait_for_tasks(client)

    job = await export(client, source["headers"], "csv")
    assert job["state"] == "succeeded", job
    data = await download(client, source["headers"], job)

    target = await register(client)
    target_id = int(target["userId"])
    await set_preferences(client, target_id, timezone=PARIS, unit=unit)
    imported = await import_csv(client, target["headers"], data, unit)
    assert imported["state"] == "succeeded", imported
    assert imported["result"]["errors"] == []
    await wait_for_tasks(client)

    expected = await stored_history(client, source_id)
    assert len(expected) == 4
    assert_same(await stored_history(client, target_id), expected)
    expected_records = await stored_records(client, source_id)
    assert expected_records
    assert_same(await stored_records(client, target_id), expected_records)
    assert_same(await stored_progress(client, target_id), await stored_progress(client, source_id))


async def test_csv_layout(client: Client, tasks_run: None) -> None:
    login = await register(client)
    user_id = int(login["userId"])
    await set_preferences(client, user_id, timezone=PARIS, unit="lb")
    await store_workouts(client, user_id, history())

    job = await export(client, login["headers"], "csv")
    text = (await download(client, login["headers"], job)).decode()
    rows = list(csv.reader(io.StringIO(text)))

    assert text.splitlines()[0] == HEADER
    first = rows[1]
    assert first[0] == "2024-03-04 18:30:00"
    assert first[1] == "Push Day"
    assert first[3] == "Bench Press"
    assert first[4] == "1"
    assert first[5] == repr(round(100 / 0.45359237, 6))
    assert first[6] == "5.0"
    assert first[9] == "Pause at the chest"
    assert first[10] == 'Felt strong, "really"'
    assert rows[2][4] == "Rest Timer"
    assert rows[2][8] == "120.0"
    plank = [row for row in rows if row[3] == "Plank"]
    assert [row[8] for row in plank] == ["90.0", "45.0"]
    assert [row[6] for row in plank] == ["0.0", "0.0"]
    rowing = [row for row in rows if row[3] == "Rowing"]
    assert [row[7] for row in rowing] == [
        repr(round(2 / 1.609344, 6)),
        repr(round(0.5 / 1.609344, 6)),
    ]
    dates = {row[0] for row in rows[1:]}
    assert "2024-03-11 00:30:00" in dates
    assert "2024-03-31 03:30:00" in dates


async def test_csv_leaves_out_live_sessions(client: Client, tasks_run: None) -> None:
    login = await register(client)
    response = await client.post("/categories", json={"name": "Now"}, headers=login["headers"])
    category_id = (await response.json())["id"]
    response = await client.post(
        "/sessions", json={"categoryId": category_id}, headers=login["headers"]
    )
    assert response.status == 201, await response.text()

    job = await export(client, login["headers"], "csv")
    text = (await download(client, login["headers"], job)).decode()
    assert text.splitlines() == [HEADER]
