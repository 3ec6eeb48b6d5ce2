"""The import job: reads an uploaded export file into a user's workouts."""

from __future__ import annotations

from taskiq import Context, TaskiqDepends

from tasks.context import services_of
from tasks.importer import run_import_job


async def run_import(job_id: str, context: Context = TaskiqDepends()) -> None:
    await run_import_job(services_of(context), job_id)
