"""The progress job: per-exercise totals and personal records after workouts change."""

from __future__ import annotations

import logging
import time

from taskiq import Context, TaskiqDepends

from storage.progress import apply_workout_changes
from tasks.context import services_of

log = logging.getLogger(__name__)

# Workouts handled per transaction, so a large import does not hold one long lock.
CHUNK = 200
# Workouts per transaction for a bulk import (announce False): each transaction has a fixed
# cost of about 20 queries, and 1,000 imported workouts take well under a second.
BULK_CHUNK = 1000


async def recompute_progress(
    user_id: int,
    workout_ids: list[int],
    announce: bool = True,
    context: Context = TaskiqDepends(),
) -> None:
    """Update progress and records for the workouts a write touched."""
    services = services_of(context)
    started = time.perf_counter()
    unique = sorted(set(workout_ids))
    size = CHUNK if announce else BULK_CHUNK
    for start in range(0, len(unique), size):
        chunk = unique[start : start + size]
        async with services.write() as session:
            await apply_workout_changes(
                session, user_id=user_id, workout_ids=chunk, announce=announce
            )
    log.info(
        "progress updated for user %s, %d workouts in %.1f ms",
        user_id,
        len(unique),
        (time.perf_counter() - started) * 1000,
    )
