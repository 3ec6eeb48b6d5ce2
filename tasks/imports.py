"""The import job: reads an uploaded export file into a user's workouts."""

from __future__ import annotations

from taskiq import Context, TaskiqDepends

from tasks.context import services_of


async def run_import(job_id: str, context: Context = TaskiqDepends()) -> None:
    services = services_of(context)
    raise NotImplementedError(f"import job {job_id} on {services}")
