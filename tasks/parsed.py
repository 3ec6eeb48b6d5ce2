"""The structure every import format parses into: workouts, exercises, sets, unreadable rows.

Each format module (tasks/strong.py, tasks/hevy.py, tasks/fitnotes.py) reads its rows into
`SetRow`s, in the units its file writes, and groups them into blocks with a `WorkoutBuilder`.
The builder turns each block into one exercise with one type (weight, time or distance) and
one unit, and returns a `ParsedFile` that the bulk writer in storage/imports.py stores.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from storage.measures import DISTANCE, TIME, UNITS, WEIGHT

SET_TYPES = ("normal", "warmup", "dropset", "failure")
MAX_WORKOUT_NAME = 100
MAX_EXERCISE_NAME = 200
MAX_SUPERSET_ID = 32
MAX_RPE = 10.0
# Metres per distance unit of the files. Units that storage.measures does not know (feet,
# yards) are stored converted to metres.
METRES = {"m": 1.0, "km": 1000.0, "mi": 1609.344, "ft": 0.3048, "yd": 0.9144}
# Values are rounded to this many decimals, which hides float noise such as
# 37.49999999999999 from pound-to-kilogram conversions in the exporting app.
DECIMALS = 6


class FileFormatError(ValueError):
    """Raised when a file as a whole cannot be read in the format it was uploaded as."""


class RowProblem(ValueError):
    """Raised when one row cannot be read. The message names the column and the reason."""


@dataclass(frozen=True)
class RowError:
    line: int
    message: str


@dataclass(slots=True)
class ParsedSet:
    order: int
    value: float | None
    reps: int
    line: int
    rest_seconds: float | None = None
    rpe: float | None = None
    set_type: str | None = None
    duration_seconds: float | None = None
    distance_m: float | None = None
    notes: str | None = None


@dataclass
class ParsedExercise:
    name: str
    type: str
    unit: str
    notes: str | None
    sets: list[ParsedSet] = field(default_factory=list)
    superset_id: str | None = None


@dataclass
class ParsedWorkout:
    date: datetime
    """Start time in UTC."""
    local_date: datetime
    """Start time as the file writes it, without a time zone unless the file gives one."""
    name: str
    """The workout's title, which becomes its category."""
    notes: str | None
    duration: str | None
    exercises: list[ParsedExercise] = field(default_factory=list)
    key_name: str | None = None
    """With the format and `local_date`, identifies the workout across imports; None: `name`."""


@dataclass
class ParseCounts:
    rows: int = 0
    sets: int = 0
    rest_rows: int = 0
    error_rows: int = 0


@dataclass
class ParsedFile:
    workouts: list[ParsedWorkout]
    errors: list[RowError]
    counts: ParseCounts


@dataclass(slots=True)
class SetRow:
    """One set as its row writes it: load, distance and their units as in the file."""

    line: int
    weight: float | None
    reps: float | None
    distance: float | None
    seconds: float | None
    load_unit: str
    distance_unit: str
    rpe: float | None = None
    set_type: str | None = None
    notes: str | None = None
    rest_seconds: float | None = None


@dataclass
class Block:
    """The rows of one exercise in one workout, in file order."""

    name: str
    rows: list[SetRow] = field(default_factory=list)
    notes: str | None = None
    superset_id: str | None = None


@dataclass
class WorkoutDraft:
    workout: ParsedWorkout
    blocks: list[Block] = field(default_factory=list)


class WorkoutBuilder:
    """Collect workouts and their blocks by a key each format chooses, and count rows."""

    def __init__(self, zone: ZoneInfo):
        self.zone = zone
        self.counts = ParseCounts()
        self.errors: list[RowError] = []
        self.drafts: dict[Hashable, WorkoutDraft] = {}

    def add_error(self, line: int, message: str) -> None:
        self.errors.append(RowError(line=line, message=message))
        self.counts.error_rows += 1

    def draft(
        self, key: Hashable, *, local_date: datetime, name: str, key_name: str | None = None
    ) -> WorkoutDraft:
        """Return the workout of `key`, starting it at `local_date` if it is new."""
        draft = self.drafts.get(key)
        if draft is None:
            workout = ParsedWorkout(
                date=to_utc(local_date, self.zone),
                local_date=local_date,
                name=name,
                notes=None,
                duration=None,
                key_name=key_name,
            )
            draft = self.drafts[key] = WorkoutDraft(workout)
        return draft

    def result(self) -> ParsedFile:
        workouts = []
        for draft in self.drafts.values():
            draft.workout.exercises = [make_exercise(block) for block in draft.blocks]
            self.counts.sets += sum(len(block.rows) for block in draft.blocks)
            workouts.append(draft.workout)
        return ParsedFile(workouts=workouts, errors=self.errors, counts=self.counts)


def make_exercise(block: Block) -> ParsedExercise:
    """Turn a block into an exercise whose sets all have its type and unit.

    Weight sets keep their load and reps. Time and distance sets have the duration or the
    distance as their value and 1 rep. Every set also keeps its own duration in seconds and
    distance in metres when the file gives them (a zero counts as not given).
    """
    kind = exercise_type(block.rows)
    first = block.rows[0]
    if kind == WEIGHT:
        unit = next(
            (row.load_unit for row in block.rows if row.weight is not None), first.load_unit
        )
    elif kind == TIME:
        unit = "seconds"
    else:
        unit = next((row.distance_unit for row in block.rows if row.distance), first.distance_unit)
        if unit not in UNITS[DISTANCE]:
            unit = "m"
    exercise = ParsedExercise(
        name=block.name, type=kind, unit=unit, notes=block.notes, superset_id=block.superset_id
    )
    for order, row in enumerate(block.rows, start=1):
        if kind == WEIGHT:
            value = _convert(row.weight, UNITS[WEIGHT], row.load_unit, unit)
            reps = int(row.reps or 0)
        elif kind == TIME:
            value, reps = row.seconds, 1
        else:
            value = _convert(row.distance, METRES, row.distance_unit, unit)
            reps = 1
        distance = row.distance
        # Positional arguments: this runs once per set of the file.
        exercise.sets.append(
            ParsedSet(
                order,
                value,
                reps,
                row.line,
                row.rest_seconds,
                row.rpe,
                row.set_type,
                row.seconds or None,
                round(distance * METRES[row.distance_unit], DECIMALS) if distance else None,
                row.notes,
            )
        )
    return exercise


def exercise_type(rows: list[SetRow]) -> str:
    """Return weight if any set has a load or reps, else distance, else time.

    Apps fix the type per exercise, so the rows of one block agree. The one exception seen in
    real exports is an empty set (all zero or blank), which carries no type of its own.
    """
    if any(row.weight or row.reps for row in rows):
        return WEIGHT
    if any(row.distance for row in rows):
        return DISTANCE
    if any(row.seconds for row in rows):
        return TIME
    return WEIGHT


def _convert(
    value: float | None, factors: dict[str, float], unit: str, target: str
) -> float | None:
    if value is None or unit == target:
        return value
    return round(value * factors[unit] / factors[target], DECIMALS)


def check_name(value: str, label: str, maximum: int) -> str | None:
    """Return why a workout or exercise name cannot be stored, or None when it can."""
    if not value:
        return f"{label}: missing"
    if len(value) > maximum:
        return f"{label}: too long ({len(value)} characters, the maximum is {maximum})"
    return None


def to_utc(value: datetime, zone: ZoneInfo) -> datetime:
    """Read a naive time as local time in `zone`; return it in UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)
