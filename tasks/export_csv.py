"""The CSV export in Strong's layout, which the Strong importer reads back to the same workouts.

Each finished workout becomes one row per set under the English 12-column header, with the
category as the workout name, dates in the user's time zone and loads in the user's unit.
A set's rest time follows it as a "Rest Timer" row, as Strong writes it.

NOTE: Strong's format cannot tell some layouts apart, so they change on the way back. Two
workouts of one category that start in the same second become one workout. Two neighbouring
exercises with the same name in one workout become one exercise. Time and distance sets come
back with 1 rep, and exercises without sets are left out.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from typing import IO
from zoneinfo import ZoneInfo

from storage.export_data import ExportWorkout
from storage.measures import DISTANCE, TIME, UNITS, WEIGHT, to_canonical
from storage.models import Exercise, WorkoutSet
from tasks.strong import DISTANCE_UNIT

HEADER = [
    "Date",
    "Workout Name",
    "Duration",
    "Exercise Name",
    "Set Order",
    "Weight",
    "Reps",
    "Distance",
    "Seconds",
    "Notes",
    "Workout Notes",
    "RPE",
]
REST_TIMER = "Rest Timer"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
# The Strong importer keeps six decimals, so more would only add conversion noise.
DECIMALS = 6


def write_header(out: IO[bytes]) -> None:
    out.write(_line([HEADER]))


def write_workouts(
    out: IO[bytes], workouts: list[ExportWorkout], *, unit: str, zone: ZoneInfo
) -> None:
    """Append the rows of a page of workouts, encoded as UTF-8."""
    out.write(_line(row for detail in workouts for row in workout_rows(detail, unit, zone)))


def _line(rows: Iterator[list[str]] | list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode()


def workout_rows(detail: ExportWorkout, unit: str, zone: ZoneInfo) -> Iterator[list[str]]:
    """Yield a workout's set and rest timer rows; `unit` is the load unit, kg or lb."""
    workout = detail.workout
    date = workout.created_at.astimezone(zone).strftime(DATE_FORMAT)
    duration = _duration(workout.created_at, workout.finished_at)
    start = [date, detail.category.name, duration]
    workout_notes = workout.notes or ""
    for item in detail.exercises:
        for position, workout_set in enumerate(item.sets, start=1):
            weight, reps, distance, seconds = _measures(item.exercise, workout_set, unit)
            notes = (item.exercise.notes or "") if position == 1 else ""
            rpe = _number(workout_set.rpe)
            yield [
                *start,
                item.exercise.name,
                str(position),
                weight,
                reps,
                distance,
                seconds,
                notes,
                workout_notes,
                rpe,
            ]
            workout_notes = ""
            if workout_set.rest_minutes is not None:
                rest = _number(workout_set.rest_minutes * 60)
                yield [*start, item.exercise.name, REST_TIMER, "0", "0.0", "0", rest, "", "", ""]


def _measures(exercise: Exercise, item: WorkoutSet, unit: str) -> tuple[str, str, str, str]:
    """Return the Weight, Reps, Distance and Seconds cells of a set.

    The importer finds an exercise's type from these cells: weight when a load or reps are
    set, else distance, else time. So time sets leave Distance at 0, and a set without a
    value leaves its cell empty, which the importer reads back as no value.
    """
    canonical = to_canonical(item.value, exercise.type, exercise.unit)
    if exercise.type == WEIGHT:
        load = None if canonical is None else canonical / UNITS[WEIGHT][unit]
        weight = "" if load is None else _number(load)
        return weight, _number(float(item.reps)), "0", "0.0"
    seconds = item.duration_seconds
    if exercise.type == TIME:
        return "0", "0.0", "0", _number(canonical)
    assert exercise.type == DISTANCE
    distance = None if canonical is None else canonical / UNITS[DISTANCE][DISTANCE_UNIT[unit]]
    return "0", "0.0", _number(distance), _number(seconds) or "0.0"


def _number(value: float | None) -> str:
    """Format like Strong (60.0, 37.5), without binary noise beyond six decimals."""
    if value is None:
        return ""
    return repr(round(float(value), DECIMALS))


def _duration(start: datetime, end: datetime | None) -> str:
    """Return Strong's duration text such as "1h 5m", or nothing when the end is unknown."""
    if end is None or end < start:
        return ""
    minutes = int((end - start).total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes}m" if hours else f"{minutes}m"
