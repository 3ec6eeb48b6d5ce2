"""Parsing of Hevy's CSV export into workouts, without touching the database.

Hevy writes one row per set under snake_case column names, and names the units in them:
`weight_kg` or `weight_lbs`, `distance_km` or `distance_miles`, `duration_seconds`. Start
times read `10 Feb 2024, 19:57`, in the phone's local time without a zone. A workout is a
distinct (start time, title) pair, and the title becomes its category. Inside a workout, each
change of exercise, of superset, or a set index that does not increase starts a new exercise.
Hevy writes a line break inside a note as the two characters backslash and n; they are read
back as a line break.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from storage.measures import MAX_REPS
from tasks.csv_input import CellReader, Header, data_records, decode, find_header, zone
from tasks.parsed import (
    MAX_EXERCISE_NAME,
    MAX_RPE,
    MAX_SUPERSET_ID,
    MAX_WORKOUT_NAME,
    SET_TYPES,
    Block,
    FileFormatError,
    ParsedFile,
    RowProblem,
    SetRow,
    WorkoutBuilder,
    check_name,
)

# Folded column names, by the field each column contains. Weight and distance name the unit.
COLUMNS = {
    "title": "title",
    "start_time": "start_time",
    "end_time": "end_time",
    "description": "description",
    "exercise_title": "exercise_title",
    "superset_id": "superset_id",
    "exercise_notes": "exercise_notes",
    "set_index": "set_index",
    "set_type": "set_type",
    "weight_kg": "weight",
    "weight_lbs": "weight",
    "weight_lb": "weight",
    "weight": "weight",
    "reps": "reps",
    "distance_km": "distance",
    "distance_miles": "distance",
    "distance_mi": "distance",
    "distance_meters": "distance",
    "distance_m": "distance",
    "distance": "distance",
    "duration_seconds": "duration",
    "rpe": "rpe",
}
# The required fields, by the column names to report when they are missing.
REQUIRED = {
    "title": "title",
    "start_time": "start_time",
    "exercise_title": "exercise_title",
    "weight": "weight_kg or weight_lbs",
    "reps": "reps",
}
LOAD_UNIT_OF_COLUMN = {"weight_kg": "kg", "weight_lbs": "lb", "weight_lb": "lb"}
DISTANCE_UNIT_OF_COLUMN = {
    "distance_km": "km",
    "distance_miles": "mi",
    "distance_mi": "mi",
    "distance_meters": "m",
    "distance_m": "m",
}
# A distance column without a unit follows the unit system of the loads.
DISTANCE_UNIT_OF_LOAD = {"kg": "km", "lb": "mi"}
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}
_HEVY_DATE = re.compile(
    r"(\d{1,2}) ([A-Za-z]{3,9})\.? (\d{4}),? (\d{1,2}):(\d{2})(?::(\d{2}))?", re.ASCII
)


@dataclass(frozen=True)
class _Units:
    load: str
    distance: str


def parse_hevy(data: bytes, *, timezone: str = "UTC", unit: str | None = None) -> ParsedFile:
    """Parse a Hevy CSV export.

    The header's `weight_kg` or `weight_lbs` gives the load unit; `unit` (kg or lb) is used
    only when the header does not name one. Start times without a zone are read as local time
    in `timezone`. Rows that cannot be read are returned in `errors` with their line number.
    Raises FileFormatError when the file is not text or not a Hevy export.
    """
    builder = _HevyBuilder(zone(timezone))
    text = decode(data)
    header = find_header(text, COLUMNS)
    if header is None:
        raise FileFormatError("invalid CSV: no header row found")
    missing = [name for key, name in REQUIRED.items() if key not in header.index]
    if missing:
        found = ", ".join(header.labels.values()) or "no known column"
        raise FileFormatError(
            f"unknown header layout: missing the Hevy columns {', '.join(missing)} "
            f"(recognized: {found}); check that the file is a Hevy CSV export"
        )
    units = _units(header, unit)
    reader = _RowReader(header, units)
    for record in data_records(
        text, delimiter=header.delimiter, header_line=header.line, builder=builder
    ):
        try:
            reader.read(record.cells, record.first_line, record.last_line, builder)
        except RowProblem as problem:
            builder.add_error(record.first_line, str(problem))
    return builder.result()


def _units(header: Header, unit: str | None) -> _Units:
    load = LOAD_UNIT_OF_COLUMN.get(header.labels["weight"].casefold(), unit)
    if load not in ("kg", "lb"):
        raise FileFormatError(
            f"unit: the column {header.labels['weight']!r} does not name the load unit, so "
            "give it as unit=kg or unit=lb"
        )
    label = header.labels.get("distance", "")
    distance = DISTANCE_UNIT_OF_COLUMN.get(label.casefold(), DISTANCE_UNIT_OF_LOAD[load])
    return _Units(load, distance)


class _HevyBuilder(WorkoutBuilder):
    def __init__(self, zone_info: ZoneInfo):
        super().__init__(zone_info)
        self._last_index: dict[tuple[datetime, str], int | None] = {}

    def block(
        self, key: tuple[datetime, str], name: str, index: int | None, superset: str | None
    ) -> Block:
        """Return the block of a set: the workout's last block, or a new one."""
        blocks = self.drafts[key].blocks
        previous = self._last_index.get(key)
        same = (
            blocks
            and blocks[-1].name == name
            and blocks[-1].superset_id == superset
            and (index is None or previous is None or index > previous)
        )
        if not same:
            blocks.append(Block(name, superset_id=superset))
        self._last_index[key] = index
        return blocks[-1]


class _RowReader(CellReader):
    def __init__(self, header: Header, units: _Units):
        super().__init__(header, COLUMNS.values())
        self._width = header.width
        self._units = units
        self._dates: dict[str, datetime | None] = {}
        self._valid_names: set[tuple[str, str]] = set()

    def read(
        self, cells: list[str], first_line: int, last_line: int, builder: _HevyBuilder
    ) -> None:
        if len(cells) != self._width:
            message = f"wrong number of columns: {len(cells)}, expected {self._width}"
            if last_line > first_line:
                message += f" (the row runs to line {last_line}: a quote may be unclosed)"
            raise RowProblem(message)
        title = self._text(cells, "title")
        name = self._text(cells, "exercise_title")
        self._check_names(title, name)
        start = self._start(cells)
        reps = self._number(cells, "reps")
        if reps is not None and (not reps.is_integer() or reps > MAX_REPS):
            raise RowProblem(
                f"{self._labels['reps']}: invalid {reps!r}, expected a whole number up to "
                f"{MAX_REPS}"
            )
        index = self._number(cells, "set_index")
        superset = self._text(cells, "superset_id") or None
        if superset is not None and len(superset) > MAX_SUPERSET_ID:
            raise RowProblem(
                f"{self._labels['superset_id']}: too long ({len(superset)} characters, "
                f"the maximum is {MAX_SUPERSET_ID})"
            )
        row = SetRow(
            line=first_line,
            weight=self._number(cells, "weight"),
            reps=reps,
            distance=self._number(cells, "distance"),
            seconds=self._number(cells, "duration"),
            load_unit=self._units.load,
            distance_unit=self._units.distance,
            rpe=self._rpe(cells),
            set_type=self._set_type(cells),
        )

        description = _note(self._text(cells, "description"))
        exercise_notes = _note(self._text(cells, "exercise_notes"))

        key = (start, title)
        workout = builder.draft(key, local_date=start, name=title).workout
        workout.notes = workout.notes or description
        block = builder.block(key, name, None if index is None else int(index), superset)
        block.notes = block.notes or exercise_notes
        block.rows.append(row)

    def _check_names(self, title: str, name: str) -> None:
        if (title, name) in self._valid_names:
            return
        problem = check_name(title, self._labels["title"], MAX_WORKOUT_NAME) or check_name(
            name, self._labels["exercise_title"], MAX_EXERCISE_NAME
        )
        if problem:
            raise RowProblem(problem)
        self._valid_names.add((title, name))

    def _start(self, cells: list[str]) -> datetime:
        raw = cells[self._position["start_time"]]
        value = self._dates.get(raw)
        if value is None:
            value = self._dates[raw] = parse_hevy_time(raw)
        if value is None:
            label = self._labels["start_time"]
            shown = raw.strip()
            reason = "missing" if not shown else f"invalid date {shown!r}"
            raise RowProblem(f"{label}: {reason}, expected a time such as '10 Feb 2024, 19:57'")
        return value

    def _rpe(self, cells: list[str]) -> float | None:
        value = self._number(cells, "rpe")
        if value is not None and value > MAX_RPE:
            raise RowProblem(f"{self._labels['rpe']}: invalid {value!r}, more than {MAX_RPE:g}")
        return value

    def _set_type(self, cells: list[str]) -> str | None:
        raw = self._text(cells, "set_type")
        if not raw:
            return None
        value = raw.casefold().replace("-", "").replace("_", "").replace(" ", "")
        if value not in SET_TYPES:
            raise RowProblem(
                f"{self._labels['set_type']}: invalid {raw!r}, expected "
                f"{', '.join(SET_TYPES[:-1])} or {SET_TYPES[-1]}"
            )
        return value


def parse_hevy_time(raw: str) -> datetime | None:
    """Read `10 Feb 2024, 19:57` (English month), or an ISO 8601 time; None if neither."""
    text = raw.strip()
    match = _HEVY_DATE.fullmatch(text)
    if match is None:
        try:
            return datetime.fromisoformat(text) if text else None
        except ValueError:
            return None
    day, month_name, year, hour, minute, second = match.groups()
    month = _MONTHS.get(month_name[:3].casefold())
    if month is None:
        return None
    try:
        return datetime(int(year), month, int(day), int(hour), int(minute), int(second or 0))
    except ValueError:
        return None


def _note(text: str) -> str | None:
    return text.replace("\\n", "\n") if text else None
