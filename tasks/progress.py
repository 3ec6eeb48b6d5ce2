"""The progress job: per-exercise totals and personal records after a workout changes."""

from __future__ import annotations

import logging

from taskiq import Context, TaskiqDepends

from tasks.context import services_of

log = logging.getLogger(__name__)


async def recompute_progress(
    user_id: int, workout_ids: list[int], context: Context = TaskiqDepends()
) -> None:
    services = services_of(context)
    from storage.progress import apply_workout_changes

    await apply_workout_changes(services, user_id=user_id, workout_ids=workout_ids)
