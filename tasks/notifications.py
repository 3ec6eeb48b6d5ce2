"""Notification tasks: personal records, and the resend pass for emails left unsent."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from taskiq import Context, TaskiqDepends

from storage import emails
from storage.models import User
from storage.notifications import ACHIEVEMENT, NewNotification, achievement_key
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
    records: list[dict[str, Any]] | None = None,
    record: dict[str, Any] | None = None,
    dedup_key: str | None = None,
    context: Context = TaskiqDepends(),
) -> None:
    """Tell a user about the personal records of one write, in the inbox and by email.

    `record` with `dedup_key` is the form of tasks queued by earlier versions, one per record.
    """
    keyed = [(item, achievement_key(user_id, item)) for item in records or ()]
    if record is not None and dedup_key is not None:
        keyed.append((record, dedup_key))
    await deliver_achievements(services_of(context), user_id=user_id, records=keyed)


async def deliver_achievement(
    services: Services, *, user_id: int, record: dict[str, Any], dedup_key: str
) -> bool:
    """Deliver one record's notification; return True if this call stored it."""
    stored = await deliver_achievements(services, user_id=user_id, records=[(record, dedup_key)])
    return stored > 0


async def deliver_achievements(
    services: Services, *, user_id: int, records: Sequence[tuple[dict[str, Any], str]]
) -> int:
    """Deliver each record's notification under its dedup key; return how many were stored.

    A record with no previous value comes from the first time an exercise is done, when every
    value is a record, and is not notified.
    """
    records = [(record, key) for record, key in records if record.get("previousValue") is not None]
    if not records:
        return 0
    async with services.db.read() as session:
        user = await session.get(User, user_id)
    if user is None or not user.notify_achievements:
        return 0
    items = []
    for record, key in records:
        title, body = achievement_text(record, unit=user.unit)
        items.append(NewNotification(user_id, ACHIEVEMENT, title, body, key, data=record))
    recipient = user.email if user.notify_email else None
    return len(await deliver(services, items, {user_id: recipient}))


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
