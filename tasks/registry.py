"""Every task the service runs, registered on a broker under a stable name."""

from __future__ import annotations

from taskiq import AsyncBroker

from tasks import (
    analytics,
    exports,
    imports,
    maintenance,
    notifications,
    progress,
    reminders,
    summaries,
)

RECOMPUTE_PROGRESS = "progress.recompute"
RUN_IMPORT = "imports.run"
PURGE_EXPIRED = "maintenance.purge"
RUN_EXPORT = "exports.run"
REBUILD_ANALYTICS = "analytics.rebuild"
NOTIFY_ACHIEVEMENT = "notifications.achievement"
SEND_REMINDERS = reminders.TASK_NAME
SEND_WEEKLY_SUMMARIES = summaries.TASK_NAME
RESEND_EMAILS = "notifications.resend_emails"


def register_tasks(broker: AsyncBroker) -> None:
    broker.register_task(progress.recompute_progress, task_name=RECOMPUTE_PROGRESS)
    broker.register_task(imports.run_import, task_name=RUN_IMPORT)
    broker.register_task(maintenance.purge_expired, task_name=PURGE_EXPIRED)
    broker.register_task(exports.run_export, task_name=RUN_EXPORT)
    broker.register_task(analytics.rebuild_analytics, task_name=REBUILD_ANALYTICS)
    broker.register_task(notifications.notify_achievement, task_name=NOTIFY_ACHIEVEMENT)
    broker.register_task(reminders.send_reminders, task_name=SEND_REMINDERS)
    broker.register_task(summaries.send_weekly_summaries, task_name=SEND_WEEKLY_SUMMARIES)
    broker.register_task(notifications.resend_emails, task_name=RESEND_EMAILS)
