"""The weekly summary task: on Monday morning in each user's zone, last ISO week's totals."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from taskiq import Context, TaskiqDepends

from storage.notifications import WEEKLY_SUMMARY, NewNotification
from storage.summaries import (
    SummaryRecipient,
    SummaryWeek,
    WeekTotals,
    due_summary_weeks,
    list_summary_recipients,
    summarize_weeks,
    weekly_key,
)
from tasks.context import services_of
from tasks.notifications import LB_PER_KG
from tasks.notify import deliver, scheduled_time

if TYPE_CHECKING:
    from server.services import Services

log = logging.getLogger(__name__)

# The task's name. The scheduler sends it every minute, because some zones are 30 or 45
# minutes off the hour.
TASK_NAME = "notifications.weekly_summaries"
EVERY_SECONDS = 60


async def send_weekly_summaries(context: Context = TaskiqDepends()) -> int:
    now = scheduled_time(context, TASK_NAME, EVERY_SECONDS)
    if now is None:
        return 0
    return await send_due_summaries(services_of(context), now=now)


async def send_due_summaries(services: Services, *, now: datetime) -> int:
    """Send last week's summary to users in zones where it is Monday morning at `now`.

    Returns how many summaries this call stored. Each user gets one per ISO week, also when
    several runs overlap: a run skips users who have this week's summary, and of two runs
    that pick the same user, only the one that inserts the notification sends its email.
    """
    delivered = 0
    for week in due_summary_weeks(now):
        after_id = 0
        while True:
            async with services.db.read() as session:
                recipients = await list_summary_recipients(session, week, after_id=after_id)
                if not recipients:
                    break
                totals = await summarize_weeks(
                    session,
                    user_ids=[item.user_id for item in recipients],
                    start=week.start,
                    end=week.end,
                )
            items = [summary_notification(week, item, totals[item.user_id]) for item in recipients]
            addresses = {
                item.user_id: item.email if item.notify_email else None for item in recipients
            }
            delivered += len(await deliver(services, items, addresses))
            after_id = recipients[-1].user_id
    if delivered:
        log.info("sent %d weekly summaries for %s", delivered, now.isoformat())
    return delivered


def summary_notification(
    week: SummaryWeek, recipient: SummaryRecipient, totals: WeekTotals
) -> NewNotification:
    volume = totals.volume * LB_PER_KG if recipient.unit == "lb" else totals.volume
    sunday = week.monday + timedelta(days=6)
    if totals.workouts:
        body = (
            f"Week {week.iso_week} ({week.monday:%d %b} to {sunday:%d %b %Y}): "
            f"{_count(totals.workouts, 'workout')}, {_count(totals.sets, 'set')}, "
            f"{volume:,.0f} {recipient.unit} lifted, "
            f"{_count(totals.records, 'personal record')}."
        )
    else:
        body = (
            f"Week {week.iso_week} ({week.monday:%d %b} to {sunday:%d %b %Y}): no workouts "
            "logged. A new week starts today."
        )
    return NewNotification(
        user_id=recipient.user_id,
        kind=WEEKLY_SUMMARY,
        title=f"Your week {week.iso_week} of {week.iso_year}",
        body=body,
        dedup_key=weekly_key(recipient.user_id, week.label),
        data={
            "isoYear": week.iso_year,
            "isoWeek": week.iso_week,
            "weekStart": week.monday.isoformat(),
            "workouts": totals.workouts,
            "sets": totals.sets,
            "volume": round(volume, 2),
            "unit": recipient.unit,
            "records": totals.records,
        },
    )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
