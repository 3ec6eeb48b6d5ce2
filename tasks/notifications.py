"""Notification tasks: personal records, and the resend pass for emails left unsent."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from taskiq import Context, TaskiqDepends

from storage import emails
from storage.models import User
from storage.notifications import ACHIEVEMENT, NewNotification
from storage.types import utcnow
from tasks.context import services_of
from tasks.mailer import Email, email_enabled, send_emails
from tasks.notify import deliver, email_text

if TYPE_CHECKING:
    from server.services import Services

log = logging.getLogger(__name__)

LB_PER_KG = 1 / 0.45359237
# An unsent email is sent again once its last attempt is this old, up to MAX_EMAIL_ATTEMPTS
# attempts in all, and its row is deleted after EMAIL_RETENTION.
RESEND_AFTER = timedelta(minutes=1)
MAX_EMAIL_ATTEMPTS = 5
EMAIL_RETENTION = timedelta(days=30)
RESEND_BATCH = 100

KIND_LABELS = {
    "max_load": "heaviest load",
    "best_e1rm": "best estimated one-rep max",
    "max_set_volume": "biggest set volume",
    "max_workout_volume": "biggest workout volume",
}


async def notify_achievement(
    user_id: int,
    record: dict[str, Any],
    dedup_key: str,
    context: Context = TaskiqDepends(),
) -> None:
    """Tell a user about a personal record in the inbox and, if they want it, by email."""
    await deliver_achievement(
        services_of(context), user_id=user_id, record=record, dedup_key=dedup_key
    )


async def deliver_achievement(
    services: Services, *, user_id: int, record: dict[str, Any], dedup_key: str
) -> bool:
    """Deliver one record's notification; return True if this call stored it.

    A record with no previous value comes from the first time an exercise is done, when every
    value is a record, and is not notified.
    """
    if record.get("previousValue") is None:
        return False
    async with services.db.read() as session:
        user = await session.get(User, user_id)
    if user is None or not user.notify_achievements:
        return False
    title, body = achievement_text(record, unit=user.unit)
    item = NewNotification(user_id, ACHIEVEMENT, title, body, dedup_key, data=record)
    recipient = user.email if user.notify_email else None
    return bool(await deliver(services, [item], {user_id: recipient}))


def achievement_text(record: dict[str, Any], *, unit: str) -> tuple[str, str]:
    """Return the title and text of a record's notification, loads in the user's unit."""
    exercise = record["exercise"]
    title = f"New personal record: {exercise}"[:200]
    if record["kind"] == "max_reps":
        load = _amount(record.get("load"), "kg", unit)
        body = (
            f"{exercise}: {_number(record['value'])} reps at {load}, "
            f"up from {_number(record['previousValue'])}."
        )
        return title, body
    label = KIND_LABELS.get(record["kind"], record["kind"])
    value = _amount(record["value"], record["unit"], unit)
    previous = _amount(record["previousValue"], record["unit"], unit)
    return title, f"{exercise}: {label} {value}, up from {previous}."


def _amount(value: float | None, canonical_unit: str, preferred: str) -> str:
    if value is None:
        return "no load"
    if canonical_unit == "kg" and preferred == "lb":
        return f"{_number(value * LB_PER_KG)} lb"
    return f"{_number(value)} {canonical_unit}"


def _number(value: float) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".")


async def resend_emails(context: Context = TaskiqDepends()) -> dict[str, int]:
    return await resend_unsent_emails(services_of(context), now=utcnow())


async def resend_unsent_emails(services: Services, *, now: datetime) -> dict[str, int]:
    """Send emails whose first attempt failed or was cut off, and delete old deliveries.

    Runs each minute from the scheduler. A row's attempt counter is raised before the send,
    so a crash during it still counts.
    """
    resent = 0
    if email_enabled(services.settings):
        while True:
            async with services.db.transaction() as session:
                pending = await emails.claim_unsent(
                    session,
                    now=now,
                    retry_after=RESEND_AFTER,
                    max_attempts=MAX_EMAIL_ATTEMPTS,
                    limit=RESEND_BATCH,
                )
            if not pending:
                break
            messages = [
                Email(item.dedup_key, item.recipient, item.subject, email_text(item.body))
                for item in pending
            ]
            sent = await send_emails(services.settings, messages)
            if sent:
                async with services.db.transaction() as session:
                    await emails.mark_sent(session, sent, now=utcnow())
            resent += len(sent)
            for item in pending:
                if item.dedup_key not in sent and item.attempts >= MAX_EMAIL_ATTEMPTS:
                    log.error(
                        "email %s not sent after %d attempts, giving up",
                        item.dedup_key,
                        item.attempts,
                    )
            if len(sent) < len(pending):
                break
    async with services.db.transaction() as session:
        purged = await emails.delete_finished(
            session, before=now - EMAIL_RETENTION, max_attempts=MAX_EMAIL_ATTEMPTS
        )
    if resent or purged:
        log.info("resent %d emails and deleted %d old delivery rows", resent, purged)
    return {"resent": resent, "purged": purged}
