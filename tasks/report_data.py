"""The figures of the PDF report, in the user's time zone and load unit."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from storage import report_data
from storage.db import Database
from storage.measures import DISTANCE, TIME, UNITS, WEIGHT
from storage.models import User
from storage.records import BEST_E1RM, MAX_LOAD, MAX_REPS, MAX_SET_VOLUME, MAX_WORKOUT_VOLUME
from storage.types import utcnow
from tasks.strong import DISTANCE_UNIT

# Exercises drawn in the one-rep max chart: the user's largest by total volume.
TOP_EXERCISES = 5
KIND_ORDER = (MAX_LOAD, BEST_E1RM, MAX_SET_VOLUME, MAX_WORKOUT_VOLUME, MAX_REPS)
KIND_WORDS = {
    WEIGHT: {
        MAX_LOAD: "Heaviest load",
        BEST_E1RM: "Best estimated one-rep max",
        MAX_SET_VOLUME: "Most volume in one set",
        MAX_WORKOUT_VOLUME: "Most volume in one workout",
    },
    TIME: {MAX_SET_VOLUME: "Longest set", MAX_WORKOUT_VOLUME: "Most time in one workout"},
    DISTANCE: {
        MAX_SET_VOLUME: "Longest distance in one set",
        MAX_WORKOUT_VOLUME: "Most distance in one workout",
    },
}


@dataclass(frozen=True)
class WeekVolume:
    """The weight volume of one ISO week, Monday first, in the user's load unit."""

    week_start: date
    volume: float


@dataclass
class E1rmSeries:
    """One exercise's best estimated one-rep max per workout, in the user's load unit."""

    name: str
    dates: list[datetime] = field(default_factory=list)
    values: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class RecordLine:
    exercise: str
    kind: str
    value: float
    unit: str
    achieved_on: date


@dataclass
class ReportData:
    email: str
    zone: ZoneInfo
    unit: str
    generated_at: datetime
    workouts: int
    sets: int
    first: date | None
    last: date | None
    weeks: list[WeekVolume]
    series: list[E1rmSeries]
    records: list[RecordLine]

    @property
    def total_volume(self) -> float:
        return sum(week.volume for week in self.weeks)


async def load_report(db: Database, user: User) -> ReportData:
    """Read the user's figures for the report; other users' rows never enter the queries."""
    zone = user_zone(user)
    unit = user.unit if user.unit in DISTANCE_UNIT else "kg"
    async with db.read() as session:
        summary = await report_data.get_history_summary(session, user_id=user.id)
        volumes = await report_data.list_workout_volumes(session, user_id=user.id)
        top = await report_data.list_top_exercises(session, user_id=user.id, limit=TOP_EXERCISES)
        points = await report_data.list_best_e1rm(
            session, user_id=user.id, name_keys=[row.name_key for row in top]
        )
        records = await report_data.list_named_records(session, user_id=user.id)

    series = {row.name_key: E1rmSeries(row.name) for row in top}
    for point in points:
        assert point.best_e1rm is not None
        line = series[point.name_key]
        line.dates.append(point.performed_at.astimezone(zone))
        line.values.append(point.best_e1rm / UNITS[WEIGHT][unit])

    return ReportData(
        email=user.email,
        zone=zone,
        unit=unit,
        generated_at=utcnow().astimezone(zone),
        workouts=summary.workouts,
        sets=summary.sets,
        first=summary.first.astimezone(zone).date() if summary.first else None,
        last=summary.last.astimezone(zone).date() if summary.last else None,
        weeks=weekly_volumes(volumes, zone=zone, unit=unit),
        series=list(series.values()),
        records=_record_lines(records, zone=zone, unit=unit),
    )


def user_zone(user: User) -> ZoneInfo:
    try:
        return ZoneInfo(user.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def weekly_volumes(
    volumes: list[tuple[datetime, float]], *, zone: ZoneInfo, unit: str
) -> list[WeekVolume]:
    """Add workout volumes (kilograms) into ISO weeks of the local calendar, in `unit`."""
    totals: dict[date, float] = {}
    for started, volume in volumes:
        local = started.astimezone(zone).date()
        monday = local - timedelta(days=local.isoweekday() - 1)
        totals[monday] = totals.get(monday, 0.0) + volume / UNITS[WEIGHT][unit]
    return [WeekVolume(monday, total) for monday, total in sorted(totals.items()) if total > 0]


def _record_lines(
    records: list[report_data.NamedRecord], *, zone: ZoneInfo, unit: str
) -> list[RecordLine]:
    lines = []
    for item in records:
        row = item.record
        if row.kind == MAX_REPS:
            load = (row.load or 0.0) / UNITS[WEIGHT][unit]
            kind, value, shown_unit = f"Most reps at {load:.1f} {unit}", row.value, "reps"
        else:
            kind = KIND_WORDS.get(item.type, {}).get(row.kind, row.kind)
            value, shown_unit = _display(row.value, item.type, unit)
        achieved_on = row.achieved_at.astimezone(zone).date()
        lines.append(RecordLine(item.name, kind, value, shown_unit, achieved_on))
    order = {kind: position for position, kind in enumerate(KIND_ORDER)}
    keyed = sorted(
        zip(lines, records, strict=True),
        key=lambda pair: (
            pair[0].exercise.casefold(),
            order.get(pair[1].record.kind, len(order)),
            -(pair[1].record.load or 0.0),
        ),
    )
    return [line for line, _ in keyed]


def _display(value: float, exercise_type: str, unit: str) -> tuple[float, str]:
    """Convert a canonical value (kg, seconds, metres) to the unit the report shows."""
    if exercise_type == WEIGHT:
        return value / UNITS[WEIGHT][unit], unit
    if exercise_type == DISTANCE:
        distance_unit = DISTANCE_UNIT[unit]
        return value / UNITS[DISTANCE][distance_unit], distance_unit
    return value, "s"
