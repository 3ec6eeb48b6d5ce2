"""Personal records: which set holds each record kind of an exercise, and what changed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from events import names
from storage.measures import (
    CANONICAL_UNIT,
    LOAD_TOLERANCE,
    WEIGHT,
    RepPoint,
    SetMeasure,
    dominates,
    rep_frontier,
    to_canonical,
)
from storage.models import Exercise, PersonalRecord, Workout, WorkoutSet
from storage.record_holders import (
    BEST_E1RM,
    MAX_LOAD,
    MAX_SET_VOLUME,
    MAX_WORKOUT_VOLUME,
    SINGLE_KINDS,
    ExerciseTops,
    Holder,
)

__all__ = [
    "BEST_E1RM",
    "MAX_LOAD",
    "MAX_REPS",
    "MAX_SET_VOLUME",
    "MAX_WORKOUT_VOLUME",
    "RecordChange",
    "update_all_records",
    "update_exercise_records",
]

MAX_REPS = "max_reps"
# Exercises per IN (...) lookup of stored records.
LOOKUP_CHUNK = 500


@dataclass(frozen=True)
class RecordChange:
    """A record beaten by a touched workout, or withdrawn because its set changed."""

    event: str
    name: str
    name_key: str
    kind: str
    unit: str
    new: Holder | None
    previous: Holder | None

    def payload(self) -> dict[str, Any]:
        holder = self.new
        data: dict[str, Any] = {
            "exercise": self.name,
            "nameKey": self.name_key,
            "kind": self.kind,
            "value": _round(holder.value) if holder else None,
            "previousValue": _round(self.previous.value) if self.previous else None,
            "unit": self.unit,
            "setId": str(holder.set_id) if holder and holder.set_id is not None else None,
            "workoutId": str(holder.workout_id) if holder else None,
        }
        if self.kind == MAX_REPS:
            reference = holder or self.previous
            data["load"] = _round(reference.load) if reference is not None else None
            data["loadUnit"] = "kg"
        return data


async def update_all_records(
    session: AsyncSession,
    *,
    user_id: int,
    keys: Sequence[str],
    touched: set[int],
    new_sets: Mapping[str, Sequence[SetMeasure]],
    tops: Mapping[str, ExerciseTops],
) -> list[RecordChange]:
    """Store the current holder of every record kind of each exercise; return what changed.

    `tops` holds the holders read from the summary rows after the change (see
    storage.record_holders.load_tops); an exercise missing from it has no summary rows left.
    """
    stored: dict[str, list[PersonalRecord]] = {key: [] for key in keys}
    ordered = sorted(keys)
    for start in range(0, len(ordered), LOOKUP_CHUNK):
        rows = await session.scalars(
            select(PersonalRecord).where(
                PersonalRecord.user_id == user_id,
                PersonalRecord.name_key.in_(ordered[start : start + LOOKUP_CHUNK]),
            )
        )
        for row in rows:
            stored[row.name_key].append(row)
    changes: list[RecordChange] = []
    for key in ordered:
        changes += await update_exercise_records(
            session,
            user_id=user_id,
            name_key=key,
            touched=touched,
            new_sets=new_sets.get(key, ()),
            tops=tops.get(key),
            stored_rows=stored[key],
        )
    return changes


async def update_exercise_records(
    session: AsyncSession,
    *,
    user_id: int,
    name_key: str,
    touched: set[int],
    new_sets: Sequence[SetMeasure],
    tops: ExerciseTops | None,
    stored_rows: list[PersonalRecord],
) -> list[RecordChange]:
    """Store the current holder of every record kind of one exercise; return what changed."""
    stored = {(row.kind, row.set_id if row.kind == MAX_REPS else None): row for row in stored_rows}
    if tops is None:
        # The exercise is gone from the user's history: its records go with it.
        gone = []
        for row in stored.values():
            await session.delete(row)
            gone.append(
                RecordChange(
                    names.RECORD_WITHDRAWN,
                    name_key,
                    name_key,
                    row.kind,
                    row.unit,
                    None,
                    _holder(row),
                )
            )
        return gone

    name, exercise_type = tops.name, tops.type
    unit = CANONICAL_UNIT[exercise_type]
    changes: list[RecordChange] = []
    for kind in SINGLE_KINDS:
        holder = tops.holders[kind]
        current = stored.get((kind, None))
        change = _compare(holder, current, touched)
        if change is not None:
            changes.append(
                RecordChange(change, name, name_key, kind, unit, holder, _holder(current))
            )
        await _store(session, user_id, name_key, kind, unit, holder, current)

    if exercise_type == WEIGHT:
        frontier_rows = [row for (kind, _), row in stored.items() if kind == MAX_REPS]
        changes += await _update_rep_frontier(
            session, user_id, name_key, name, touched, new_sets, frontier_rows
        )
    return changes


def _compare(
    holder: Holder | None, current: PersonalRecord | None, touched: set[int]
) -> str | None:
    """Name the event a change of holder calls for, or None for a silent or no change."""
    if holder is None:
        return names.RECORD_WITHDRAWN if current is not None else None
    if current is None:
        return names.RECORD_ACHIEVED if holder.workout_id in touched else None
    if holder.set_id == current.set_id and holder.workout_id == current.workout_id:
        if abs(holder.value - current.value) <= LOAD_TOLERANCE:
            return None
    if holder.workout_id in touched and holder.value > current.value + LOAD_TOLERANCE:
        return names.RECORD_ACHIEVED
    if current.workout_id in touched and holder.value < current.value - LOAD_TOLERANCE:
        return names.RECORD_WITHDRAWN
    return None


async def _store(
    session: AsyncSession,
    user_id: int,
    name_key: str,
    kind: str,
    unit: str,
    holder: Holder | None,
    current: PersonalRecord | None,
) -> None:
    if holder is None:
        if current is not None:
            await session.delete(current)
        return
    if current is None:
        current = PersonalRecord(user_id=user_id, name_key=name_key, kind=kind)
        session.add(current)
    current.value = holder.value
    current.unit = unit
    current.set_id = holder.set_id
    current.workout_id = holder.workout_id
    current.achieved_at = holder.achieved_at
    current.load = holder.load


async def _update_rep_frontier(
    session: AsyncSession,
    user_id: int,
    name_key: str,
    name: str,
    touched: set[int],
    new_sets: Sequence[SetMeasure],
    stored: list[PersonalRecord],
) -> list[RecordChange]:
    """Keep the rep-max frontier: for each load, the most reps at that load or a heavier one.

    While every frontier point of a touched workout is still the same set with the same load
    and reps, the touched workouts' sets are added to the stored frontier. Otherwise the
    frontier is rebuilt from every set of the exercise.
    """
    old = [_point(row) for row in stored]
    if _points_unchanged(old, new_sets, touched):
        frontier = _add_to_frontier(old, new_sets)
    else:
        # NOTE: the rebuild reads every set of this exercise; it runs only when a set that
        # holds a rep record is edited or deleted.
        frontier = rep_frontier(await _all_points(session, user_id, name_key))

    old_ids = {point.set_id for point in old}
    new_ids = {point.set_id for point in frontier}
    changes = _frontier_changes(name, name_key, old, frontier, touched)
    for row in stored:
        if row.set_id not in new_ids:
            await session.delete(row)
    for point in frontier:
        if point.set_id not in old_ids:
            session.add(
                PersonalRecord(
                    user_id=user_id,
                    name_key=name_key,
                    kind=MAX_REPS,
                    load=point.load,
                    value=point.reps,
                    unit="reps",
                    set_id=point.set_id,
                    workout_id=point.workout_id,
                    achieved_at=point.performed_at,
                )
            )
    return changes


def _points_unchanged(
    points: list[RepPoint], new_sets: Sequence[SetMeasure], touched: set[int]
) -> bool:
    """Tell whether each point of a touched workout is still a set of the same load and reps."""
    current = {measure.set_id: measure for measure in new_sets}
    for point in points:
        if point.workout_id not in touched:
            continue
        measure = current.get(point.set_id)
        if (
            measure is None
            or measure.workout_id != point.workout_id
            or measure.value != point.load
            or measure.reps != point.reps
            or measure.performed_at != point.performed_at
        ):
            return False
    return True


def _add_to_frontier(frontier: list[RepPoint], new_sets: Sequence[SetMeasure]) -> list[RepPoint]:
    """Add each set that no frontier point dominates, dropping the points it dominates."""
    result = list(frontier)
    for measure in new_sets:
        if measure.value is None or measure.reps < 1:
            continue
        # The same test as dominates(other, point), before building the point: in an import
        # nearly every set is dominated.
        lightest = measure.value - LOAD_TOLERANCE
        if any(other.load >= lightest and other.reps >= measure.reps for other in result):
            continue
        point = RepPoint(
            measure.value, measure.reps, measure.set_id, measure.workout_id, measure.performed_at
        )
        result = [other for other in result if not dominates(point, other)] + [point]
    return result


def _frontier_changes(
    name: str, name_key: str, old: list[RepPoint], new: list[RepPoint], touched: set[int]
) -> list[RecordChange]:
    """Name the rep records that touched workouts beat, and those they no longer hold."""
    old_ids = {point.set_id for point in old}
    new_ids = {point.set_id for point in new}
    changes = []
    for point in new:
        if point.set_id in old_ids or point.workout_id not in touched:
            continue
        previous = _best_reps_at(old, point.load)
        if previous is not None and point.reps <= previous.reps:
            # The point only replaces a removed set of the same reps: nothing was beaten.
            continue
        changes.append(
            _rep_change(names.RECORD_ACHIEVED, name, name_key, _rep_holder(point), previous)
        )
    for point in old:
        if point.set_id in new_ids or point.workout_id not in touched:
            continue
        replacement = _best_reps_at(new, point.load)
        if replacement is not None and replacement.reps >= point.reps:
            continue
        holder = _rep_holder(replacement) if replacement is not None else None
        changes.append(
            _rep_change(names.RECORD_WITHDRAWN, name, name_key, holder, _rep_holder(point))
        )
    return changes


def _best_reps_at(points: Sequence[RepPoint], load: float) -> RepPoint | None:
    """Return the point with the most reps at `load` or heavier, if any."""
    candidates = [p for p in points if p.load >= load - LOAD_TOLERANCE]
    return max(candidates, key=lambda p: p.reps, default=None)


def _rep_holder(point: RepPoint) -> Holder:
    return Holder(point.reps, point.set_id, point.workout_id, point.performed_at, point.load)


def _rep_change(
    event: str, name: str, name_key: str, new: Holder | None, previous: RepPoint | Holder | None
) -> RecordChange:
    if isinstance(previous, RepPoint):
        previous = _rep_holder(previous)
    return RecordChange(event, name, name_key, MAX_REPS, "reps", new, previous)


async def _all_points(session: AsyncSession, user_id: int, name_key: str) -> list[RepPoint]:
    result = await session.execute(
        select(
            WorkoutSet.id,
            WorkoutSet.value,
            WorkoutSet.reps,
            Exercise.type,
            Exercise.unit,
            Workout.id.label("workout_id"),
            Workout.created_at,
        )
        .join(Exercise, Exercise.id == WorkoutSet.exercise_id)
        .join(Workout, Workout.id == Exercise.workout_id)
        .where(
            Exercise.user_id == user_id,
            Exercise.name_key == name_key,
            WorkoutSet.value.is_not(None),
            WorkoutSet.reps >= 1,
        )
    )
    points = []
    for row in result:
        load = to_canonical(row.value, row.type, row.unit)
        assert load is not None
        points.append(RepPoint(load, row.reps, row.id, row.workout_id, row.created_at))
    return points


def _point(row: PersonalRecord) -> RepPoint:
    assert row.set_id is not None and row.load is not None
    return RepPoint(row.load, int(row.value), row.set_id, row.workout_id, row.achieved_at)


def _holder(row: PersonalRecord | None) -> Holder | None:
    if row is None:
        return None
    return Holder(row.value, row.set_id, row.workout_id, row.achieved_at, row.load)


def _round(value: float | None) -> float | None:
    return round(value, 4) if value is not None else None
