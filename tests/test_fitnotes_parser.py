"""The FitNotes CSV parser on small files that each carry quirks of real exports."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tasks.fitnotes import parse_fitnotes
from tasks.fitnotes_rows import parse_clock
from tasks.parsed import FileFormatError, ParsedFile
from tests.conftest import FIXTURES

FITNOTES = FIXTURES / "fitnotes"


def parse(name: str, *, timezone: str = "UTC", unit: str | None = None) -> ParsedFile:
    return parse_fitnotes((FITNOTES / name).read_bytes(), timezone=timezone, unit=unit)


def test_one_workout_per_day() -> None:
    result = parse("legacy-lbs.csv")
    assert result.errors == []
    assert [w.local_date for w in result.workouts] == [
        datetime(2020, 9, 15, 12, 0),
        datetime(2020, 9, 17, 12, 0),
    ]
    assert result.counts.sets == 10


def test_category_of_first_exercise() -> None:
    workouts = parse("legacy-lbs.csv").workouts
    assert [w.name for w in workouts] == ["Chest", "Legs"]
    assert all(w.key_name == "" for w in workouts)


def test_day_starts_at_local_noon() -> None:
    workout = parse("legacy-lbs.csv", timezone="America/New_York").workouts[0]
    assert workout.date == datetime(2020, 9, 15, 16, 0, tzinfo=UTC)


def test_unit_from_header() -> None:
    bench = parse("legacy-lbs.csv").workouts[0].exercises[0]
    assert (bench.type, bench.unit) == ("weight", "lb")
    assert [(s.value, s.reps) for s in bench.sets] == [(45.0, 10), (135.0, 5)]


def test_alternating_rows_numbered_per_exercise() -> None:
    exercises = parse("legacy-lbs.csv").workouts[0].exercises
    assert [e.name for e in exercises] == [
        "Flat Barbell Bench Press",
        "Rope Push Down",
        "Lateral Dumbbell Raise",
        "Barbell Curl",
    ]
    push_down, raise_ = exercises[1], exercises[2]
    assert [(s.order, s.value) for s in push_down.sets] == [(1, 50.0), (2, 60.0)]
    assert [(s.order, s.reps) for s in raise_.sets] == [(1, 20), (2, 15)]
    assert [s.line for s in raise_.sets] == [5, 7]


def test_alternating_rows_are_a_superset() -> None:
    exercises = parse("legacy-lbs.csv").workouts[0].exercises
    assert [e.superset_id for e in exercises] == [None, "1", "1", None]


def test_unquoted_commas_rejoined() -> None:
    result = parse("per-row-units.csv")
    assert result.errors == []
    names = [e.name for e in result.workouts[0].exercises]
    assert names == [
        "Overhead Press (Each Side, Dumbbells)",
        "Bench Press (With Bar, Each Side)",
        "Cable Fly",
    ]
    press = result.workouts[0].exercises[0]
    assert [(s.value, s.reps) for s in press.sets] == [(8.0, 5), (10.0, 3)]


def test_per_row_units() -> None:
    exercises = parse("per-row-units.csv").workouts[0].exercises
    assert exercises[0].unit == "kg"
    fly = exercises[2]
    assert fly.unit == "lb"
    assert [s.value for s in fly.sets] == [20.0, pytest.approx(22.046226, abs=1e-6)]


def test_cardio_rows() -> None:
    running, plank, rowing = parse("per-row-units.csv").workouts[1].exercises
    assert (running.type, running.unit) == ("distance", "km")
    assert [(s.value, s.reps) for s in running.sets] == [(5.0, 1)]
    assert running.sets[0].duration_seconds == 1530.0
    assert running.sets[0].distance_m == 5000.0
    assert (plank.type, plank.unit) == ("time", "seconds")
    assert [(s.value, s.reps) for s in plank.sets] == [(90.0, 1)]
    assert (rowing.type, rowing.unit) == ("distance", "m")
    assert rowing.sets[0].distance_m == 2000.0


def test_comment_is_set_notes() -> None:
    deadlift, row = parse("comment.csv").workouts[0].exercises
    assert [s.notes for s in deadlift.sets] == ["Felt strong, no belt", None]
    assert row.name == "Row (Cable, Seated)"
    assert [s.notes for s in row.sets] == ["slow, controlled", None]
    assert deadlift.unit == "kg"


def test_broken_rows_reported_by_line() -> None:
    result = parse("broken.csv")
    assert [error.line for error in result.errors] == [3, 4, 5, 7, 8, 9, 10]
    squat = result.workouts[0].exercises[0]
    assert [s.line for s in squat.sets] == [2, 6, 11]


@pytest.mark.parametrize(
    ("line", "words"),
    [
        (3, ("Date", "'2025-05-32'")),
        (4, ("Weight", "'heavy'", "not a number")),
        (5, ("Weight Unit", "'stone'")),
        (7, ("Time", "'soon'")),
        (8, ("Distance Unit", "missing")),
        (9, ("Exercise", "missing")),
        (10, ("wrong number of columns", "5", "9")),
    ],
)
def test_broken_row_message(line: int, words: tuple[str, ...]) -> None:
    messages = {error.line: error.message for error in parse("broken.csv").errors}
    for word in words:
        assert word in messages[line]


def test_missing_unit_reported_per_row() -> None:
    data = (
        b"Date,Exercise,Category,Weight,Reps,Distance,Distance Unit,Time\n"
        b"2020-01-01,Squat,Legs,100,5,,,\n"
    )
    result = parse_fitnotes(data)
    assert [error.line for error in result.errors] == [2]
    assert "unit=kg" in result.errors[0].message
    squat = parse_fitnotes(data, unit="lb").workouts[0].exercises[0]
    assert squat.unit == "lb"


def test_hevy_file_is_rejected() -> None:
    data = (FIXTURES / "hevy" / "metric.csv").read_bytes()
    with pytest.raises(FileFormatError, match="unknown header layout"):
        parse_fitnotes(data)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("0:25:30", 1530.0), ("1:30", 90.0), ("45", 45.0), ("1:75", None), ("a:10", None)],
)
def test_clock_times(text: str, seconds: float | None) -> None:
    assert parse_clock(text) == seconds
