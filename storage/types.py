"""Column types that behave the same on PostgreSQL and SQLite."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, DateTime, Integer
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

# SQLite only autoincrements a column declared exactly INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer, "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp stored in UTC.

    PostgreSQL keeps `timestamptz` values aware, but SQLite drops the offset and returns naive
    values. This type converts every value to UTC on write and re-attaches UTC on read, so both
    back ends return aware datetimes.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_utc(value: datetime) -> datetime:
    """Convert an aware datetime to UTC.

    Raises ValueError for a naive datetime, and for one whose UTC time falls outside the years
    1 to 9999, such as 0001-01-01T00:00:00+14:00, where `astimezone` raises OverflowError.
    """
    if value.utcoffset() is None:
        raise ValueError(f"{value.isoformat()} has no UTC offset")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError(
            f"out of range: {value.isoformat()} falls outside the years 1 to 9999 in UTC"
        ) from None
