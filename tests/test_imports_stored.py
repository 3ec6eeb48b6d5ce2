"""Hevy, FitNotes and Strong imports stored on both back ends: real exports, details kept,
re-imports and broken lines."""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from storage.db import Database
from storage.imports import ImportCounts, create_imported_workouts
from storage.models import Category, Exercise, Workout, WorkoutSet
from tasks.formats import parse_file
from tasks.parsed import ParsedFile
from tests.conftest import FIXTURES, REAL_DATA
from tests.test_strong_import import count, make_user, stored_stats

# (exercise name, load, reps) of one set row, read from a CSV without the importer's code.
SetRow = tuple[str, float, int]


def hevy_sets(path: Path) -> list[SetRow]:
    with path.open(newline="", encoding="utf-8") as file:
        return [
            (row["exercise_title"], float(row["weight_kg"] or 0), int(row["reps"] or 0))
            for row in csv.DictReader(file)
        ]


def fitnotes_sets(path: Path) -> list[SetRow]:
    """Read each row by counting the fixed columns from the right, past unquoted commas."""
    with path.open(newline="", encoding="utf-8") as file:
        header, *rows = list(csv.reader(file))
    # Columns after the name: Category, Weight, [Weight Unit], Reps, Distance, Unit, Time.
    after = len(header) - 2
    reps_from_right = 4
    weight_from_right = after - 1
    return [
        (
            ",".join(row[1 : len(row) - after]),
            float(row[len(row) - weight_from_right] or 0),
            int(row[len(row) - reps_from_right] or 0),
        )
        for row in rows
    ]


def hevy_workouts(path: Path) -> int:
    with path.open(newline="", encoding="utf-8") as file:
        return len({(row["start_time"], row["title"]) for row in csv.DictReader(file)})


def fitnotes_workouts(path: Path) -> int:
    with path.open(newline="", encoding="utf-8") as file:
        return len({row[0] for row in list(csv.reader(file))[1:]})


@dataclass(frozen=True)
class RealFile:
    name: str
    fmt: str
    sets: Callable[[Path], list[SetRow]]
    workouts: Callable[[Path], int]
    checked: tuple[str, ...]


REAL_FILES = [
    RealFile(
        "hevy-1.csv",
        "hevy",
        hevy_sets,
        hevy_workouts,
        ("Lateral Raise (Dumbbell)", "Cable Fly Crossovers", "Incline Bench Press (Dumbbell)"),
    ),
    RealFile(
        "hevy-2.csv",
        "hevy",
        hevy_sets,
        hevy_workouts,
        ("Single Arm Triceps Pushdown (Cable)", "Squat (Barbell)", "Bicep Curl (Dumbbell)"),
    ),
    RealFile(
        "fitnotes-1.csv",
        "fitnotes",
        fitnotes_sets,
        fitnotes_workouts,
        ("Barbell Squat", "Lateral Dumbbell Raise", "Romanian Deadlift"),
    ),
    RealFile(
        "fitnotes-2.csv",
        "fitnotes",
        fitnotes_sets,
        fitnotes_workouts,
        (
            "Overhead Press (Each Side, Dumbbells)",
            "Rear Delt Pulling (Each Side, Cable In Front Of Eyes Area)",
            "Lat Pulldown",
        ),
    ),
]


def expected_stats(rows: list[SetRow], exercise: str) -> tuple[float, float, float | None]:
    """Return heaviest load, volume and best Epley estimate (sets of 1 to 12 reps)."""
    heaviest = volume = 0.0
    estimates = []
    for name, load, reps in rows:
        if name != exercise:
            continue
        heaviest = max(heaviest, load)
        volume += load * reps
        if reps == 1:
            estimates.append(load)
        elif 2 <= reps <= 12:
            estimates.append(load * (1 + reps / 30))
    return heaviest, volume, max(estimates, default=None)


def parse(fmt: str, path: Path, *, unit: str | None = None) -> ParsedFile:
    return parse_file(fmt, path.read_bytes(), unit=unit, timezone="UTC")


async def import_file(
    db: Database, user_id: int, fmt: str, path: Path, *, unit: str | None = None
) -> ImportCounts:
    parsed = parse(fmt, path, unit=unit)
    async with db.transaction() as session:
        return await create_imported_workouts(
            session, user_id=user_id, fmt=fmt, workouts=parsed.workouts
        )


async def stored_sets(db: Database, user_id: int) -> list[tuple[Any, ...]]:
    """Return each stored set with its exercise, in workout, exercise and set order."""
    statement = (
        select(Exercise, WorkoutSet)
        .join(WorkoutSet, WorkoutSet.exercise_id == Exercise.id)
        .join(Workout, Workout.id == Exercise.workout_id)
        .where(Exercise.user_id == user_id)
        .order_by(Workout.created_at, Exercise.order, WorkoutSet.order)
    )
    async with db.read() as session:
        return [tuple(row) for row in (await session.execute(statement)).all()]


@pytest.mark.real_data
@pytest.mark.parametrize("spec", REAL_FILES, ids=[spec.name for spec in REAL_FILES])
async def test_real_file_stores_every_set(db: Database, spec: RealFile) -> None:
    user_id = await make_user(db)
    path = REAL_DATA / spec.name
    counts = await import_file(db, user_id, spec.fmt, path)
    rows = spec.sets(path)
    assert counts.sets == len(rows)
    assert await count(db, WorkoutSet, user_id) == len(rows)
    assert counts.workouts == spec.workouts(path)
    assert await count(db, Workout, user_id) == spec.workouts(path)


@pytest.mark.real_data
@pytest.mark.parametrize("spec", REAL_FILES, ids=[spec.name for spec in REAL_FILES])
async def test_real_file_stats_match_csv(db: Database, spec: RealFile) -> None:
    user_id = await make_user(db)
    path = REAL_DATA / spec.name
    await import_file(db, user_id, spec.fmt, path)
    rows = spec.sets(path)
    for exercise in spec.checked:
        heaviest, volume, best = expected_stats(rows, exercise)
        stored = await stored_stats(db, user_id, exercise)
        assert stored[0] == pytest.approx(heaviest, abs=1e-6), exercise
        assert stored[1] == pytest.approx(volume, abs=1e-4), exercise
        assert stored[2] == pytest.approx(best, abs=1e-4), exercise


@pytest.mark.real_data
@pytest.mark.parametrize("spec", REAL_FILES, ids=[spec.name for spec in REAL_FILES])
async def test_real_file_second_import_adds_nothing(db: Database, spec: RealFile) -> None:
    user_id = await make_user(db)
    path = REAL_DATA / spec.name
    first = await import_file(db, user_id, spec.fmt, path)
    second = await import_file(db, user_id, spec.fmt, path)
    assert second.workouts == 0
    assert second.sets == 0
    assert second.skipped == first.workouts
    assert await count(db, WorkoutSet, user_id) == first.sets


@pytest.mark.real_data
async def test_real_hevy_keeps_set_types(db: Database) -> None:
    user_id = await make_user(db)
    await import_file(db, user_id, "hevy", REAL_DATA / "hevy-2.csv")
    with (REAL_DATA / "hevy-2.csv").open(newline="", encoding="utf-8") as file:
        expected = sorted(row["set_type"] for row in csv.DictReader(file))
    stored = sorted(item.set_type for _, item in await stored_sets(db, user_id))
    assert stored == expected


@pytest.mark.real_data
async def test_real_strong_keeps_distance_and_time(db: Database) -> None:
    user_id = await make_user(db)
    await import_file(db, user_id, "strong", REAL_DATA / "strong-3.csv", unit="kg")
    rows = [
        (exercise, item)
        for exercise, item in await stored_sets(db, user_id)
        if exercise.name == "Elliptical Machine"
    ]
    assert rows
    exercise, first = rows[0]
    assert (exercise.type, exercise.unit) == ("distance", "km")
    assert first.distance_m == pytest.approx(first.value * 1000)
    assert first.duration_seconds is not None


async def test_hevy_details_stored(db: Database) -> None:
    user_id = await make_user(db)
    await import_file(db, user_id, "hevy", FIXTURES / "hevy" / "metric.csv")
    rows = await stored_sets(db, user_id)
    bench = [item for exercise, item in rows if exercise.name == "Bench Press (Barbell)"]
    assert [s.set_type for s in bench[:3]] == ["warmup", "normal", "failure"]
    assert [s.rpe for s in bench[:3]] == [None, 8.5, 10.0]
    supersets = {exercise.name: exercise.superset_id for exercise, _ in rows}
    assert supersets["Triceps Pushdown (Cable)"] == "0"
    assert supersets["Lateral Raise (Dumbbell)"] == "0"
    assert supersets["Dip"] is None
    notes = {exercise.name: exercise.notes for exercise, _ in rows}
    assert notes["Treadmill"] == "Incline 5"
    running = [item for exercise, item in rows if exercise.name == "Running"]
    assert (running[0].distance_m, running[0].duration_seconds) == (5200.0, 1650.0)


async def test_hevy_workout_notes_and_category(db: Database) -> None:
    user_id = await make_user(db)
    await import_file(db, user_id, "hevy", FIXTURES / "hevy" / "metric.csv")
    async with db.read() as session:
        result = await session.execute(
            select(Workout.notes, Category.name)
            .join(Category, Category.id == Workout.category_id)
            .where(Workout.user_id == user_id)
            .order_by(Workout.created_at)
        )
        workouts = [tuple(row) for row in result]
    assert workouts == [(None, "Cardio"), ("Heavy day\nfelt good", "Push day 🏋️")]


async def test_fitnotes_details_stored(db: Database) -> None:
    user_id = await make_user(db)
    await import_file(db, user_id, "fitnotes", FIXTURES / "fitnotes" / "comment.csv")
    await import_file(db, user_id, "fitnotes", FIXTURES / "fitnotes" / "legacy-lbs.csv")
    rows = await stored_sets(db, user_id)
    deadlift = [item for exercise, item in rows if exercise.name == "Deadlift"]
    assert [s.notes for s in deadlift] == ["Felt strong, no belt", None]
    supersets = {exercise.name: exercise.superset_id for exercise, _ in rows}
    assert supersets["Rope Push Down"] == "1"
    assert supersets["Lateral Dumbbell Raise"] == "1"
    assert supersets["Barbell Curl"] is None
    units = {exercise.name: exercise.unit for exercise, _ in rows}
    assert units["Deadlift"] == "kg"
    assert units["Barbell Squat"] == "lb"


async def test_strong_details_stored(db: Database) -> None:
    user_id = await make_user(db)
    await import_file(db, user_id, "strong", FIXTURES / "strong" / "english.csv", unit="kg")
    rows = await stored_sets(db, user_id)
    bench = [item for exercise, item in rows if exercise.name == "Bench Press (Barbell)"]
    assert [s.rpe for s in bench] == [None, 8.5, None]
    plank = [item for exercise, item in rows if exercise.name == "Plank"]
    assert [s.duration_seconds for s in plank] == [60.0, 45.0]
    running = [item for exercise, item in rows if exercise.name == "Running"]
    assert (running[0].distance_m, running[0].duration_seconds) == (5200.0, 1800.0)


@pytest.mark.parametrize(
    ("fmt", "name"),
    [("hevy", "metric.csv"), ("hevy", "imperial.csv"), ("fitnotes", "per-row-units.csv")],
)
async def test_second_import_adds_nothing(db: Database, fmt: str, name: str) -> None:
    user_id = await make_user(db)
    first = await import_file(db, user_id, fmt, FIXTURES / fmt / name)
    second = await import_file(db, user_id, fmt, FIXTURES / fmt / name)
    assert first.workouts > 0
    assert second.workouts == 0
    assert second.skipped == first.workouts
    assert await count(db, Workout, user_id) == first.workouts
    assert await count(db, WorkoutSet, user_id) == first.sets


async def test_fitnotes_day_key_ignores_time_zone(db: Database) -> None:
    user_id = await make_user(db)
    path = FIXTURES / "fitnotes" / "legacy-lbs.csv"
    first = await import_file(db, user_id, "fitnotes", path)
    parsed = parse_file("fitnotes", path.read_bytes(), unit=None, timezone="Asia/Tokyo")
    async with db.transaction() as session:
        second = await create_imported_workouts(
            session, user_id=user_id, fmt="fitnotes", workouts=parsed.workouts
        )
    assert second.skipped == first.workouts
    assert second.workouts == 0


@pytest.mark.parametrize(("fmt", "good_sets"), [("hevy", 2), ("fitnotes", 3)])
async def test_broken_file_stores_good_rows(db: Database, fmt: str, good_sets: int) -> None:
    user_id = await make_user(db)
    counts = await import_file(db, user_id, fmt, FIXTURES / fmt / "broken.csv")
    assert counts.sets == good_sets
    assert await count(db, WorkoutSet, user_id) == good_sets
