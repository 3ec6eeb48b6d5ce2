"""Per-set measures, summaries and the rep-max frontier, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage.measures import (
    RepPoint,
    SetMeasure,
    epley,
    rep_frontier,
    summarize,
    to_canonical,
)

DAY = datetime(2026, 1, 5, 18, 0, tzinfo=UTC)


def weight_set(set_id: int, load: float | None, reps: int) -> SetMeasure:
    return SetMeasure(set_id, 1, DAY, "weight", load, reps)


def test_summary_worked_example() -> None:
    sets = [
        weight_set(1, 100, 5),
        weight_set(2, 102.5, 3),
        weight_set(3, 60, 12),
        weight_set(4, None, 10),
    ]
    summary = summarize(sets)
    assert summary.volume == pytest.approx(1527.5)
    assert summary.reps == 30
    assert summary.sets == 4
    assert summary.max_load is not None
    assert summary.max_load.value == 102.5
    assert summary.max_load.set_id == 2
    assert summary.best_e1rm is not None
    assert summary.best_e1rm.value == pytest.approx(116.6667, abs=1e-3)
    assert summary.best_e1rm.set_id == 1
    assert summary.max_set_volume is not None
    assert summary.max_set_volume.value == 720
    assert summary.max_set_volume.set_id == 3


def test_summary_tie_keeps_earlier_set() -> None:
    summary = summarize([weight_set(1, 80, 5), weight_set(2, 80, 5)])
    assert summary.max_load is not None
    assert summary.max_load.set_id == 1


def test_summary_skips_load_of_zero_reps() -> None:
    summary = summarize([weight_set(1, 100, 5), weight_set(2, 500, 0)])
    assert summary.max_load is not None
    assert summary.max_load.value == 100
    assert summary.max_load.set_id == 1
    assert summary.max_set_volume is not None
    assert summary.max_set_volume.set_id == 1


def test_summary_time_sums_durations() -> None:
    sets = [SetMeasure(1, 1, DAY, "time", 60, 1), SetMeasure(2, 1, DAY, "time", 90, 1)]
    summary = summarize(sets)
    assert summary.volume == 150
    assert summary.max_load is None
    assert summary.best_e1rm is None
    assert summary.max_set_volume is not None
    assert summary.max_set_volume.value == 90


@pytest.mark.parametrize(
    ("load", "reps", "expected"),
    [
        (100, 1, 100),
        (100, 5, 100 * (1 + 5 / 30)),
        (60, 12, 84),
        (60, 13, None),
        (60, 0, None),
        (None, 5, None),
    ],
)
def test_epley_bounds(load: float | None, reps: int, expected: float | None) -> None:
    result = epley(load, reps)
    if expected is None:
        assert result is None
    else:
        assert result == pytest.approx(expected)


@pytest.mark.parametrize(
    ("value", "exercise_type", "unit", "expected"),
    [
        (100, "weight", "lb", 45.359237),
        (2500, "weight", "g", 2.5),
        (2, "time", "minutes", 120),
        (1.5, "distance", "km", 1500),
        (1, "distance", "mi", 1609.344),
    ],
)
def test_to_canonical_units(value: float, exercise_type: str, unit: str, expected: float) -> None:
    assert to_canonical(value, exercise_type, unit) == pytest.approx(expected)


def test_rep_frontier_keeps_undominated_sets() -> None:
    points = [
        RepPoint(100, 5, 1, 1, DAY),
        RepPoint(90, 5, 2, 1, DAY),  # dominated by 100 x 5
        RepPoint(90, 8, 3, 1, DAY),
        RepPoint(100, 5, 4, 2, DAY + timedelta(days=1)),  # a later tie
        RepPoint(120, 1, 5, 2, DAY + timedelta(days=1)),
    ]
    frontier = rep_frontier(points)
    assert sorted(p.set_id for p in frontier) == [1, 3, 5]
