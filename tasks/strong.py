"""Parsing of Strong's CSV export into workouts, without touching the database.

Strong writes one row per set, plus a row per rest timer, under English or localized column
names. A workout is a distinct (date, workout name) pair. Inside a workout, each change of
exercise name starts a new exercise block, so an exercise done twice gives two exercises.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from storage.measures import DISTANCE, TIME, WEIGHT
from tasks.strong_rows import RestRow, Row, RowError, RowProblem, read_header, read_row

LOAD_UNITS = ("kg", "lb")
# Strong writes distances in the unit system of the load unit chosen at export time.
DISTANCE_UNIT = {"kg": "km", "lb": "mi"}
MAX_WORKOUT_NAME = 100
MAX_EXERCISE_NAME = 200


class StrongFormatError(ValueError):
    """Raised when the file as a whole cannot be read as a Strong export."""


@dataclass
class ParsedSet:
    order: int
    value: float | None
    reps: int
    line: int
    rest_seconds: float | None = None
    rpe: float | None = None


@dataclass
class ParsedExercise:
    name: str
    type: str
    unit: str
    notes: str | None
    sets: list[ParsedSet] = field(default_factory=list)


@dataclass
class ParsedWorkout:
    date: datetime
    """Start time in UTC."""
    local_date: datetime
    """Start time as the file writes it, without a time zone."""
    name: str
    notes: str | None
    duration: str | None
    exercises: list[ParsedExercise] = field(default_factory=list)


@dataclass
class ParseCounts:
    rows: int = 0
    sets: int = 0
    rest_rows: int = 0
    error_rows: int = 0


@dataclass
class StrongImport:
    workouts: list[ParsedWorkout]
    errors: list[RowError]
    counts: ParseCounts


def parse_strong(data: bytes, *, unit: str, timezone: str = "UTC") -> StrongImport:
    """Parse a Strong CSV export whose loads are in `unit` (kg or lb, chosen at export).

    Dates without a time zone are read as local time in `timezone` and returned in UTC.
    Rows that cannot be read are returned in `errors` with their 1-based line number, and the
    other rows are still parsed. Raises StrongFormatError when the file is not text or its
    header is not a Strong header, and ValueError for an invalid unit or time zone.
    """
    if unit not in LOAD_UNITS:
        raise ValueError(f"unit: invalid {unit!r}, expected kg or lb")
    zone = _zone(timezone)
    text = _decode(data)
    try:
        header = read_header(text)
    except ValueError as error:
        raise StrongFormatError(str(error)) from None

    builder = _WorkoutBuilder(unit=unit, zone=zone)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=header.delimiter, strict=True)
    last_line = 0
    while True:
        first_line = last_line + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            last_line = reader.line_num
            builder.counts.rows += 1
            if str(error) == "unexpected end of data":
                message = "invalid CSV: a quote opened in this row is never closed"
            else:
                message = f"invalid CSV: {error}"
            builder.add_error(first_line, message)
            continue
        last_line = reader.line_num
        if first_line <= header.line or not any(cell.strip() for cell in record):
            continue
        builder.counts.rows += 1
        try:
            row = read_row(record, header, first_line=first_line, last_line=last_line)
        except RowProblem as problem:
            builder.add_error(first_line, str(problem))
            continue
        builder.add(row)
    return builder.result()


class _WorkoutBuilder:
    """Group rows into workouts and exercise blocks, then turn the blocks into sets."""

    def __init__(self, *, unit: str, zone: ZoneInfo):
        self.unit = unit
        self.zone = zone
        self.counts = ParseCounts()
        self.errors: list[RowError] = []
        self._workouts: dict[tuple[datetime, str], ParsedWorkout] = {}
        self._blocks: dict[tuple[datetime, str], list[list[Row]]] = {}

    def add_error(self, line: int, message: str) -> None:
        self.errors.append(RowError(line=line, message=message))
        self.counts.error_rows += 1

    def add(self, row: Row | RestRow) -> None:
        if isinstance(row, RestRow):
            self.counts.rest_rows += 1
            self._attach_rest(row)
            return
        problem = _check_names(row)
        if problem:
            self.add_error(row.line, problem)
            return
        key = (row.local_date, row.workout_name)
        workout = self._workouts.get(key)
        if workout is None:
            workout = ParsedWorkout(
                date=_to_utc(row.local_date, self.zone),
                local_date=row.local_date.replace(tzinfo=None),
                name=row.workout_name,
                notes=None,
                duration=None,
            )
            self._workouts[key] = workout
            self._blocks[key] = []
        workout.notes = workout.notes or row.workout_notes
        workout.duration = workout.duration or row.duration
        blocks = self._blocks[key]
        if not blocks or blocks[-1][0].exercise_name != row.exercise_name:
            blocks.append([])
        blocks[-1].append(row)

    def _attach_rest(self, rest: RestRow) -> None:
        """Give the rest time to the set just before it, when it belongs to that set's block."""
        if rest.local_date is None or rest.seconds is None:
            return
        blocks = self._blocks.get((rest.local_date, rest.workout_name))
        if not blocks:
            return
        last = blocks[-1][-1]
        if last.exercise_name == rest.exercise_name and last.rest_seconds is None:
            last.rest_seconds = rest.seconds

    def result(self) -> StrongImport:
        workouts = []
        for key, workout in self._workouts.items():
            workout.exercises = [self._exercise(block) for block in self._blocks[key]]
            self.counts.sets += sum(len(exercise.sets) for exercise in workout.exercises)
            workouts.append(workout)
        return StrongImport(workouts=workouts, errors=self.errors, counts=self.counts)

    def _exercise(self, rows: list[Row]) -> ParsedExercise:
        kind = _exercise_type(rows)
        if kind == WEIGHT:
            unit = self.unit
        elif kind == TIME:
            unit = "seconds"
        else:
            unit = DISTANCE_UNIT[self.unit]
        notes = next((row.notes for row in rows if row.notes), None)
        exercise = ParsedExercise(name=rows[0].exercise_name, type=kind, unit=unit, notes=notes)
        for order, row in enumerate(rows, start=1):
            if kind == WEIGHT:
                value, reps = row.weight, int(row.reps or 0)
            elif kind == TIME:
                value, reps = row.seconds, 1
            else:
                value, reps = row.distance, 1
            exercise.sets.append(
                ParsedSet(
                    order=order,
                    value=value,
                    reps=reps,
                    line=row.line,
                    rest_seconds=row.rest_seconds,
                    rpe=row.rpe,
                )
            )
        return exercise


def _exercise_type(rows: list[Row]) -> str:
    """Return weight if any set has a load or reps, else distance, else time.

    Strong fixes the type per exercise, so the rows of one block agree. The one exception
    seen in real exports is an empty set (all zero), which carries no type of its own.
    """
    if any(row.weight or row.reps for row in rows):
        return WEIGHT
    if any(row.distance for row in rows):
        return DISTANCE
    if any(row.seconds for row in rows):
        return TIME
    return WEIGHT


def _check_names(row: Row) -> str | None:
    if not row.workout_name:
        return f"{row.columns['workout_name']}: missing"
    if not row.exercise_name:
        return f"{row.columns['exercise_name']}: missing"
    if len(row.workout_name) > MAX_WORKOUT_NAME:
        return (
            f"{row.columns['workout_name']}: too long ({len(row.workout_name)} characters, "
            f"the maximum is {MAX_WORKOUT_NAME})"
        )
    if len(row.exercise_name) > MAX_EXERCISE_NAME:
        return (
            f"{row.columns['exercise_name']}: too long ({len(row.exercise_name)} characters, "
            f"the maximum is {MAX_EXERCISE_NAME})"
        )
    return None


def _to_utc(value: datetime, zone: ZoneInfo) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        message = f"timezone: invalid {name!r}, expected an IANA name such as Europe/Berlin"
        raise ValueError(message) from None


def _decode(data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as error:
            raise StrongFormatError(f"invalid UTF-16 text at byte {error.start}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise StrongFormatError(
            f"invalid text: the file is not UTF-8 (bad byte at offset {error.start})"
        ) from None
    if not text.strip():
        raise StrongFormatError("the file is empty")
    return text
