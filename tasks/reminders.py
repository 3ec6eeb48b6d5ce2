"""The workout reminder task: runs each minute and reminds users at their local time."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from taskiq import Context, TaskiqDepends

from storage.notifications import REMINDER, NewNotification
from storage.reminders import ReminderCandidate, list_reminder_candidates
from tasks.context import services_of
from tasks.notify import deliver, scheduled_time

if TYPE_CHECKING:
    from server.services import Services

log = logging.getLogger(__name__)

# The scheduler sends the task at the start of every minute under this name.
TASK_NAME = "notifications.reminders"
EVERY_SECONDS = 60


async def send_reminders(context: Context = TaskiqDepends()) -> int:
    now = scheduled_time(context, TASK_NAME, EVERY_SECONDS)
    if now is None:
        return 0
    return await send_due_reminders(services_of(context), now=now)


async def send_due_reminders(services: Services, *, now: datetime) -> int:
    """Remind every user whose reminder falls in the minute of `now`; return how many.

    Each user gets at most one reminder per local date, however often this runs.
    """
    reminded = 0
    after_id = 0
    while True:
        async with services.db.read() as session:
            due, next_id = await list_reminder_candidates(session, now=now, after_id=after_id)
        items = [reminder_notification(item) for item in due]
        recipients = {item.user_id: item.email if item.notify_email else None for item in due}
        reminded += len(await deliver(services, items, recipients))
        if next_id is None:
            break
        after_id = next_id
    if reminded:
        log.info("sent %d workout reminders for %s", reminded, now.isoformat())
    return reminded


def reminder_notification(item: ReminderCandidate) -> NewNotification:
    return NewNotification(
        user_id=item.user_id,
        kind=REMINDER,
        title="Time to train",
        body=f"You planned a workout for {item.reminder_time} today and have not logged one yet.",
        dedup_key=f"reminder:{item.user_id}:{item.local_date.isoformat()}",
        data={"localDate": item.local_date.isoformat(), "reminderTime": item.reminder_time},
    )
