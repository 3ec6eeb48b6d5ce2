"""Every task the service runs, registered on a broker under a stable name."""

from __future__ import annotations

from taskiq import AsyncBroker

from tasks import imports, maintenance, progress

RECOMPUTE_PROGRESS = "progress.recompute"
RUN_IMPORT = "imports.run"
PURGE_EXPIRED = "maintenance.purge"


def register_tasks(broker: AsyncBroker) -> None:
    broker.register_task(progress.recompute_progress, task_name=RECOMPUTE_PROGRESS)
    broker.register_task(imports.run_import, task_name=RUN_IMPORT)
    broker.register_task(maintenance.purge_expired, task_name=PURGE_EXPIRED)
