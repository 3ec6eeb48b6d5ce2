"""Records of a set just logged in a live session, found before the summary rows change.

A logged set only adds to its session. So each single record of its exercise is either the
stored one or the session's best of that kind, and the rep-max frontier only gains points. A
comparison of the two finds the set's records in a few statements, in the set's transaction.
The progress job then updates the summary rows and totals, finds the records already stored,
and has nothing more to announce (see storage.progress).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.analytics import lock_user_progress
from storage.measures import (
    LOAD_TOLERANCE,
    Best,
    ExerciseSummary,
    SetMeasure,
    summarize,
    to_canonical,
)
from storage.models import Exercise, PersonalRecord, Workout, WorkoutSet
from storage.record_holders import (
    BEST_E1RM,
    MAX_LOAD,
    MAX_SET_VOLUME,
    MAX_WORKOUT_VOLUME,
    ExerciseTops,
    Holder,
)
from storage.records import RecordChange, update_exercise_records


async def records_of_new_set(
    session: AsyncSession,
    *,
    workout: Workout,
    exercise: Exercise,
    exercise_sets: Sequence[WorkoutSet],
) -> list[RecordChange]:
    """Store the records that a set just added to `exercise` of a live session made.

    `exercise_sets` are all the exercise's sets in performed order, the new one included.
    Return the changes, each `record:achieved`. The caller's transaction holds the session's
    row lock. This function also takes the user's progress lock, as the progress job does.
    """
    await lock_user_progress(session, workout.user_id)
    measures = [
        SetMeasure(
            row.id,
            workout.id,
            workout.created_at,
            exercise.type,
            to_canonical(row.value, exercise.type, exercise.unit),
            row.reps,
        )
        for row in exercise_sets
    ]
    stored = list(
        await session.scalars(
            select(PersonalRecord).where(
                PersonalRecord.user_id == workout.user_id,
                PersonalRecord.name_key == exercise.name_key,
            )
        )
    )
    tops = ExerciseTops(name=exercise.name, type=exercise.type)
    bests = _session_bests(summarize(measures), workout)
    for kind, best in bests.items():
        current = next((row for row in stored if row.kind == kind), None)
        tops.holders[kind] = _better(best, current)
    return await update_exercise_records(
        session,
        user_id=workout.user_id,
        name_key=exercise.name_key,
        touched={workout.id},
        new_sets=measures,
        tops=tops,
        stored_rows=stored,
    )


def _session_bests(summary: ExerciseSummary, workout: Workout) -> dict[str, Holder | None]:
    """Return the session's holder of each single record kind, as its summary row gives it."""

    def holder(value: float, set_id: int | None) -> Holder | None:
        return Holder(value, set_id, workout.id, workout.created_at) if value > 0 else None

    def best_holder(best: Best | None) -> Holder | None:
        return holder(best.value, best.set_id) if best is not None else None

    return {
        MAX_LOAD: best_holder(summary.max_load),
        BEST_E1RM: best_holder(summary.best_e1rm),
        MAX_SET_VOLUME: best_holder(summary.max_set_volume),
        MAX_WORKOUT_VOLUME: holder(summary.volume, None),
    }


def _better(best: Holder | None, current: PersonalRecord | None) -> Holder | None:
    """Return the session's holder if it beats the stored record, else the stored record's.

    Equal is not better: within the tolerance, the earlier holder keeps the record.
    """
    if current is None:
        return best
    stored = Holder(current.value, current.set_id, current.workout_id, current.achieved_at)
    if best is not None and best.value > current.value + LOAD_TOLERANCE:
        return best
    return stored
