"""Header and row reading for Strong CSV exports: column names, numbers, dates, rest rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.measures import MAX_REPS
from tasks.csv_input import Header, Numbers, find_header
from tasks.parsed import MAX_RPE, RowError, RowProblem

__all__ = ["Header", "RestRow", "Row", "RowError", "RowProblem", "RowReader", "read_header"]

# Column names as Strong writes them, case-folded, by the field they contain. Strong translates
# the header into the app's language, and "Reihenfolge festlegen" is its German "Set Order".
COLUMN_NAMES = {
    "date": ("date", "datum"),
    "workout_name": ("workout name", "workout-name"),
    "duration": ("duration", "dauer"),
    "exercise_name": ("exercise name", "name der übung"),
    "set_order": ("set order", "reihenfolge festlegen"),
    "weight": ("weight", "gewicht"),
    "reps": ("reps", "wiederh.", "wiederholungen"),
    "distance": ("distance", "entfernung"),
    "seconds": ("seconds", "sekunden"),
    "notes": ("notes", "notizen"),
    "workout_notes": ("workout notes", "workout-notizen"),
    "rpe": ("rpe",),
}
REQUIRED = ("date", "workout_name", "exercise_name", "set_order", "weight", "reps")
ENGLISH_NAMES = {
    "date": "Date",
    "workout_name": "Workout Name",
    "exercise_name": "Exercise Name",
    "set_order": "Set Order",
    "weight": "Weight",
    "reps": "Reps",
}
_FIELD_BY_NAME = {name: key for key, names in COLUMN_NAMES.items() for name in names}


@dataclass(slots=True)
class Row:
    line: int
    local_date: datetime
    workout_name: str
    exercise_name: str
    weight: float | None
    reps: float | None
    distance: float | None
    seconds: float | None
    notes: str | None
    workout_notes: str | None
    duration: str | None
    rpe: float | None


@dataclass(frozen=True)
class RestRow:
    """A rest timer row: no set, only the rest length that followed the previous set."""

    local_date: datetime | None
    workout_name: str
    exercise_name: str
    seconds: float | None


def read_header(text: str) -> Header:
    """Find the header and the delimiter (`,` or `;`) under which it names the most columns."""
    best = find_header(text, _FIELD_BY_NAME)
    if best is None:
        raise ValueError("invalid CSV: no header row found")
    missing = [ENGLISH_NAMES[key] for key in REQUIRED if key not in best.index]
    if missing:
        found = ", ".join(best.labels.values()) or "no known column"
        raise ValueError(
            f"unknown header layout: missing the Strong columns {', '.join(missing)} "
            f"(recognized: {found}); check that the file is a Strong CSV export"
        )
    return best


class RowReader:
    """Read the data records of one file, caching the numbers and dates that repeat."""

    def __init__(self, header: Header, *, check_nul: bool):
        self.header = header
        self.labels = header.labels
        self._check_nul = check_nul
        self._numbers = Numbers(decimal_comma=header.decimal_comma)
        self._dates: dict[str, datetime | None] = {}
        index = header.index
        self._optional = {key: index.get(key, -1) for key in COLUMN_NAMES}
        # Positions of the required columns, read on every row.
        self._weight = index["weight"]
        self._reps = index["reps"]
        self._workout_name = index["workout_name"]
        self._exercise_name = index["exercise_name"]

    def read(self, record: list[str], *, first_line: int, last_line: int) -> Row | RestRow:
        """Read one data record, raising RowProblem with the column name when a cell is invalid."""
        header = self.header
        if len(record) != header.width:
            message = f"wrong number of columns: {len(record)}, expected {header.width}"
            if last_line > first_line:
                message += f" (the row runs to line {last_line}: a quote may be unclosed)"
            raise RowProblem(message)
        if self._check_nul:
            for key, position in self._optional.items():
                if position >= 0 and "\x00" in record[position]:
                    raise RowProblem(f"{self.labels[key]}: invalid, contains a NUL character")

        order = self._set_order(record)
        cell = self._numbers.cell
        labels = self.labels
        weight = cell(record[self._weight], labels["weight"])
        reps = cell(record[self._reps], labels["reps"])
        if order is None:
            if weight or reps:
                raise RowProblem(
                    f"{labels['set_order']}: invalid {self._text(record, 'set_order')!r}, "
                    "expected a set number (only rest timer rows may have another label, "
                    "and they have no weight or reps)"
                )
            return RestRow(
                local_date=self._date_or_none(record),
                workout_name=self._text(record, "workout_name"),
                exercise_name=self._text(record, "exercise_name"),
                seconds=self._lenient_number(record, "seconds"),
            )

        if reps is not None and not reps.is_integer():
            raise RowProblem(f"{labels['reps']}: invalid {reps!r}, expected a whole number")
        if reps is not None and reps > MAX_REPS:
            raise RowProblem(f"{labels['reps']}: invalid {reps!r}, more than {MAX_REPS}")
        number = self._number
        rpe = number(record, "rpe")
        if rpe is not None and rpe > MAX_RPE:
            raise RowProblem(f"{labels['rpe']}: invalid {rpe!r}, more than {MAX_RPE:g}")

        text = self._text
        return Row(
            first_line,
            self._date(record),
            record[self._workout_name].strip(),
            record[self._exercise_name].strip(),
            weight,
            reps,
            number(record, "distance"),
            number(record, "seconds"),
            text(record, "notes") or None,
            text(record, "workout_notes") or None,
            text(record, "duration") or None,
            rpe,
        )

    def _text(self, record: list[str], key: str) -> str:
        position = self._optional[key]
        if position < 0:
            return ""
        return record[position].strip()

    def _number(self, record: list[str], key: str) -> float | None:
        position = self._optional[key]
        if position < 0:
            return None
        return self._numbers.cell(record[position], self.labels[key])

    def _lenient_number(self, record: list[str], key: str) -> float | None:
        try:
            return self._number(record, key)
        except RowProblem:
            return None

    def _set_order(self, record: list[str]) -> int | None:
        """Return the set number, or None for a label such as Strong's "Rest Timer"."""
        raw = record[self._optional["set_order"]]
        value = self._numbers.parse(raw) if raw else None
        if value is None:
            return None
        if value < 0 or not value.is_integer():
            label = self.labels["set_order"]
            raise RowProblem(f"{label}: invalid {raw.strip()!r}, expected a whole number")
        return int(value)

    def _date(self, record: list[str]) -> datetime:
        value = self._date_or_none(record)
        if value is None:
            raw = self._text(record, "date")
            label = self.labels["date"]
            message = f"{label}: missing" if not raw else f"{label}: invalid date {raw!r}"
            raise RowProblem(f"{message}, expected YYYY-MM-DD HH:MM:SS")
        return value

    def _date_or_none(self, record: list[str]) -> datetime | None:
        raw = record[self._optional["date"]]
        try:
            return self._dates[raw]
        except KeyError:
            pass
        try:
            value: datetime | None = datetime.fromisoformat(raw.strip())
        except ValueError:
            value = None
        self._dates[raw] = value
        return value
