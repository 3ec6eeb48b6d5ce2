"""Parsing of Strong's CSV export into workouts, without touching the database.

Strong writes one row per set, plus a row per rest timer, under English or localized column
names. A workout is a distinct (date, workout name) pair. Inside a workout, each change of
exercise name starts a new exercise block, so an exercise done twice gives two exercises.
Strong writes 0 in the distance and seconds of a set that has none, so zeros are not kept as
a set's duration or distance.
"""

from __future__ import annotations

from datetime import datetime

from tasks.csv_input import data_records, decode, zone
from tasks.parsed import (
    MAX_EXERCISE_NAME,
    MAX_WORKOUT_NAME,
    Block,
    FileFormatError,
    ParseCounts,
    ParsedExercise,
    ParsedFile,
    ParsedSet,
    ParsedWorkout,
    RowProblem,
    SetRow,
    WorkoutBuilder,
    check_name,
)
from tasks.strong_rows import RestRow, Row, RowReader, read_header

__all__ = [
    "DISTANCE_UNIT",
    "LOAD_UNITS",
    "ParseCounts",
    "ParsedExercise",
    "ParsedSet",
    "ParsedWorkout",
    "StrongFormatError",
    "StrongImport",
    "parse_strong",
]

LOAD_UNITS = ("kg", "lb")
# Strong writes distances in the unit system of the load unit chosen at export time.
DISTANCE_UNIT = {"kg": "km", "lb": "mi"}

StrongImport = ParsedFile


class StrongFormatError(FileFormatError):
    """Raised when the file as a whole cannot be read as a Strong export."""


def parse_strong(data: bytes, *, unit: str, timezone: str = "UTC") -> ParsedFile:
    """Parse a Strong CSV export whose loads are in `unit` (kg or lb, chosen at export).

    Dates without a time zone are read as local time in `timezone` and returned in UTC.
    Rows that cannot be read are returned in `errors` with their 1-based line number, and the
    other rows are still parsed. Raises StrongFormatError when the file is not text or its
    header is not a Strong header, and ValueError for an invalid unit or time zone.
    """
    if unit not in LOAD_UNITS:
        raise ValueError(f"unit: invalid {unit!r}, expected kg or lb")
    builder = _StrongBuilder(unit=unit, timezone=timezone)
    try:
        text = decode(data)
        header = read_header(text)
    except ValueError as error:
        raise StrongFormatError(str(error)) from None

    reader = RowReader(header, check_nul="\x00" in text)
    records = data_records(
        text, delimiter=header.delimiter, header_line=header.line, builder=builder
    )
    for record in records:
        try:
            row = reader.read(
                record.cells, first_line=record.first_line, last_line=record.last_line
            )
        except RowProblem as problem:
            builder.add_error(record.first_line, str(problem))
            continue
        if isinstance(row, RestRow):
            builder.counts.rest_rows += 1
            builder.attach_rest(row)
        else:
            builder.add(row, reader.labels)
    return builder.result()


class _StrongBuilder(WorkoutBuilder):
    """Group rows into workouts by (date, workout name), and into blocks by exercise name."""

    def __init__(self, *, unit: str, timezone: str):
        super().__init__(zone(timezone))
        self.unit = unit
        self.distance_unit = DISTANCE_UNIT[unit]
        self._last_rows: dict[tuple[datetime, str], tuple[str, SetRow]] = {}
        self._valid_names: set[tuple[str, str]] = set()

    def add(self, row: Row, labels: dict[str, str]) -> None:
        names = (row.workout_name, row.exercise_name)
        if names not in self._valid_names:
            problem = check_name(
                row.workout_name, labels["workout_name"], MAX_WORKOUT_NAME
            ) or check_name(row.exercise_name, labels["exercise_name"], MAX_EXERCISE_NAME)
            if problem:
                self.add_error(row.line, problem)
                return
            self._valid_names.add(names)

        key = (row.local_date, row.workout_name)
        draft = self.draft(key, local_date=row.local_date, name=row.workout_name)
        workout = draft.workout
        workout.notes = workout.notes or row.workout_notes
        workout.duration = workout.duration or row.duration

        blocks = draft.blocks
        if not blocks or blocks[-1].name != row.exercise_name:
            blocks.append(Block(row.exercise_name))
        block = blocks[-1]
        notes = row.notes
        if notes and block.notes is None:
            block.notes = notes

        set_row = SetRow(
            row.line,
            row.weight,
            row.reps,
            row.distance,
            row.seconds,
            self.unit,
            self.distance_unit,
            row.rpe,
            None,
            # Strong repeats an exercise's note on its rows; a different one belongs to the set.
            notes if notes and notes != block.notes else None,
        )
        block.rows.append(set_row)
        self._last_rows[key] = (row.exercise_name, set_row)

    def attach_rest(self, rest: RestRow) -> None:
        """Give the rest time to the set just before it, when it belongs to that set's block."""
        if rest.local_date is None or rest.seconds is None:
            return
        last = self._last_rows.get((rest.local_date, rest.workout_name))
        if last is None:
            return
        exercise_name, set_row = last
        if exercise_name == rest.exercise_name and set_row.rest_seconds is None:
            set_row.rest_seconds = rest.seconds
