"""The analytics rebuild: a user's day and week aggregates recomputed from scratch."""

from __future__ import annotations

import logging
import time

from taskiq import Context, TaskiqDepends

from storage.analytics import rebuild_user_analytics
from tasks.context import services_of

log = logging.getLogger(__name__)


async def rebuild_analytics(user_id: int, context: Context = TaskiqDepends()) -> None:
    """Recompute a user's aggregates, for instance after the user changed time zone."""
    services = services_of(context)
    started = time.perf_counter()
    async with services.write() as session:
        days, weeks = await rebuild_user_analytics(session, user_id=user_id)
    log.info(
        "analytics rebuilt for user %s: %d days, %d weeks in %.1f ms",
        user_id,
        days,
        weeks,
        (time.perf_counter() - started) * 1000,
    )
