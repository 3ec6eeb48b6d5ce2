"""Units and the per-set measures of progress, as pure functions.

Loads are compared in kilograms, durations in seconds and distances in metres.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

WEIGHT = "weight"
TIME = "time"
DISTANCE = "distance"

UNITS = {
    WEIGHT: {"kg": 1.0, "g": 0.001, "lb": 0.45359237},
    TIME: {"seconds": 1.0, "minutes": 60.0},
    DISTANCE: {"m": 1.0, "km": 1000.0, "mi": 1609.344},
}
DEFAULT_UNIT = {WEIGHT: "kg", TIME: "seconds", DISTANCE: "km"}
CANONICAL_UNIT = {WEIGHT: "kg", TIME: "seconds", DISTANCE: "m"}

# The largest value and rep count a set may have, whatever its source: larger numbers are
# typing or export errors, and would overflow totals.
MAX_VALUE = 1e9
MAX_REPS = 100_000

# Epley's estimate is only trusted for sets of 1 to 12 reps.
E1RM_MAX_REPS = 12
# Loads that differ by less than this are equal: exports that convert pounds to kilograms
# round to 0.01 kg, so the same bar can come back 0.005 kg lighter or heavier.
LOAD_TOLERANCE = 0.01


def to_canonical(value: float | None, exercise_type: str, unit: str) -> float | None:
    """Convert a set's value to kilograms, seconds or metres; None stays None."""
    if value is None:
        return None
    return value * UNITS[exercise_type][unit]


def epley(load: float | None, reps: int) -> float | None:
    """Estimate the one-rep max of a set, or None when the set does not qualify."""
    if load is None or load <= 0 or reps < 1 or reps > E1RM_MAX_REPS:
        return None
    if reps == 1:
        return load
    return load * (1 + reps / 30)


class SetMeasure(NamedTuple):
    """One set, with its value already in canonical units.

    A named tuple rather than a dataclass, because the progress job builds one per set of
    every touched workout, and a tuple is several times faster to build.
    """

    set_id: int
    workout_id: int
    performed_at: datetime
    type: str
    value: float | None
    reps: int

    @property
    def volume(self) -> float:
        """Return reps x load for a weight set, or the duration or distance itself."""
        if self.value is None:
            return 0.0
        return self.value * self.reps if self.type == WEIGHT else self.value


@dataclass
class Best:
    value: float
    set_id: int | None


@dataclass
class ExerciseSummary:
    """One exercise's totals and bests within one workout."""

    volume: float = 0.0
    reps: int = 0
    sets: int = 0
    max_load: Best | None = None
    best_e1rm: Best | None = None
    max_set_volume: Best | None = None


def summarize(sets: Iterable[SetMeasure]) -> ExerciseSummary:
    """Add up sets in performed order; on a tie the earlier set keeps the best."""
    # The loop inlines SetMeasure.volume and epley: an import summarizes every set of a
    # user's history at once.
    volume_total = 0.0
    reps_total = 0
    count = 0
    max_load: Best | None = None
    best_e1rm: Best | None = None
    max_set_volume: Best | None = None
    for item in sets:
        value = item.value
        reps = item.reps
        count += 1
        reps_total += reps
        is_weight = item.type == WEIGHT
        if value is None:
            volume = 0.0
        else:
            volume = value * reps if is_weight else value
        volume_total += volume
        # A set of no reps is a failed attempt: its load is no heaviest-load record.
        if is_weight and value is not None and value > 0 and reps >= 1:
            if max_load is None or value > max_load.value:
                max_load = Best(value, item.set_id)
            if 1 <= reps <= E1RM_MAX_REPS:
                estimate = value if reps == 1 else value * (1 + reps / 30)
                if best_e1rm is None or estimate > best_e1rm.value:
                    best_e1rm = Best(estimate, item.set_id)
        if volume > 0 and (max_set_volume is None or volume > max_set_volume.value):
            max_set_volume = Best(volume, item.set_id)
    return ExerciseSummary(
        volume=volume_total,
        reps=reps_total,
        sets=count,
        max_load=max_load,
        best_e1rm=best_e1rm,
        max_set_volume=max_set_volume,
    )


@dataclass(frozen=True)
class RepPoint:
    """A point of the rep-max frontier: no other set had as many reps at this load or more."""

    load: float
    reps: int
    set_id: int
    workout_id: int
    performed_at: datetime


def rep_frontier(points: Iterable[RepPoint]) -> list[RepPoint]:
    """Return the sets whose reps beat every set at the same or a heavier load.

    Among equal sets the earliest is kept, because a tie makes no new record.
    """
    ordered = sorted(points, key=lambda p: (-p.load, -p.reps, p.performed_at, p.set_id))
    frontier: list[RepPoint] = []
    best_reps = 0
    for point in ordered:
        if point.reps > best_reps:
            frontier.append(point)
            best_reps = point.reps
    return frontier


def dominates(point: RepPoint, other: RepPoint) -> bool:
    """Tell whether `point` has at least the reps of `other` at the same or a heavier load."""
    return point.load >= other.load - LOAD_TOLERANCE and point.reps >= other.reps
