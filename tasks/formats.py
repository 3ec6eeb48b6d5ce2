"""The export formats an import reads, and the choice of parser by format name."""

from __future__ import annotations

from tasks.fitnotes import parse_fitnotes
from tasks.hevy import parse_hevy
from tasks.parsed import ParsedFile
from tasks.strong import parse_strong

FORMATS = ("strong", "hevy", "fitnotes")
LOAD_UNITS = ("kg", "lb")
# Formats whose files do not say the load unit, so an import must give it. Hevy and FitNotes
# name it in the header or on each row, and take a given unit only where the file does not.
UNIT_REQUIRED = ("strong",)


def check_options(fmt: str, unit: str | None) -> str | None:
    """Return why a format and load unit cannot be used together, or None when they can."""
    if fmt not in FORMATS:
        return f"format: unsupported {fmt!r}, expected {', '.join(FORMATS)}"
    if unit is None and fmt in UNIT_REQUIRED:
        return "unit: missing, expected kg or lb, the load unit the file was exported in"
    if unit is not None and unit not in LOAD_UNITS:
        return f"unit: invalid {unit!r}, expected kg or lb"
    return None


def parse_file(fmt: str, data: bytes, *, unit: str | None, timezone: str) -> ParsedFile:
    """Parse an export file in format `fmt`.

    Raises FileFormatError when the file cannot be read as that format, and ValueError for an
    invalid format, unit or time zone.
    """
    problem = check_options(fmt, unit)
    if problem is not None:
        raise ValueError(problem)
    if fmt == "hevy":
        return parse_hevy(data, timezone=timezone, unit=unit)
    if fmt == "fitnotes":
        return parse_fitnotes(data, timezone=timezone, unit=unit)
    assert unit is not None
    return parse_strong(data, unit=unit, timezone=timezone)
