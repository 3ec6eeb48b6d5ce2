"""Header and row reading for Strong CSV exports: column names, numbers, dates, rest rows."""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from storage.measures import MAX_REPS, MAX_VALUE

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
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
# Reps are stored in a 32-bit column. No real set comes near this limit.
# Strong's pound-to-kilogram conversions leave artefacts such as 37.49999999999999.
DECIMALS = 6


class RowProblem(ValueError):
    """Raised when one row cannot be read. The message names the column and the reason."""


@dataclass(frozen=True)
class RowError:
    line: int
    message: str


@dataclass(frozen=True)
class Header:
    delimiter: str
    line: int
    """Line number of the header's last line."""
    width: int
    index: dict[str, int]
    labels: dict[str, str]
    """The file's own name of each column, for error messages."""

    @property
    def decimal_comma(self) -> bool:
        return self.delimiter == ";"


@dataclass
class Row:
    line: int
    local_date: datetime
    workout_name: str
    exercise_name: str
    set_order: int
    weight: float | None
    reps: float | None
    distance: float | None
    seconds: float | None
    notes: str | None
    workout_notes: str | None
    duration: str | None
    rpe: float | None
    columns: dict[str, str]
    rest_seconds: float | None = None


@dataclass(frozen=True)
class RestRow:
    """A rest timer row: no set, only the rest length that followed the previous set."""

    local_date: datetime | None
    workout_name: str
    exercise_name: str
    seconds: float | None


def read_header(text: str) -> Header:
    """Find the header and the delimiter (`,` or `;`) under which it names the most columns."""
    best: Header | None = None
    for delimiter in (",", ";"):
        header = _try_header(text, delimiter)
        if header is not None and (best is None or len(header.index) > len(best.index)):
            best = header
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


def _try_header(text: str, delimiter: str) -> Header | None:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for record in reader:
            if any(cell.strip() for cell in record):
                break
        else:
            return None
    except csv.Error:
        return None
    index: dict[str, int] = {}
    labels: dict[str, str] = {}
    for position, cell in enumerate(record):
        key = _FIELD_BY_NAME.get(_fold(cell))
        if key is not None and key not in index:
            index[key] = position
            labels[key] = cell.strip()
    return Header(delimiter, reader.line_num, len(record), index, labels)


def read_row(
    record: list[str], header: Header, *, first_line: int, last_line: int
) -> Row | RestRow:
    """Read one data record, raising RowProblem with the column name when a cell is invalid."""
    if len(record) != header.width:
        message = f"wrong number of columns: {len(record)}, expected {header.width}"
        if last_line > first_line:
            message += f" (the row runs to line {last_line}: a quote may be unclosed)"
        raise RowProblem(message)
    reader = _Cells(record, header)
    order = reader.set_order()
    weight = reader.number("weight")
    reps = reader.number("reps")
    if order is None:
        if weight or reps:
            label = header.labels["set_order"]
            raise RowProblem(
                f"{label}: invalid {reader.text('set_order')!r}, expected a set number "
                "(only rest timer rows may have another label, and they have no weight or reps)"
            )
        return RestRow(
            local_date=reader.date_or_none(),
            workout_name=reader.text("workout_name"),
            exercise_name=reader.text("exercise_name"),
            seconds=reader.number("seconds", lenient=True),
        )
    if reps is not None and not reps.is_integer():
        raise RowProblem(f"{header.labels['reps']}: invalid {reps!r}, expected a whole number")
    if reps is not None and reps > MAX_REPS:
        raise RowProblem(f"{header.labels['reps']}: invalid {reps!r}, more than {MAX_REPS}")
    return Row(
        line=first_line,
        local_date=reader.date(),
        workout_name=reader.text("workout_name"),
        exercise_name=reader.text("exercise_name"),
        set_order=order,
        weight=weight,
        reps=reps,
        distance=reader.number("distance"),
        seconds=reader.number("seconds"),
        notes=reader.text("notes") or None,
        workout_notes=reader.text("workout_notes") or None,
        duration=reader.text("duration") or None,
        rpe=reader.number("rpe"),
        columns=header.labels,
    )


class _Cells:
    def __init__(self, record: list[str], header: Header):
        self._record = record
        self._header = header

    def text(self, key: str) -> str:
        position = self._header.index.get(key)
        if position is None:
            return ""
        value = self._record[position]
        if "\x00" in value:
            raise RowProblem(f"{self._header.labels[key]}: invalid, contains a NUL character")
        return value.strip()

    def number(self, key: str, *, lenient: bool = False) -> float | None:
        raw = self.text(key)
        if not raw:
            return None
        value = _parse_number(raw, decimal_comma=self._header.decimal_comma)
        if value is None or value < 0:
            if lenient:
                return None
            reason = "a negative number" if value is not None else "not a number"
            raise RowProblem(f"{self._header.labels[key]}: invalid {raw!r}, {reason}")
        if value > MAX_VALUE:
            raise RowProblem(
                f"{self._header.labels[key]}: invalid {raw!r}, more than {MAX_VALUE:g}"
            )
        return round(value, DECIMALS)

    def set_order(self) -> int | None:
        """Return the set number, or None for a label such as Strong's "Rest Timer"."""
        raw = self.text("set_order")
        value = _parse_number(raw, decimal_comma=self._header.decimal_comma) if raw else None
        if value is None:
            return None
        if value < 0 or not value.is_integer():
            label = self._header.labels["set_order"]
            raise RowProblem(f"{label}: invalid {raw!r}, expected a whole number")
        return int(value)

    def date(self) -> datetime:
        value = self.date_or_none()
        if value is None:
            raw = self.text("date")
            label = self._header.labels["date"]
            message = f"{label}: missing" if not raw else f"{label}: invalid date {raw!r}"
            raise RowProblem(f"{message}, expected YYYY-MM-DD HH:MM:SS")
        return value

    def date_or_none(self) -> datetime | None:
        try:
            return datetime.fromisoformat(self.text("date"))
        except ValueError:
            return None


def _parse_number(raw: str, *, decimal_comma: bool) -> float | None:
    text = raw
    if decimal_comma and "," in text:
        # With `;` as separator a comma is the decimal mark, and a dot can only group digits.
        text = text.replace(".", "").replace(",", ".")
    if not _NUMBER.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def _fold(name: str) -> str:
    folded = unicodedata.normalize("NFKC", name).strip().casefold()
    return " ".join(folded.split())
