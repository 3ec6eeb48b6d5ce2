"""Records of live sets, found against the stored records, match a recomputation from scratch."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select

from storage.db import Database
from storage.live_records import records_of_new_set
from storage.models import (
    DailyStats,
    ExerciseProgress,
    ExerciseWorkoutStats,
    PersonalRecord,
    WeeklyStats,
    Workout,
)
from storage.progress import apply_workout_changes
from storage.records import RecordChange
from storage.session_sets import SessionExercise, log_set
from storage.sessions import create_session
from tests.test_progress import START, add_workout, make_user

# (exercise, unit, load, reps): a set that ties every record of its history, ties within the
# session, lighter sets, rep records at lighter loads, a set with no load, and an exercise in
# pounds whose history is in kilograms.
LIVE_SETS = [
    ("Press", "kg", 60, 5),
    ("Squat", "kg", 100, 5),
    ("Squat", "kg", 100, 5),
    ("Squat", "kg", 105, 3),
    ("Squat", "kg", 80, 10),
    ("Squat", "kg", None, 12),
    ("Squat", "kg", 105, 4),
    ("Squat", "kg", 60, 15),
    ("Row", "lb", 200, 8),
    ("Row", "lb", 225, 5),
    ("Row", "lb", 225, 5),
]

Record = tuple[str, str, float, int | None, float | None]


async def stored_records(db: Database, user_id: int) -> set[Record]:
    async with db.read() as session:
        rows = await session.scalars(
            select(PersonalRecord).where(PersonalRecord.user_id == user_id)
        )
        return {(row.name_key, row.kind, round(row.value, 6), row.set_id, row.load) for row in rows}


async def recompute_from_scratch(db: Database, user_id: int) -> None:
    async with db.transaction() as session:
        for table in (PersonalRecord, ExerciseWorkoutStats, ExerciseProgress):
            await session.execute(delete(table).where(table.user_id == user_id))
        for table in (DailyStats, WeeklyStats):
            await session.execute(delete(table).where(table.user_id == user_id))
        workout_ids = list(
            await session.scalars(select(Workout.id).where(Workout.user_id == user_id))
        )
        await apply_workout_changes(
            session, user_id=user_id, workout_ids=workout_ids, announce=False
        )


async def test_live_records_match_recomputation(db: Database) -> None:
    user_id, category_id = await make_user(db)
    history = await add_workout(
        db,
        user_id,
        category_id,
        0,
        {"Squat": [(102.5, 3), (90, 8)], "Row": [(100, 5)], "Press": [(60, 5)]},
    )
    async with db.transaction() as session:
        await apply_workout_changes(session, user_id=user_id, workout_ids=[history])
        state = await create_session(session, user_id=user_id, category_id=category_id, notes=None)
    session_id = state.workout.id

    announced: list[RecordChange] = []
    for number, (name, unit, load, reps) in enumerate(LIVE_SETS):
        async with db.transaction() as session:
            logged = await log_set(
                session,
                user_id=user_id,
                session_id=session_id,
                client_id=f"set-{number}",
                exercise=SessionExercise("weight", name, unit),
                value=load,
                reps=reps,
                rest_minutes=None,
                performed_at=START + timedelta(days=1, minutes=number),
            )
            workout = await session.get_one(Workout, session_id)
            announced += await records_of_new_set(
                session,
                workout=workout,
                exercise=logged.exercise,
                exercise_sets=logged.exercise_sets,
            )

    assert {change.event for change in announced} == {"record:achieved"}
    live = await stored_records(db, user_id)

    # The progress job after the sets finds their records stored and announces nothing more.
    async with db.transaction() as session:
        _, job_changes = await apply_workout_changes(
            session, user_id=user_id, workout_ids=[session_id]
        )
    assert job_changes == []
    assert await stored_records(db, user_id) == live

    await recompute_from_scratch(db, user_id)
    assert await stored_records(db, user_id) == live
