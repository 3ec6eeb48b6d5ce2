"""Parsing of FitNotes' CSV export into workouts, without touching the database.

FitNotes writes one row per set with a date and no time, in logging order. Two layouts exist:
the older names the load unit in the header (`Weight (lbs)`, `Weight (kgs)`), the newer has a
`Weight Unit` column (`kgs`, `lbs`) on every row. Either may end with a `Comment` column, which
is kept as the set's notes.

FitNotes has one workout per day, so one date is one workout here too. It starts at noon in
the user's time zone, so that its date stays the same when the time zone changes later by up to
12 hours. Its category is the category of the day's first exercise. All the rows of one
exercise in a day are one exercise, numbered in logging order. Exercises whose rows interleave,
which is how FitNotes logs a superset, get a superset id.

Some exports leave names that contain a comma unquoted, which splits them over two fields.
Such a row is read by anchoring on the columns counted from the right, see `fitnotes_rows`.
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from tasks.csv_input import data_records, decode, find_header, zone
from tasks.fitnotes_rows import COLUMNS, REQUIRED, RowReader, header_load_unit
from tasks.parsed import (
    MAX_EXERCISE_NAME,
    MAX_WORKOUT_NAME,
    Block,
    FileFormatError,
    ParsedFile,
    RowProblem,
    SetRow,
    WorkoutBuilder,
    check_name,
)

START_OF_DAY = time(12, 0)


def parse_fitnotes(data: bytes, *, timezone: str = "UTC", unit: str | None = None) -> ParsedFile:
    """Parse a FitNotes CSV export.

    The header (`Weight (kgs)`) or each row (`Weight Unit`) gives the load unit; `unit` (kg or
    lb) is used only for rows where neither does. Rows that cannot be read are returned in
    `errors` with their line number. Raises FileFormatError when the file is not text or not a
    FitNotes export.
    """
    builder = _FitNotesBuilder(zone(timezone))
    text = decode(data)
    header = find_header(text, COLUMNS)
    if header is None:
        raise FileFormatError("invalid CSV: no header row found")
    missing = [name for key, name in REQUIRED.items() if key not in header.index]
    if missing:
        found = ", ".join(header.labels.values()) or "no known column"
        raise FileFormatError(
            f"unknown header layout: missing the FitNotes columns {', '.join(missing)} "
            f"(recognized: {found}); check that the file is a FitNotes CSV export"
        )
    reader = RowReader(header, default_unit=header_load_unit(header) or unit)
    for record in data_records(
        text, delimiter=header.delimiter, header_line=header.line, builder=builder
    ):
        try:
            row = reader.read(record.cells, first_line=record.first_line)
            problem = check_name(
                row.exercise, header.labels["exercise"], MAX_EXERCISE_NAME
            ) or check_name(row.category, header.labels["category"], MAX_WORKOUT_NAME)
            if problem:
                raise RowProblem(problem)
        except RowProblem as problem:
            builder.add_error(record.first_line, str(problem))
            continue
        builder.add(row.day, row.category, row.exercise, row.set_row)
    builder.mark_supersets()
    return builder.result()


class _FitNotesBuilder(WorkoutBuilder):
    """Group rows into one workout per day and one block per exercise name within it."""

    def __init__(self, zone_info: ZoneInfo):
        super().__init__(zone_info)
        self._rows_per_day: dict[date, int] = {}
        # The block of each (day, exercise), and the positions of its first and last row.
        self._blocks: dict[tuple[date, str], Block] = {}
        self._spans: dict[tuple[date, str], tuple[int, int]] = {}

    def add(self, day: date, category: str, exercise: str, set_row: SetRow) -> None:
        draft = self.draft(
            day, local_date=datetime.combine(day, START_OF_DAY), name=category, key_name=""
        )
        position = self._rows_per_day.get(day, 0)
        self._rows_per_day[day] = position + 1
        key = (day, exercise)
        block = self._blocks.get(key)
        if block is None:
            block = self._blocks[key] = Block(exercise)
            draft.blocks.append(block)
            self._spans[key] = (position, position)
        else:
            self._spans[key] = (self._spans[key][0], position)
        block.rows.append(set_row)

    def mark_supersets(self) -> None:
        """Give a superset id to each run of a day's exercises whose row spans overlap."""
        for day, draft in self.drafts.items():
            assert isinstance(day, date)
            groups: list[list[Block]] = []
            end = -1
            for block in draft.blocks:  # in order of their first row
                first, last = self._spans[(day, block.name)]
                if groups and first <= end:
                    groups[-1].append(block)
                else:
                    groups.append([block])
                end = max(end, last)
            number = 0
            for group in groups:
                if len(group) > 1:
                    number += 1
                    for block in group:
                        block.superset_id = str(number)
