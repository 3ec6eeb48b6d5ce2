"""Strong imports stored on both back ends: real exports, re-imports and the command line."""

from __future__ import annotations

import asyncio
import csv
import os
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import case, func, select

from server.config import Settings
from storage.db import Database
from storage.imports import ImportCounts, create_imported_workouts
from storage.models import Category, Exercise, OutboxMessage, User, Workout, WorkoutSet
from tasks.strong import parse_strong
from tests.conftest import FIXTURES, JWT_SECRET, REAL_DATA, ClientFactory
from tests.helpers import random_email, register

NAPPATZIM = Path(sys.executable).parent / "nappatzim"


@dataclass(frozen=True)
class RealFile:
    name: str
    unit: str
    exercise: str
    set_order: str
    weight: str
    reps: str
    date: str
    workout: str
    checked: tuple[str, str, str]


ENGLISH = {
    "exercise": "Exercise Name",
    "set_order": "Set Order",
    "weight": "Weight",
    "reps": "Reps",
    "date": "Date",
    "workout": "Workout Name",
}
GERMAN = {
    "exercise": "Name der Übung",
    "set_order": "Reihenfolge festlegen",
    "weight": "Gewicht",
    "reps": "Wiederh.",
    "date": "Datum",
    "workout": "Workout-Name",
}
REAL_FILES = [
    RealFile(
        "strong-1.csv",
        "lb",
        **ENGLISH,
        checked=(
            "Lateral Raise (Cable)",
            "Incline Bench Press (Dumbbell)",
            "Triceps Pushdown (Cable - Straight Bar)",
        ),
    ),
    RealFile(
        "strong-2.csv",
        "kg",
        **GERMAN,
        checked=("Shrug (Barbell)", "Romanian Deadlift (Barbell)", "Farmers Carries"),
    ),
    RealFile(
        "strong-3.csv",
        "kg",
        **ENGLISH,
        checked=("Lateral Raise (Dumbbell)", "Bench Press (Barbell)", "Face Pull (Cable)"),
    ),
]


def read_rows(spec: RealFile) -> list[dict[str, str]]:
    with (REAL_DATA / spec.name).open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def set_rows(spec: RealFile) -> list[dict[str, str]]:
    return [row for row in read_rows(spec) if row[spec.set_order].strip().isdigit()]


def expected_stats(spec: RealFile, exercise: str) -> tuple[float, float, float | None]:
    """Return heaviest load, volume and best Epley estimate, straight from the CSV.

    The estimate is None when no set has 1 to 12 reps.
    """
    heaviest = volume = 0.0
    estimates = []
    for row in set_rows(spec):
        if row[spec.exercise] != exercise:
            continue
        load = float(row[spec.weight] or 0)
        reps = int(float(row[spec.reps] or 0))
        heaviest = max(heaviest, load)
        volume += load * reps
        if reps == 1:
            estimates.append(load)
        elif 2 <= reps <= 12:
            estimates.append(load * (1 + reps / 30))
    return heaviest, volume, max(estimates, default=None)


async def make_user(db: Database) -> int:
    async with db.transaction() as session:
        user = User(email=random_email(), password_hash="not used")
        session.add(user)
        await session.flush()
        return user.id


async def import_file(db: Database, user_id: int, path: Path, unit: str) -> ImportCounts:
    parsed = parse_strong(path.read_bytes(), unit=unit)
    async with db.transaction() as session:
        return await create_imported_workouts(
            session, user_id=user_id, fmt="strong", workouts=parsed.workouts
        )


async def count(db: Database, model: Any, user_id: int) -> int:
    statement = select(func.count()).select_from(model)
    if model is WorkoutSet:
        statement = statement.join(Exercise, Exercise.id == WorkoutSet.exercise_id)
        statement = statement.where(Exercise.user_id == user_id)
    else:
        statement = statement.where(model.user_id == user_id)
    async with db.read() as session:
        return int((await session.execute(statement)).scalar_one())


async def stored_stats(db: Database, user_id: int, exercise: str) -> tuple[Any, ...]:
    epley = case(
        (WorkoutSet.reps == 1, WorkoutSet.value),
        (WorkoutSet.reps.between(2, 12), WorkoutSet.value * (1 + WorkoutSet.reps / 30.0)),
    )
    statement = (
        select(
            func.max(WorkoutSet.value),
            func.sum(WorkoutSet.reps * WorkoutSet.value),
            func.max(epley),
        )
        .join(Exercise, Exercise.id == WorkoutSet.exercise_id)
        .where(Exercise.user_id == user_id, Exercise.name == exercise)
    )
    async with db.read() as session:
        return tuple((await session.execute(statement)).one())


@pytest.mark.real_data
@pytest.mark.parametrize("spec", REAL_FILES, ids=[spec.name for spec in REAL_FILES])
async def test_real_file_stores_every_set(db: Database, spec: RealFile) -> None:
    user_id = await make_user(db)
    counts = await import_file(db, user_id, REAL_DATA / spec.name, spec.unit)
    rows = set_rows(spec)
    workouts = {(row[spec.date], row[spec.workout]) for row in rows}
    assert counts.sets == len(rows)
    assert await count(db, WorkoutSet, user_id) == len(rows)
    assert counts.workouts == len(workouts)
    assert await count(db, Workout, user_id) == len(workouts)
    assert await count(db, Category, user_id) == len({name for _, name in workouts})


@pytest.mark.real_data
@pytest.mark.parametrize("spec", REAL_FILES, ids=[spec.name for spec in REAL_FILES])
async def test_real_file_stats_match_csv(db: Database, spec: RealFile) -> None:
    user_id = await make_user(db)
    await import_file(db, user_id, REAL_DATA / spec.name, spec.unit)
    for exercise in spec.checked:
        heaviest, volume, best = expected_stats(spec, exercise)
        stored = await stored_stats(db, user_id, exercise)
        assert stored[0] == pytest.approx(heaviest, abs=1e-6), exercise
        assert stored[1] == pytest.approx(volume, abs=1e-4), exercise
        if best is None:
            assert stored[2] is None, exercise
        else:
            assert stored[2] == pytest.approx(best, abs=1e-4), exercise


@pytest.mark.real_data
@pytest.mark.parametrize("spec", REAL_FILES, ids=[spec.name for spec in REAL_FILES])
async def test_second_import_adds_nothing(db: Database, spec: RealFile) -> None:
    user_id = await make_user(db)
    first = await import_file(db, user_id, REAL_DATA / spec.name, spec.unit)
    second = await import_file(db, user_id, REAL_DATA / spec.name, spec.unit)
    assert second.workouts == 0
    assert second.sets == 0
    assert second.skipped == first.workouts
    assert await count(db, Workout, user_id) == first.workouts
    assert await count(db, WorkoutSet, user_id) == first.sets


async def test_case_variants_stay_separate_categories(db: Database) -> None:
    user_id = await make_user(db)
    await import_file(db, user_id, FIXTURES / "strong" / "german.csv", "kg")
    async with db.read() as session:
        names = await session.execute(select(Category.name).where(Category.user_id == user_id))
        assert sorted(names.scalars()) == ["PULL", "Pull"]


async def test_existing_category_is_reused(db: Database) -> None:
    user_id = await make_user(db)
    async with db.transaction() as session:
        session.add(Category(user_id=user_id, name="Push Day", color="#ff0000"))
    await import_file(db, user_id, FIXTURES / "strong" / "english.csv", "kg")
    async with db.read() as session:
        rows = (
            await session.execute(select(Category).where(Category.user_id == user_id))
        ).scalars()
        colors = {category.name: category.color for category in rows}
    assert colors == {"Push Day": "#ff0000", "Cardio": None}


async def test_imported_rows_carry_dates_and_keys(db: Database) -> None:
    user_id = await make_user(db)
    await import_file(db, user_id, FIXTURES / "strong" / "english.csv", "kg")
    async with db.read() as session:
        first = await session.scalar(
            select(Workout).where(Workout.user_id == user_id).order_by(Workout.created_at)
        )
        assert first is not None
        exercise = await session.scalar(
            select(Exercise).where(Exercise.workout_id == first.id).order_by(Exercise.order)
        )
        assert exercise is not None
        sets = await session.scalars(
            select(WorkoutSet).where(WorkoutSet.exercise_id == exercise.id)
        )
        rests = sorted((s.order, s.rest_minutes) for s in sets)
    assert first.created_at == datetime(2024, 3, 4, 18, 30, tzinfo=UTC)
    assert first.updated_at == first.created_at
    assert first.notes == "Felt strong"
    assert len(first.import_key or "") == 64
    assert exercise.name_key == "bench press (barbell)"
    assert exercise.order == 1
    assert rests == [(1, 1.5), (2, None)]


async def test_import_queues_progress_task(db: Database) -> None:
    user_id = await make_user(db)
    await import_file(db, user_id, FIXTURES / "strong" / "english.csv", "kg")
    async with db.read() as session:
        payloads = (await session.execute(select(OutboxMessage.payload))).scalars().all()
        ids = await session.execute(select(Workout.id).where(Workout.user_id == user_id))
        workout_ids = sorted(ids.scalars())
    tasks = [p for p in payloads if p.get("task") == "progress.recompute"]
    assert len(tasks) == 1
    assert tasks[0]["kwargs"]["user_id"] == user_id
    assert sorted(tasks[0]["kwargs"]["workout_ids"]) == workout_ids


async def run_command(data_dir: Path, *args: str) -> tuple[int, str, str]:
    """Run `nappatzim` in embedded mode on `data_dir` and return status, stdout and stderr."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL", "DATABASE_SCHEMA", "JWT_SECRET")
    }
    env.update({"DATA_DIR": str(data_dir), "LOG_LEVEL": "WARNING"})
    process = await asyncio.create_subprocess_exec(
        str(NAPPATZIM),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=90)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


@pytest.mark.real_data
async def test_command_imports_file(tmp_path: Path, make_client: ClientFactory) -> None:
    email = f"cli-{uuid.uuid4().hex[:8]}@example.com"
    path = str(REAL_DATA / "strong-3.csv")
    command = ("import", "--format", "strong", "--unit", "kg", path, "--user", email)

    status, _, stderr = await run_command(tmp_path, *command)
    assert status == 1
    assert "user not found" in stderr

    # The first run created the schema, so a server on the same folder can register the user.
    client = await make_client(Settings(data_dir=tmp_path, jwt_secret=JWT_SECRET))
    await register(client, email)

    status, stdout, stderr = await run_command(tmp_path, *command)
    assert status == 0, stderr
    assert "imported 10 workouts" in stdout
    assert "208 sets" in stdout

    status, stdout, _ = await run_command(tmp_path, *command)
    assert status == 0
    assert "imported 0 workouts" in stdout
    assert "10 workouts imported before" in stdout


async def test_command_lists_skipped_rows(tmp_path: Path, make_client: ClientFactory) -> None:
    email = f"cli-{uuid.uuid4().hex[:8]}@example.com"
    await run_command(tmp_path, "migrate")
    client = await make_client(Settings(data_dir=tmp_path, jwt_secret=JWT_SECRET))
    await register(client, email)
    path = str(FIXTURES / "strong" / "broken.csv")

    status, stdout, _ = await run_command(
        tmp_path, "import", "--format", "strong", "--unit", "kg", path, "--user", email
    )
    assert status == 0
    assert "8 rows skipped" in stdout
    assert "line 3: Weight: invalid 'abc'" in stdout
    assert "line 13:" in stdout


@pytest.mark.real_data
async def test_command_rejects_unknown_layout(tmp_path: Path, make_client: ClientFactory) -> None:
    email = f"cli-{uuid.uuid4().hex[:8]}@example.com"
    await run_command(tmp_path, "migrate")
    client = await make_client(Settings(data_dir=tmp_path, jwt_secret=JWT_SECRET))
    await register(client, email)
    path = str(REAL_DATA / "hevy-1.csv")

    status, _, stderr = await run_command(
        tmp_path, "import", "--format", "strong", "--unit", "kg", path, "--user", email
    )
    assert status == 2
    assert "unknown header layout" in stderr
