"""Email deliveries: one row per email, keyed by the event it is about, so it is sent once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import EmailDelivery, Notification, User


@dataclass(frozen=True)
class NewEmail:
    user_id: int
    dedup_key: str
    kind: str
    subject: str


@dataclass(frozen=True)
class PendingEmail:
    """A delivery that is due to be sent, with what the message needs."""

    id: int
    dedup_key: str
    recipient: str
    subject: str
    body: str
    attempts: int


async def claim_emails(
    session: AsyncSession, items: Sequence[NewEmail], *, now: datetime
) -> set[str]:
    """Insert a delivery row per email whose key is new; return the keys this call inserted.

    Only the caller whose row was inserted sends the email. A concurrent insert of the same
    key on PostgreSQL waits for the other transaction and then inserts nothing.
    """
    if not items:
        return set()
    rows = [
        {
            "user_id": item.user_id,
            "dedup_key": item.dedup_key,
            "kind": item.kind,
            "subject": item.subject[:200],
            "created_at": now,
            "attempts": 1,
            "attempted_at": now,
        }
        for item in items
    ]
    dialect = session.get_bind().dialect.name
    make_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    result = await session.execute(
        make_insert(EmailDelivery)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["dedup_key"])
        .returning(EmailDelivery.dedup_key)
    )
    return set(result.scalars())


async def mark_sent(session: AsyncSession, keys: Sequence[str], *, now: datetime) -> None:
    if keys:
        await session.execute(
            update(EmailDelivery).where(EmailDelivery.dedup_key.in_(keys)).values(sent_at=now)
        )


async def claim_unsent(
    session: AsyncSession,
    *,
    now: datetime,
    retry_after: timedelta,
    max_attempts: int,
    limit: int,
) -> list[PendingEmail]:
    """Take unsent deliveries whose last attempt began more than `retry_after` ago.

    Each taken row counts one more attempt and starts a new `retry_after` period, so two
    concurrent callers never take the same row. The message is rebuilt from the notification
    with the same key, which has the same subject and text.
    """
    due = (
        select(EmailDelivery.id)
        .where(
            EmailDelivery.sent_at.is_(None),
            EmailDelivery.attempts < max_attempts,
            EmailDelivery.attempted_at < now - retry_after,
        )
        .order_by(EmailDelivery.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    claimed = await session.execute(
        update(EmailDelivery)
        .where(
            EmailDelivery.id.in_(due.scalar_subquery()),
            EmailDelivery.sent_at.is_(None),
            EmailDelivery.attempted_at < now - retry_after,
        )
        .values(attempts=EmailDelivery.attempts + 1, attempted_at=now)
        .returning(EmailDelivery.id)
    )
    ids = list(claimed.scalars())
    if not ids:
        return []
    rows = await session.execute(
        select(
            EmailDelivery.id,
            EmailDelivery.dedup_key,
            EmailDelivery.subject,
            EmailDelivery.attempts,
            User.email,
            Notification.body,
        )
        .join(User, User.id == EmailDelivery.user_id)
        .join(
            Notification,
            and_(
                Notification.user_id == EmailDelivery.user_id,
                Notification.dedup_key == EmailDelivery.dedup_key,
            ),
        )
        .where(EmailDelivery.id.in_(ids))
        .order_by(EmailDelivery.id)
    )
    return [
        PendingEmail(row.id, row.dedup_key, row.email, row.subject, row.body, row.attempts)
        for row in rows
    ]


async def delete_finished(session: AsyncSession, *, before: datetime, max_attempts: int) -> int:
    """Delete deliveries created before `before` that were sent or were given up on."""
    result = await session.execute(
        delete(EmailDelivery).where(
            EmailDelivery.created_at < before,
            or_(EmailDelivery.sent_at.is_not(None), EmailDelivery.attempts >= max_attempts),
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
