"""The trend of each exercise: how fast its estimated one-rep max rose or fell lately.

The trend is the least-squares slope of the best estimated one-rep max of each workout against
the workout's time, over the last 8 weeks, in kilograms per week. PostgreSQL computes it with
`regr_slope`. SQLite has no such aggregate, so it returns the sums n, Σx, Σy, Σxy and Σx², and
the slope is (nΣxy − ΣxΣy) / (nΣx² − (Σx)²).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Float, cast, extract, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ExerciseProgress, ExerciseWorkoutStats

WINDOW = timedelta(weeks=8)
SECONDS_PER_DAY = 86400.0
DAYS_PER_WEEK = 7
UNIX_EPOCH_JULIAN_DAY = 2440587.5
# Below this share of nΣx², the spread of the times counts as none and there is no slope.
MIN_SPREAD = 1e-9


@dataclass(frozen=True)
class Trend:
    name_key: str
    name: str
    points: int
    since: datetime
    slope_kg_per_week: float | None


async def list_trends(session: AsyncSession, *, user_id: int, now: datetime) -> list[Trend]:
    """Return the trend of each exercise with at least one estimated one-rep max in the window.

    `points` counts the workouts in the window and `since` is the earliest of them. The slope
    is None with fewer than 2 points, or when all points share one instant.
    """
    start = now - WINDOW
    stats = ExerciseWorkoutStats
    y = stats.best_e1rm
    columns: list[Any]
    if session.get_bind().dialect.name == "postgresql":
        days = cast(
            (extract("epoch", stats.performed_at) - start.timestamp()) / SECONDS_PER_DAY, Float
        )
        columns = [func.regr_slope(y, days).label("slope")]
    else:
        start_julian = start.timestamp() / SECONDS_PER_DAY + UNIX_EPOCH_JULIAN_DAY
        x = func.julianday(stats.performed_at) - start_julian
        columns = [
            func.sum(x).label("sum_x"),
            func.sum(y).label("sum_y"),
            func.sum(x * y).label("sum_xy"),
            func.sum(x * x).label("sum_xx"),
        ]
    query = (
        select(
            stats.name_key,
            func.coalesce(func.max(ExerciseProgress.name), func.max(stats.name)).label("name"),
            func.count().label("points"),
            func.min(stats.performed_at).label("since"),
            *columns,
        )
        .outerjoin(
            ExerciseProgress,
            (ExerciseProgress.user_id == stats.user_id)
            & (ExerciseProgress.name_key == stats.name_key),
        )
        .where(
            stats.user_id == user_id,
            stats.best_e1rm.is_not(None),
            stats.performed_at >= start,
            stats.performed_at <= now,
        )
        .group_by(stats.name_key)
        .order_by(stats.name_key)
    )
    trends = []
    for row in await session.execute(query):
        if "slope" in row._fields:
            per_day = row.slope
        else:
            per_day = _slope(row.points, row.sum_x, row.sum_y, row.sum_xy, row.sum_xx)
        trends.append(
            Trend(
                name_key=row.name_key,
                name=row.name,
                points=int(row.points),
                since=row.since,
                slope_kg_per_week=(
                    round(per_day * DAYS_PER_WEEK, 4) if per_day is not None else None
                ),
            )
        )
    return trends


def _slope(n: int, sum_x: float, sum_y: float, sum_xy: float, sum_xx: float) -> float | None:
    if n < 2:
        return None
    spread = n * sum_xx - sum_x * sum_x
    if spread <= MIN_SPREAD * n * sum_xx:
        return None
    return (n * sum_xy - sum_x * sum_y) / spread
