"""The stored rep-max frontier matches the one rebuilt from every set, whatever changed."""

from __future__ import annotations

from sqlalchemy import select, update

from storage.db import Database
from storage.measures import RepPoint, rep_frontier
from storage.models import Exercise, PersonalRecord, Workout, WorkoutSet
from tests.test_progress import add_workout, make_user, run_job


async def stored_frontier(db: Database, user_id: int) -> set[tuple[float, int, int]]:
    async with db.read() as session:
        rows = await session.scalars(
            select(PersonalRecord).where(
                PersonalRecord.user_id == user_id, PersonalRecord.kind == "max_reps"
            )
        )
        return {(row.load or 0.0, int(row.value), row.set_id or 0) for row in rows}


async def rebuilt_frontier(db: Database, user_id: int) -> set[tuple[float, int, int]]:
    async with db.read() as session:
        rows = await session.execute(
            select(WorkoutSet.id, WorkoutSet.value, WorkoutSet.reps, Workout.id, Workout.created_at)
            .join(Exercise, Exercise.id == WorkoutSet.exercise_id)
            .join(Workout, Workout.id == Exercise.workout_id)
            .where(Workout.user_id == user_id, WorkoutSet.value.is_not(None))
        )
        points = [RepPoint(value, reps, set_id, w, at) for set_id, value, reps, w, at in rows]
    return {(p.load, p.reps, p.set_id) for p in rep_frontier(points)}


async def add_set(db: Database, workout_id: int, value: float, reps: int) -> None:
    async with db.transaction() as session:
        exercise_id = await session.scalar(
            select(Exercise.id).where(Exercise.workout_id == workout_id)
        )
        session.add(WorkoutSet(exercise_id=exercise_id, order=99, value=value, reps=reps))


async def test_frontier_exact_after_adds_and_edits(db: Database) -> None:
    user_id, category_id = await make_user(db)
    earlier = await add_workout(db, user_id, category_id, 0, {"Squat": [(100, 5), (60, 12)]})
    await run_job(db, user_id, [earlier])
    today = await add_workout(db, user_id, category_id, 1, {"Squat": [(80, 10)]})
    await run_job(db, user_id, [today])
    assert await stored_frontier(db, user_id) == await rebuilt_frontier(db, user_id)

    # Sets added to a workout that contains a frontier point: some dominate it, one does not.
    for value, reps in ((85, 10), (40, 8), (110, 2)):
        await add_set(db, today, value, reps)
        await run_job(db, user_id, [today])
        assert await stored_frontier(db, user_id) == await rebuilt_frontier(db, user_id)

    # The set of the 85 kg point loses reps, so the frontier is rebuilt without that point.
    async with db.transaction() as session:
        await session.execute(
            update(WorkoutSet).where(WorkoutSet.value == 85, WorkoutSet.reps == 10).values(reps=3)
        )
    events = await run_job(db, user_id, [today])
    assert await stored_frontier(db, user_id) == await rebuilt_frontier(db, user_id)
    withdrawn = [e["data"] for e in events if e["name"] == "record:withdrawn"]
    assert [e["previousValue"] for e in withdrawn if e["kind"] == "max_reps"] == [10]
