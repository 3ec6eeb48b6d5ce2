"""Delivering notifications: the in-app inbox row, its live event, and its email."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from taskiq import Context

from storage.emails import NewEmail, claim_emails, mark_sent
from storage.models import Notification
from storage.notifications import NewNotification, insert_notifications
from storage.types import utcnow
from tasks.mailer import Email, email_enabled, send_emails

if TYPE_CHECKING:
    from server.services import Services

log = logging.getLogger(__name__)

EMAIL_FOOTER = (
    "\n\n--\nYou receive this email because email notifications are on in your Nappatzim "
    "preferences, where you can turn them off."
)

# A scheduled run that starts this late no longer sends: a reminder hours late is no help.
MAX_SCHEDULE_DELAY = timedelta(minutes=15)


def email_text(body: str) -> str:
    return body + EMAIL_FOOTER


async def deliver(
    services: Services,
    items: Sequence[NewNotification],
    recipients: Mapping[int, str | None],
) -> list[Notification]:
    """Store notifications not stored before, then email those whose user has an address.

    `recipients` maps each user to the address to email, or None for in-app only. The
    inbox rows, their live events and the email delivery rows commit in one transaction, and
    only the emails whose delivery row this call inserted are sent, so a task that runs
    twice sends each email once. Returns the notifications this call inserted.
    """
    if not items:
        return []
    with_email = email_enabled(services.settings)
    now = utcnow()
    async with services.write() as session:
        inserted = await insert_notifications(session, items)
        new_emails = [
            NewEmail(row.user_id, row.dedup_key, row.kind, row.title)
            for row in inserted
            if with_email and recipients.get(row.user_id)
        ]
        claimed = await claim_emails(session, new_emails, now=now)

    # NOTE: a crash between this commit and mark_sent leaves a delivery row with sent_at
    # unset, and the resend pass sends it again after a minute. An email is thus sent at
    # least once: if the crash came after the SMTP server accepted the message, the user
    # gets it twice, with the same Message-ID. The other order (mark, then send) could lose
    # an email instead.
    emails = [
        Email(row.dedup_key, recipients[row.user_id] or "", row.title, email_text(row.body))
        for row in inserted
        if row.dedup_key in claimed
    ]
    sent = await send_emails(services.settings, emails)
    if sent:
        async with services.db.transaction() as session:
            await mark_sent(session, sent, now=utcnow())
    if inserted:
        log.info(
            "delivered %d notifications, sent %d of %d emails",
            len(inserted),
            len(sent),
            len(emails),
        )
    return inserted


def scheduled_time(context: Context, task_name: str, every_seconds: int) -> datetime | None:
    """Return the start of the scheduler tick that sent this task, or now for a manual run.

    The scheduler names each task `schedule-<task name>-<tick number>`, so a task that waited
    in the queue or was redelivered after a worker crash still handles the minute it was sent
    for. Returns None when that tick is more than MAX_SCHEDULE_DELAY old.
    """
    now = utcnow()
    prefix = f"schedule-{task_name}-"
    task_id = context.message.task_id
    tick = task_id[len(prefix) :] if task_id.startswith(prefix) else ""
    if not tick.isdigit():
        return now
    started = datetime.fromtimestamp(int(tick) * every_seconds, UTC)
    if now - started > MAX_SCHEDULE_DELAY:
        log.warning("skipping %s: its tick began at %s, too long ago", task_id, started)
        return None
    return started
