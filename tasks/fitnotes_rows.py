"""Header and row reading for FitNotes CSV exports: units, clock times and unquoted commas."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from storage.measures import MAX_REPS
from tasks.csv_input import CellReader, Header
from tasks.parsed import RowProblem, SetRow

# Folded column names, by the field each column contains. The older layout names the load
# unit in the header.
COLUMNS = {
    "date": "date",
    "exercise": "exercise",
    "category": "category",
    "weight": "weight",
    "weight (kgs)": "weight",
    "weight (kg)": "weight",
    "weight (lbs)": "weight",
    "weight (lb)": "weight",
    "weight unit": "weight_unit",
    "reps": "reps",
    "distance": "distance",
    "distance unit": "distance_unit",
    "time": "time",
    "comment": "comment",
}
# The required fields, by the column names to report when they are missing.
REQUIRED = {
    "date": "Date",
    "exercise": "Exercise",
    "category": "Category",
    "weight": "Weight",
    "reps": "Reps",
}
HEADER_LOAD_UNITS = {
    "weight (kgs)": "kg",
    "weight (kg)": "kg",
    "weight (lbs)": "lb",
    "weight (lb)": "lb",
}
LOAD_UNITS = {"kgs": "kg", "kg": "kg", "lbs": "lb", "lb": "lb"}
DISTANCE_UNITS = {
    "m": "m",
    "km": "km",
    "mi": "mi",
    "ft": "ft",
    "yd": "yd",
    "yds": "yd",
    "mile": "mi",
    "miles": "mi",
    "kms": "km",
}


def header_load_unit(header: Header) -> str | None:
    """Return the load unit the header names, as in `Weight (lbs)`, or None."""
    return HEADER_LOAD_UNITS.get(header.labels["weight"].casefold())


@dataclass(frozen=True)
class FitNotesRow:
    day: date
    exercise: str
    category: str
    set_row: SetRow


class RowReader(CellReader):
    def __init__(self, header: Header, *, default_unit: str | None):
        super().__init__(header, COLUMNS.values())
        self._header = header
        self._default_unit = default_unit
        self._days: dict[str, date | None] = {}

    def read(self, cells: list[str], *, first_line: int) -> FitNotesRow:
        width = self._header.width
        if len(cells) > width:
            return self._read_rejoined(cells, first_line)
        if len(cells) < width:
            raise RowProblem(f"wrong number of columns: {len(cells)}, expected {width}")
        return self._read_fields(cells, first_line)

    def _read_rejoined(self, cells: list[str], first_line: int) -> FitNotesRow:
        """Read a row with more fields than the header, from commas left unquoted in names.

        The extra fields go into the exercise name, which ends where the columns counted from
        the right begin. When the row ends with a Comment column, the comment may contain some
        of them instead; the first split whose columns all read wins.
        """
        width = self._header.width
        extra = len(cells) - width
        name = self._position["exercise"]
        comment = self._position["comment"]
        # How many extra fields the name takes: all of them, or fewer with a trailing comment.
        shares = range(extra, -1, -1) if comment == width - 1 else [extra]
        problem: RowProblem | None = None
        for into_name in shares:
            joined = ",".join(cells[name : name + into_name + 1])
            candidate = cells[:name] + [joined] + cells[name + into_name + 1 :]
            if len(candidate) > width:
                candidate = candidate[: width - 1] + [",".join(candidate[width - 1 :])]
            try:
                return self._read_fields(candidate, first_line)
            except RowProblem as error:
                problem = error
        assert problem is not None
        raise RowProblem(
            f"wrong number of columns: {len(cells)}, expected {width}; with the extra fields "
            f"joined into the {self._labels['exercise']} column, the row is still invalid: "
            f"{problem}"
        )

    def _read_fields(self, cells: list[str], first_line: int) -> FitNotesRow:
        weight = self._number(cells, "weight")
        reps = self._number(cells, "reps")
        if reps is not None and (not reps.is_integer() or reps > MAX_REPS):
            raise RowProblem(
                f"{self._labels['reps']}: invalid {reps!r}, expected a whole number up to "
                f"{MAX_REPS}"
            )
        distance = self._number(cells, "distance")
        notes = self._text(cells, "comment") or None
        set_row = SetRow(
            line=first_line,
            weight=weight,
            reps=reps,
            distance=distance,
            seconds=self._seconds(cells),
            load_unit=self._load_unit(cells, weight),
            distance_unit=self._distance_unit(cells, distance),
            notes=notes,
        )
        return FitNotesRow(
            day=self._day(cells),
            exercise=self._text(cells, "exercise"),
            category=self._text(cells, "category"),
            set_row=set_row,
        )

    def _day(self, cells: list[str]) -> date:
        raw = cells[self._position["date"]]
        if raw not in self._days:
            try:
                self._days[raw] = date.fromisoformat(raw.strip())
            except ValueError:
                self._days[raw] = None
        value = self._days[raw]
        if value is None:
            shown = raw.strip()
            reason = "missing" if not shown else f"invalid date {shown!r}"
            raise RowProblem(f"{self._labels['date']}: {reason}, expected YYYY-MM-DD")
        return value

    def _load_unit(self, cells: list[str], weight: float | None) -> str:
        raw = self._text(cells, "weight_unit")
        if raw:
            unit = LOAD_UNITS.get(raw.casefold())
            if unit is None:
                label = self._labels["weight_unit"]
                raise RowProblem(f"{label}: invalid {raw!r}, expected kgs or lbs")
            return unit
        if self._default_unit is not None:
            return self._default_unit
        if weight is None:
            return "kg"
        label = self._labels.get("weight_unit", self._labels["weight"])
        raise RowProblem(
            f"{label}: missing, and the header names no load unit either; "
            "import the file with unit=kg or unit=lb"
        )

    def _distance_unit(self, cells: list[str], distance: float | None) -> str:
        raw = self._text(cells, "distance_unit")
        if not raw:
            if distance:
                label = self._labels.get("distance_unit", "Distance Unit")
                raise RowProblem(f"{label}: missing, and the row has a distance of {distance:g}")
            return "m"
        unit = DISTANCE_UNITS.get(raw.casefold())
        if unit is None:
            label = self._labels["distance_unit"]
            raise RowProblem(f"{label}: invalid {raw!r}, expected m, km, mi, ft or yd")
        return unit

    def _seconds(self, cells: list[str]) -> float | None:
        raw = self._text(cells, "time")
        if not raw:
            return None
        seconds = parse_clock(raw)
        if seconds is None:
            label = self._labels["time"]
            raise RowProblem(f"{label}: invalid {raw!r}, expected H:MM:SS, MM:SS or seconds")
        return seconds


def parse_clock(raw: str) -> float | None:
    """Return the seconds in `1:02:03`, `2:03` or `123`, or None for any other text."""
    parts = raw.split(":")
    if len(parts) > 3 or not all(part.isdigit() for part in parts[:-1]):
        return None
    try:
        last = float(parts[-1])
    except ValueError:
        return None
    if not 0 <= last < (60 if len(parts) > 1 else float("inf")):
        return None
    seconds = last
    for multiplier, part in zip((60, 3600), reversed(parts[:-1]), strict=False):
        seconds += int(part) * multiplier
    return seconds
