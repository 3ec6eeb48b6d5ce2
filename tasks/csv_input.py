"""Reading CSV exports: text decoding, records with their line numbers, numbers and names."""

from __future__ import annotations

import codecs
import csv
import io
import math
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from storage.measures import MAX_VALUE
from tasks.parsed import DECIMALS, FileFormatError, RowProblem, WorkoutBuilder

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


class Record(NamedTuple):
    first_line: int
    last_line: int
    cells: list[str]


def decode(data: bytes) -> str:
    """Return the text of an export in UTF-8 (with or without BOM) or UTF-16 with BOM."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as error:
            raise FileFormatError(f"invalid UTF-16 text at byte {error.start}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FileFormatError(
            f"invalid text: the file is not UTF-8 (bad byte at offset {error.start})"
        ) from None
    if not text.strip():
        raise FileFormatError("the file is empty")
    return text


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        message = f"timezone: invalid {name!r}, expected an IANA name such as Europe/Berlin"
        raise ValueError(message) from None


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


def find_header(text: str, fields: Mapping[str, str]) -> Header | None:
    """Find the header and the delimiter (`,` or `;`) under which it names the most columns.

    `fields` maps folded column names (see `fold`) to the field each column holds. Returns
    None when the text has no readable first record.
    """
    best: Header | None = None
    for delimiter in (",", ";"):
        found = first_record(text, delimiter)
        if found is None:
            continue
        record, line = found
        index: dict[str, int] = {}
        labels: dict[str, str] = {}
        for position, cell in enumerate(record):
            key = fields.get(fold(cell))
            if key is not None and key not in index:
                index[key] = position
                labels[key] = cell.strip()
        header = Header(delimiter, line, len(record), index, labels)
        if best is None or len(header.index) > len(best.index):
            best = header
    return best


def first_record(text: str, delimiter: str) -> tuple[list[str], int] | None:
    """Return the first non-blank record and the line it ends on, or None if there is none."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for record in reader:
            if any(cell.strip() for cell in record):
                return record, reader.line_num
    except csv.Error:
        return None
    return None


def data_records(
    text: str, *, delimiter: str, header_line: int, builder: WorkoutBuilder
) -> Iterator[Record]:
    """Yield the non-blank records after the header with the lines they span.

    A record the csv module cannot read is counted and reported to `builder` by line.
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    last_line = 0
    while True:
        first_line = last_line + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            last_line = reader.line_num
            builder.counts.rows += 1
            if str(error) == "unexpected end of data":
                message = "invalid CSV: a quote opened in this row is never closed"
            else:
                message = f"invalid CSV: {error}"
            builder.add_error(first_line, message)
            continue
        last_line = reader.line_num
        if first_line <= header_line or _blank(cells):
            continue
        builder.counts.rows += 1
        yield Record(first_line, last_line, cells)


def _blank(cells: list[str]) -> bool:
    if cells and cells[0] and not cells[0].isspace():
        return False
    return not any(cell.strip() for cell in cells)


class Numbers:
    """Parse number cells, caching each distinct text: exports repeat the same few values."""

    def __init__(self, *, decimal_comma: bool = False):
        self._decimal_comma = decimal_comma
        self._parsed: dict[str, float | None] = {}
        # Cells already accepted by `cell`, with their value.
        self._valid: dict[str, float | None] = {"": None}

    def parse(self, raw: str) -> float | None:
        """Return the number in `raw`, or None when it is not a finite number."""
        try:
            return self._parsed[raw]
        except KeyError:
            value = self._parsed[raw] = parse_number(raw, decimal_comma=self._decimal_comma)
            return value

    def cell(self, raw: str, label: str) -> float | None:
        """Return the non-negative number in a cell, None for an empty cell.

        Raises RowProblem naming `label` when the cell contains anything else.
        """
        try:
            return self._valid[raw]
        except KeyError:
            pass
        value = self.parse(raw)
        if value is None:
            if raw.strip():
                raise _problem(label, raw, "not a number")
        elif value < 0:
            raise _problem(label, raw, "a negative number")
        elif value > MAX_VALUE:
            raise _problem(label, raw, f"more than {MAX_VALUE:g}")
        self._valid[raw] = value
        return value


def _problem(label: str, raw: str, reason: str) -> RowProblem:
    return RowProblem(f"{label}: invalid {raw.strip()!r}, {reason}")


def parse_number(raw: str, *, decimal_comma: bool) -> float | None:
    """Return the number written in `raw`, rounded to DECIMALS, or None if it is not one.

    With `decimal_comma` a comma is the decimal mark and a dot can only group digits.
    """
    text = raw.strip()
    if decimal_comma and "," in text:
        text = text.replace(".", "").replace(",", ".")
    if not _NUMBER.fullmatch(text):
        return None
    value = float(text)
    return round(value, DECIMALS) if math.isfinite(value) else None


def fold(name: str) -> str:
    """Return a column name for matching: NFKC, trimmed, case-folded, single spaces."""
    folded = unicodedata.normalize("NFKC", name).strip().casefold()
    return " ".join(folded.split())


class CellReader:
    """A base for row readers: the text and number cells of a row, by field name.

    A field the header does not name reads as empty text or no number. Error messages name
    the column as the file does.
    """

    def __init__(self, header: Header, fields: Iterable[str]):
        self._labels = header.labels
        self._position = {key: header.index.get(key, -1) for key in set(fields)}
        self._numbers = Numbers(decimal_comma=header.decimal_comma)

    def _text(self, cells: list[str], key: str) -> str:
        position = self._position[key]
        if position < 0:
            return ""
        value = cells[position]
        if "\x00" in value:
            raise RowProblem(f"{self._labels[key]}: invalid, contains a NUL character")
        return value.strip()

    def _number(self, cells: list[str], key: str) -> float | None:
        position = self._position[key]
        if position < 0:
            return None
        return self._numbers.cell(cells[position], self._labels[key])
