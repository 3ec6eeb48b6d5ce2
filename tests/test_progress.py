"""The progress job's storage half: totals, records and their events, on both back ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, func, select

from storage.db import Database
from storage.models import (
    Category,
    Exercise,
    ExerciseProgress,
    OutboxMessage,
    PersonalRecord,
    User,
    Workout,
    WorkoutSet,
)
from storage.names import normalize_exercise_name
from storage.progress import apply_workout_changes

START = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
Sets = list[tuple[float | None, int]]


async def make_user(db: Database) -> tuple[int, int]:
    async with db.transaction() as session:
        user = User(email=f"p{START.timestamp()}@example.com", password_hash="x")
        session.add(user)
        await session.flush()
        category = Category(user_id=user.id, name="Push")
        session.add(category)
        await session.flush()
        return user.id, category.id


async def add_workout(
    db: Database,
    user_id: int,
    category_id: int,
    day: int,
    exercises: dict[str, Sets],
    unit: str = "kg",
) -> int:
    async with db.transaction() as session:
        when = START + timedelta(days=day)
        workout = Workout(
            user_id=user_id, category_id=category_id, created_at=when, updated_at=when
        )
        session.add(workout)
        await session.flush()
        for order, (name, sets) in enumerate(exercises.items(), start=1):
            exercise = Exercise(
                workout_id=workout.id,
                user_id=user_id,
                type="weight",
                name=name,
                name_key=normalize_exercise_name(name),
                unit=unit,
                order=order,
            )
            session.add(exercise)
            await session.flush()
            for set_order, (value, reps) in enumerate(sets, start=1):
                session.add(
                    WorkoutSet(exercise_id=exercise.id, order=set_order, value=value, reps=reps)
                )
        return workout.id


async def run_job(db: Database, user_id: int, workout_ids: list[int]) -> list[dict[str, Any]]:
    """Apply the changes and return the events the job put in the outbox."""
    async with db.transaction() as session:
        await session.execute(delete(OutboxMessage))
        await apply_workout_changes(session, user_id=user_id, workout_ids=workout_ids)
    async with db.read() as session:
        rows = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    return [row.payload for row in rows if row.kind == "event"]


async def progress_of(db: Database, user_id: int, key: str) -> ExerciseProgress | None:
    async with db.read() as session:
        return await session.get(ExerciseProgress, (user_id, key))


async def records_of(db: Database, user_id: int, key: str) -> dict[str, float]:
    async with db.read() as session:
        rows = await session.scalars(
            select(PersonalRecord).where(
                PersonalRecord.user_id == user_id,
                PersonalRecord.name_key == key,
                PersonalRecord.kind != "max_reps",
            )
        )
        return {row.kind: row.value for row in rows}


def achieved(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e["data"] for e in events if e["name"] == "record:achieved"]


async def test_worked_example_totals_and_records(db: Database) -> None:
    user_id, category_id = await make_user(db)
    workout = await add_workout(
        db, user_id, category_id, 0, {"Bench Press": [(100, 5), (102.5, 3), (60, 12), (None, 10)]}
    )
    events = await run_job(db, user_id, [workout])

    progress = await progress_of(db, user_id, "bench press")
    assert progress is not None
    assert progress.volume == pytest.approx(1527.5)
    assert progress.reps == 30
    assert progress.sets == 4
    assert progress.max_load == 102.5
    assert progress.best_e1rm == pytest.approx(116.6667, abs=1e-3)

    records = await records_of(db, user_id, "bench press")
    assert records["max_load"] == 102.5
    assert records["best_e1rm"] == pytest.approx(116.6667, abs=1e-3)
    assert records["max_set_volume"] == 720
    assert records["max_workout_volume"] == pytest.approx(1527.5)

    updated = [e["data"] for e in events if e["name"] == "progress:updated"]
    assert len(updated) == 1
    exercise = updated[0]["exercises"][0]
    assert exercise["name"] == "Bench Press"
    assert exercise["category"] == "Push"
    assert exercise["volume"] == pytest.approx(1527.5)
    assert exercise["unit"] == "kg"
    kinds = {e["kind"] for e in achieved(events)}
    assert {"max_load", "best_e1rm", "max_set_volume", "max_workout_volume", "max_reps"} <= kinds


async def test_job_twice_changes_nothing(db: Database) -> None:
    user_id, category_id = await make_user(db)
    workout = await add_workout(db, user_id, category_id, 0, {"Squat": [(100, 5), (110, 3)]})
    await run_job(db, user_id, [workout])
    first = await progress_of(db, user_id, "squat")
    assert first is not None
    volume, sets = first.volume, first.sets

    events = await run_job(db, user_id, [workout])
    again = await progress_of(db, user_id, "squat")
    assert again is not None
    assert again.volume == volume
    assert again.sets == sets
    assert events == []


async def test_tie_is_not_a_record(db: Database) -> None:
    user_id, category_id = await make_user(db)
    first = await add_workout(db, user_id, category_id, 0, {"Deadlift": [(140, 3)]})
    await run_job(db, user_id, [first])
    second = await add_workout(db, user_id, category_id, 1, {"Deadlift": [(140, 3)]})
    events = await run_job(db, user_id, [second])
    assert achieved(events) == []


async def test_heavier_set_beats_record(db: Database) -> None:
    user_id, category_id = await make_user(db)
    first = await add_workout(db, user_id, category_id, 0, {"Deadlift": [(140, 3)]})
    await run_job(db, user_id, [first])
    second = await add_workout(db, user_id, category_id, 1, {"Deadlift": [(150, 1)]})
    events = await run_job(db, user_id, [second])
    by_kind = {e["kind"]: e for e in achieved(events)}
    assert by_kind["max_load"]["value"] == 150
    assert by_kind["max_load"]["previousValue"] == 140
    assert by_kind["max_load"]["workoutId"] == str(second)
    assert by_kind["max_load"]["setId"] is not None
    # 150 x 1 estimates 150, below 140 x 3 = 154: no one-rep max record.
    assert "best_e1rm" not in by_kind


async def test_deleting_record_set_withdraws_it(db: Database) -> None:
    user_id, category_id = await make_user(db)
    first = await add_workout(db, user_id, category_id, 0, {"Press": [(50, 5)]})
    second = await add_workout(db, user_id, category_id, 1, {"Press": [(60, 5)]})
    await run_job(db, user_id, [first, second])
    assert (await records_of(db, user_id, "press"))["max_load"] == 60

    async with db.transaction() as session:
        await session.execute(delete(Workout).where(Workout.id == second))
    events = await run_job(db, user_id, [second])

    assert (await records_of(db, user_id, "press"))["max_load"] == 50
    progress = await progress_of(db, user_id, "press")
    assert progress is not None
    assert progress.volume == 250
    assert progress.workouts == 1
    withdrawn = [e["data"] for e in events if e["name"] == "record:withdrawn"]
    assert {e["kind"] for e in withdrawn} >= {"max_load"}


async def test_last_workout_deleted_clears_exercise(db: Database) -> None:
    user_id, category_id = await make_user(db)
    workout = await add_workout(db, user_id, category_id, 0, {"Curl": [(20, 10)]})
    await run_job(db, user_id, [workout])
    async with db.transaction() as session:
        await session.execute(delete(Workout).where(Workout.id == workout))
    await run_job(db, user_id, [workout])
    assert await progress_of(db, user_id, "curl") is None
    async with db.read() as session:
        count = await session.scalar(select(func.count()).select_from(PersonalRecord))
    assert count == 0


async def test_names_match_after_normalizing(db: Database) -> None:
    user_id, category_id = await make_user(db)
    first = await add_workout(db, user_id, category_id, 0, {"Bench Press": [(100, 5)]})
    second = await add_workout(db, user_id, category_id, 1, {" bench  PRESS": [(100, 5)]})
    await run_job(db, user_id, [first, second])
    progress = await progress_of(db, user_id, "bench press")
    assert progress is not None
    assert progress.workouts == 2
    assert progress.volume == 1000


async def test_pounds_compare_in_kilograms(db: Database) -> None:
    user_id, category_id = await make_user(db)
    first = await add_workout(db, user_id, category_id, 0, {"Row": [(100, 5)]}, unit="kg")
    second = await add_workout(db, user_id, category_id, 1, {"Row": [(225, 5)]}, unit="lb")
    events = await run_job(db, user_id, [first])
    events = await run_job(db, user_id, [second])
    by_kind = {e["kind"]: e for e in achieved(events)}
    assert by_kind["max_load"]["value"] == pytest.approx(102.0582, abs=1e-3)
    assert by_kind["max_load"]["unit"] == "kg"


async def test_rep_record_at_lighter_load(db: Database) -> None:
    user_id, category_id = await make_user(db)
    first = await add_workout(db, user_id, category_id, 0, {"Squat": [(100, 5), (80, 8)]})
    await run_job(db, user_id, [first])
    # 90 x 6: no set at 90 kg or heavier reached 6 reps.
    second = await add_workout(db, user_id, category_id, 1, {"Squat": [(90, 6), (80, 8)]})
    events = await run_job(db, user_id, [second])
    reps = [e for e in achieved(events) if e["kind"] == "max_reps"]
    assert len(reps) == 1
    assert reps[0]["value"] == 6
    assert reps[0]["load"] == 90
    assert reps[0]["previousValue"] == 5


async def test_rep_record_withdrawn_with_its_set(db: Database) -> None:
    user_id, category_id = await make_user(db)
    first = await add_workout(db, user_id, category_id, 0, {"Squat": [(50, 10)]})
    second = await add_workout(db, user_id, category_id, 1, {"Squat": [(60, 5)]})
    await run_job(db, user_id, [first, second])
    async with db.transaction() as session:
        await session.execute(delete(Workout).where(Workout.id == second))
    events = await run_job(db, user_id, [second])
    withdrawn = [e["data"] for e in events if e["name"] == "record:withdrawn"]
    reps = [e for e in withdrawn if e["kind"] == "max_reps"]
    assert len(reps) == 1
    assert reps[0]["previousValue"] == 5
    assert reps[0]["load"] == 60
    # No set at 60 kg or heavier is left.
    assert reps[0]["value"] is None


async def test_lighter_replacement_is_no_rep_record(db: Database) -> None:
    user_id, category_id = await make_user(db)
    workout = await add_workout(db, user_id, category_id, 0, {"Squat": [(50, 10)]})
    await run_job(db, user_id, [workout])
    async with db.transaction() as session:
        await session.execute(delete(Workout).where(Workout.id == workout))
    replacement = await add_workout(db, user_id, category_id, 0, {"Squat": [(40, 10)]})
    events = await run_job(db, user_id, [workout, replacement])
    reps = [e for e in achieved(events) if e["kind"] == "max_reps"]
    assert reps == [] or all(
        e["previousValue"] is None or e["value"] > e["previousValue"] for e in reps
    )


async def test_exercise_gone_withdraws_records(db: Database) -> None:
    user_id, category_id = await make_user(db)
    workout = await add_workout(db, user_id, category_id, 0, {"Curl": [(20, 10)]})
    await run_job(db, user_id, [workout])
    async with db.transaction() as session:
        await session.execute(delete(Workout).where(Workout.id == workout))
    events = await run_job(db, user_id, [workout])
    withdrawn = {e["data"]["kind"] for e in events if e["name"] == "record:withdrawn"}
    assert {
        "max_load",
        "best_e1rm",
        "max_set_volume",
        "max_workout_volume",
        "max_reps",
    } <= withdrawn
