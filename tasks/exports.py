"""The export job: writes a user's data to a CSV, JSON or PDF file for download."""

from __future__ import annotations

from taskiq import Context, TaskiqDepends

from tasks.context import services_of
from tasks.exporter import run_export_job


async def run_export(job_id: str, context: Context = TaskiqDepends()) -> None:
    await run_export_job(services_of(context), job_id)
