"""IANA time zones: which names are valid, and what local time it is in each of them."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

# Entries of the tz database that are no place's time: a link to the host's own zone, a
# compiler default, and a zone whose abbreviation is "-00".
EXCLUDED_ZONES = frozenset({"localtime", "posixrules", "Factory"})


@cache
def known_zones() -> frozenset[str]:
    """Return the IANA zone names users may choose; read once, since the scan is slow."""
    return frozenset(available_timezones() - EXCLUDED_ZONES)


def is_valid_timezone(name: str) -> bool:
    return name in known_zones()


@cache
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_midnight(name: str, day: date) -> datetime:
    """Return the aware instant at which `day` begins in zone `name`.

    On a day whose midnight a daylight-saving change skips, the day begins at the first valid
    local time, which zoneinfo's fold handling yields for the non-existent 00:00.
    """
    tz = zone(name) if is_valid_timezone(name) else zone("UTC")
    return datetime.combine(day, time.min, tz)


def zones_by_local_minute(now: datetime) -> dict[datetime, list[str]]:
    """Group every known zone by its local wall-clock minute at `now`, naive.

    Zones with the same UTC offset share a group, so there are about 40 groups.
    """
    minute = now.replace(second=0, microsecond=0)
    groups: dict[datetime, list[str]] = defaultdict(list)
    for name in sorted(known_zones()):
        groups[minute.astimezone(zone(name)).replace(tzinfo=None)].append(name)
    return dict(groups)


def iso_week_bounds(name: str, local: datetime) -> tuple[date, datetime, datetime]:
    """Return the previous ISO week of local time `local` in zone `name`.

    The result is its Monday and its start and end as aware UTC-comparable instants. A week
    with a daylight-saving change is 167 or 169 hours long.
    """
    this_monday = local.date() - timedelta(days=local.isoweekday() - 1)
    last_monday = this_monday - timedelta(days=7)
    return last_monday, local_midnight(name, last_monday), local_midnight(name, this_monday)
