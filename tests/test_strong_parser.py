"""The Strong CSV parser on small files that each carry one quirk of real exports."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tasks.strong import StrongFormatError, StrongImport, parse_strong
from tests.conftest import FIXTURES

STRONG = FIXTURES / "strong"


def parse(name: str, *, unit: str = "kg", timezone: str = "UTC") -> StrongImport:
    return parse_strong((STRONG / name).read_bytes(), unit=unit, timezone=timezone)


def test_english_groups_workouts_and_blocks() -> None:
    result = parse("english.csv")
    assert [w.name for w in result.workouts] == ["Push Day", "Cardio"]
    push = result.workouts[0]
    assert [e.name for e in push.exercises] == [
        "Bench Press (Barbell)",
        "Plank",
        "Bench Press (Barbell)",
    ]
    assert [len(e.sets) for e in push.exercises] == [2, 2, 1]
    assert [s.order for s in push.exercises[2].sets] == [1]
    assert result.errors == []


def test_english_counts() -> None:
    counts = parse("english.csv").counts
    assert counts.rows == 10
    assert counts.sets == 8
    assert counts.rest_rows == 2
    assert counts.error_rows == 0


def test_english_weight_sets() -> None:
    bench = parse("english.csv", unit="lb").workouts[0].exercises[0]
    assert bench.type == "weight"
    assert bench.unit == "lb"
    assert [(s.value, s.reps) for s in bench.sets] == [(60.0, 10), (37.5, 8)]
    assert all(isinstance(s.reps, int) for s in bench.sets)
    assert bench.sets[1].rpe == 8.5


def test_rest_row_sets_rest_of_previous_set() -> None:
    push = parse("english.csv").workouts[0]
    assert push.exercises[0].sets[0].rest_seconds == 90.0
    assert push.exercises[0].sets[1].rest_seconds is None
    assert push.exercises[1].sets[0].rest_seconds == 30.0


def test_time_and_distance_sets() -> None:
    result = parse("english.csv", unit="lb")
    plank = result.workouts[0].exercises[1]
    running = result.workouts[1].exercises[0]
    assert (plank.type, plank.unit) == ("time", "seconds")
    assert [(s.value, s.reps) for s in plank.sets] == [(60.0, 1), (45.0, 1)]
    assert (running.type, running.unit) == ("distance", "mi")
    assert [(s.value, s.reps) for s in running.sets] == [(5.2, 1)]


def test_distance_unit_follows_kg() -> None:
    running = parse("english.csv", unit="kg").workouts[1].exercises[0]
    assert running.unit == "km"


def test_empty_set_is_kept() -> None:
    pull_up = parse("english.csv").workouts[1].exercises[1]
    assert pull_up.type == "weight"
    assert [(s.value, s.reps) for s in pull_up.sets] == [(0.0, 5), (0.0, 0)]


def test_notes_carried_over() -> None:
    push = parse("english.csv").workouts[0]
    assert push.notes == "Felt strong"
    assert push.exercises[0].notes == "Pause at the chest"
    assert push.exercises[1].notes is None
    assert push.duration == "1h 5m"


def test_dates_read_in_time_zone() -> None:
    push = parse("english.csv", timezone="Europe/Berlin").workouts[0]
    assert push.date == datetime(2024, 3, 4, 17, 30, tzinfo=UTC)
    assert push.local_date == datetime(2024, 3, 4, 18, 30)


def test_dates_default_to_utc() -> None:
    push = parse("english.csv").workouts[0]
    assert push.date == datetime(2024, 3, 4, 18, 30, tzinfo=UTC)


def test_german_headers_and_rest_rows() -> None:
    result = parse("german.csv")
    assert result.errors == []
    assert result.counts.rest_rows == 1
    assert [w.name for w in result.workouts] == ["Pull", "PULL"]
    pull = result.workouts[0]
    assert [e.name for e in pull.exercises] == ["Klimmzug", "Rudergerät Zeit"]
    assert [(s.value, s.reps) for s in pull.exercises[0].sets] == [(0.0, 3), (4.5, 2)]
    assert pull.exercises[1].type == "time"
    assert pull.duration == "31min"


def test_older_layout_without_duration() -> None:
    result = parse("older.csv")
    assert result.errors == []
    workout = result.workouts[0]
    assert workout.name == "Воркаут после полудня"
    assert workout.duration is None
    assert [e.name for e in workout.exercises] == [
        "Elliptical Machine",
        "Lateral Raise (Dumbbell)",
        "Жим лёжа",
        "Lateral Raise (Dumbbell)",
    ]
    assert workout.exercises[0].type == "distance"
    assert workout.exercises[0].sets[0].value == 2.56
    assert [s.reps for s in workout.exercises[3].sets] == [15]


def test_semicolon_with_decimal_comma() -> None:
    result = parse("semicolon.csv")
    assert result.errors == []
    exercises = result.workouts[0].exercises
    assert [(s.value, s.reps) for s in exercises[0].sets] == [(102.5, 5)]
    assert exercises[0].sets[0].rest_seconds == 120.0
    assert exercises[1].sets[0].value == 1002.5
    assert exercises[2].sets[0].value == 3.5
    assert exercises[2].notes == "Notiz; mit Semikolon"


def test_bom_and_crlf() -> None:
    result = parse("bom-crlf.csv")
    assert result.errors == []
    squat = result.workouts[0].exercises[0]
    assert squat.name == "Squat (Barbell)"
    assert [(s.value, s.reps) for s in squat.sets] == [(100.0, 5), (105.0, 3)]


def test_quoted_commas_and_newlines() -> None:
    result = parse("quoted.csv")
    workout = result.workouts[0]
    assert workout.name == "Upper, Heavy"
    assert workout.notes == "Line one\nline two, with comma"
    row = workout.exercises[0]
    assert row.name == "Row (Cable, Seated)"
    assert row.notes == "Slow negatives, 3 s\nthen a pause"
    assert [(s.value, s.reps) for s in row.sets] == [(40.0, 10), (None, 10)]


def test_line_numbers_after_multiline_row() -> None:
    result = parse("quoted.csv")
    assert [e.line for e in result.errors] == [6]
    assert "Weight" in result.errors[0].message
    assert [s.line for s in result.workouts[0].exercises[0].sets] == [2, 5]


def test_broken_rows_reported_by_line() -> None:
    result = parse("broken.csv")
    lines = [error.line for error in result.errors]
    assert lines == [3, 4, 5, 6, 7, 10, 12, 13]


@pytest.mark.parametrize(
    ("line", "words"),
    [
        (3, ("Weight", "'abc'", "not a number")),
        (4, ("Date", "'2024-07-01 25:00:00'")),
        (5, ("wrong number of columns", "11", "12")),
        (6, ("Set Order", "'Warmup'")),
        (7, ("Reps", "whole number")),
        (10, ("Weight", "negative")),
        (12, ("Exercise Name", "missing")),
        (13, ("quote",)),
    ],
)
def test_broken_row_message(line: int, words: tuple[str, ...]) -> None:
    messages = {error.line: error.message for error in parse("broken.csv").errors}
    for word in words:
        assert word in messages[line]


def test_broken_file_keeps_good_rows() -> None:
    result = parse("broken.csv")
    squat = result.workouts[0].exercises[0]
    assert [s.line for s in squat.sets] == [2, 11]
    assert result.counts.rest_rows == 1
    assert result.counts.error_rows == 8


def test_unknown_header_is_rejected() -> None:
    data = (
        b'"title","start_time","exercise_title","weight_kg","reps"\n'
        b'"A","1 Jan 2024, 10:00","B",5,5\n'
    )
    with pytest.raises(StrongFormatError, match="unknown header layout") as caught:
        parse_strong(data, unit="kg")
    assert "Set Order" in str(caught.value)


def test_empty_file_is_rejected() -> None:
    with pytest.raises(StrongFormatError, match="empty"):
        parse_strong(b"\xef\xbb\xbf \n", unit="kg")


def test_non_utf8_file_is_rejected() -> None:
    data = (STRONG / "german.csv").read_bytes().decode().encode("latin-1")
    with pytest.raises(StrongFormatError, match="UTF-8"):
        parse_strong(data, unit="kg")


def test_invalid_unit_is_rejected() -> None:
    with pytest.raises(ValueError, match="unit"):
        parse_strong((STRONG / "english.csv").read_bytes(), unit="stone")


def test_invalid_time_zone_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone"):
        parse_strong((STRONG / "english.csv").read_bytes(), unit="kg", timezone="Mars/Olympus")


HEADER = (
    b"Date,Workout Name,Duration,Exercise Name,Set Order,Weight,Reps,Distance,Seconds,"
    b"Notes,Workout Notes,RPE\n"
)


@pytest.mark.parametrize(
    ("row", "words"),
    [
        (
            b'2025-06-04 20:23:00,"Big",1m,"Bench",1,1e308,10.0,0,0.0,"","",\n',
            ("Weight", "more than"),
        ),
        (
            b'2025-06-04 20:23:00,"Big",1m,"Bench",1,99999999999,10.0,0,0.0,"","",\n',
            ("Weight", "more than"),
        ),
        (
            b'2025-06-04 20:23:00,"Big",1m,"Ben\x00ch",1,50,10.0,0,0.0,"","",\n',
            ("Exercise Name", "NUL"),
        ),
    ],
)
def test_out_of_range_rows_rejected(row: bytes, words: tuple[str, ...]) -> None:
    good = b'2025-06-04 20:23:00,"Big",1m,"Bench",2,50,5.0,0,0.0,"","",\n'
    result = parse_strong(HEADER + row + good, unit="kg")
    assert [error.line for error in result.errors] == [2]
    for word in words:
        assert word in result.errors[0].message
    assert result.counts.sets == 1
