"""The Hevy CSV parser on small files that each carry quirks of real exports."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tasks.hevy import parse_hevy, parse_hevy_time
from tasks.parsed import FileFormatError, ParsedFile, ParsedWorkout
from tests.conftest import FIXTURES

HEVY = FIXTURES / "hevy"


def parse(name: str, *, timezone: str = "UTC", unit: str | None = None) -> ParsedFile:
    return parse_hevy((HEVY / name).read_bytes(), timezone=timezone, unit=unit)


def push_day() -> ParsedWorkout:
    return parse("metric.csv").workouts[0]


def test_metric_groups_workouts() -> None:
    result = parse("metric.csv")
    assert result.errors == []
    assert [w.name for w in result.workouts] == ["Push day 🏋️", "Cardio"]
    assert result.counts.rows == 11
    assert result.counts.sets == 11


def test_exercise_blocks() -> None:
    exercises = push_day().exercises
    assert [e.name for e in exercises] == [
        "Bench Press (Barbell)",
        "Triceps Pushdown (Cable)",
        "Lateral Raise (Dumbbell)",
        "Dip",
        "Bench Press (Barbell)",
    ]
    assert [len(e.sets) for e in exercises] == [3, 3, 1, 1, 1]
    assert [s.order for s in exercises[0].sets] == [1, 2, 3]


def test_start_time_with_comma() -> None:
    workout = push_day()
    assert workout.local_date == datetime(2025, 12, 19, 23, 6)
    assert workout.date == datetime(2025, 12, 19, 23, 6, tzinfo=UTC)


def test_start_time_in_time_zone() -> None:
    workout = parse("metric.csv", timezone="Europe/Paris").workouts[0]
    assert workout.date == datetime(2025, 12, 19, 22, 6, tzinfo=UTC)
    assert workout.local_date == datetime(2025, 12, 19, 23, 6)


def test_set_types_kept() -> None:
    exercises = push_day().exercises
    assert [s.set_type for s in exercises[0].sets] == ["warmup", "normal", "failure"]
    assert [s.set_type for s in exercises[1].sets] == ["normal", "dropset", "dropset"]


def test_rpe_kept() -> None:
    bench = push_day().exercises[0]
    assert [s.rpe for s in bench.sets] == [None, 8.5, 10.0]


def test_weights_in_kilograms() -> None:
    exercises = push_day().exercises
    assert (exercises[0].type, exercises[0].unit) == ("weight", "kg")
    assert [(s.value, s.reps) for s in exercises[0].sets] == [(40.0, 10), (80.0, 5), (80.0, 4)]
    assert [s.value for s in exercises[1].sets] == [30.0, 22.68, 15.0]


def test_bodyweight_set_has_no_value() -> None:
    dip = push_day().exercises[3]
    assert dip.type == "weight"
    assert [(s.value, s.reps) for s in dip.sets] == [(None, 12)]


def test_supersets_kept() -> None:
    exercises = push_day().exercises
    assert [e.superset_id for e in exercises] == [None, "0", "0", None, None]


def test_escaped_newlines_in_notes() -> None:
    workout = push_day()
    assert workout.notes == "Heavy day\nfelt good"
    assert workout.exercises[0].notes == "Pause, then press"
    assert workout.exercises[4].notes is None


def test_duration_only_row() -> None:
    treadmill = parse("metric.csv").workouts[1].exercises[0]
    assert (treadmill.type, treadmill.unit) == ("time", "seconds")
    assert [(s.value, s.reps) for s in treadmill.sets] == [(1800.0, 1)]
    assert treadmill.sets[0].duration_seconds == 1800.0
    assert treadmill.sets[0].distance_m is None
    assert treadmill.notes == "Incline 5"


def test_distance_row() -> None:
    running = parse("metric.csv").workouts[1].exercises[1]
    assert (running.type, running.unit) == ("distance", "km")
    assert [(s.value, s.reps) for s in running.sets] == [(5.2, 1)]
    assert running.sets[0].distance_m == 5200.0
    assert running.sets[0].duration_seconds == 1650.0


def test_imperial_header_units() -> None:
    legs = parse("imperial.csv").workouts[0]
    squat, walking = legs.exercises
    assert (squat.type, squat.unit) == ("weight", "lb")
    assert [s.value for s in squat.sets] == [225.0, 245.5]
    assert (walking.type, walking.unit) == ("distance", "mi")
    assert walking.sets[0].distance_m == pytest.approx(2414.016)


def test_header_unit_wins_over_given_unit() -> None:
    squat = parse("imperial.csv", unit="kg").workouts[0].exercises[0]
    assert squat.unit == "lb"


def test_weight_without_unit_needs_one() -> None:
    data = (HEVY / "metric.csv").read_bytes().replace(b'"weight_kg"', b'"weight"', 1)
    with pytest.raises(FileFormatError, match="unit"):
        parse_hevy(data)
    bench = parse_hevy(data, unit="lb").workouts[0].exercises[0]
    assert bench.unit == "lb"


def test_broken_rows_reported_by_line() -> None:
    result = parse("broken.csv")
    assert [error.line for error in result.errors] == [3, 4, 5, 6, 7, 8, 9, 11]
    assert result.counts.error_rows == 8
    row = result.workouts[0].exercises[0]
    assert [s.line for s in row.sets] == [2, 10]


@pytest.mark.parametrize(
    ("line", "words"),
    [
        (3, ("start_time", "'35 Jan 2026, 18:00'")),
        (4, ("weight_kg", "'abc'", "not a number")),
        (5, ("set_type", "'superset'", "warmup")),
        (6, ("reps", "whole number")),
        (7, ("rpe", "more than 10")),
        (8, ("wrong number of columns", "13", "14")),
        (9, ("exercise_title", "missing")),
    ],
)
def test_broken_row_message(line: int, words: tuple[str, ...]) -> None:
    messages = {error.line: error.message for error in parse("broken.csv").errors}
    for word in words:
        assert word in messages[line]


def test_strong_file_is_rejected() -> None:
    data = (FIXTURES / "strong" / "english.csv").read_bytes()
    with pytest.raises(FileFormatError, match="unknown header layout") as caught:
        parse_hevy(data)
    assert "exercise_title" in str(caught.value)


def test_empty_file_is_rejected() -> None:
    with pytest.raises(FileFormatError, match="empty"):
        parse_hevy(b"\n\n")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10 Feb 2024, 19:57", datetime(2024, 2, 10, 19, 57)),
        ("1 Sept 2024, 07:05", datetime(2024, 9, 1, 7, 5)),
        ("2024-02-10T19:57:00+01:00", datetime.fromisoformat("2024-02-10T19:57:00+01:00")),
        ("31 Feb 2024, 19:57", None),
        ("10 Foo 2024, 19:57", None),
        ("", None),
    ],
)
def test_time_formats(text: str, expected: datetime | None) -> None:
    assert parse_hevy_time(text) == expected
