"""The in-app inbox: notifications about records, reminders and weekly summaries."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import func, literal, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from events import names
from server.errors import NotFound, ValidationFailed
from storage import outbox
from storage.models import Notification
from storage.types import BigId, UTCDateTime, to_utc, utcnow

ACHIEVEMENT = "achievement"
REMINDER = "reminder"
WEEKLY_SUMMARY = "weekly_summary"

# The task that turns a record into a notification; tasks/registry.py registers this name.
ACHIEVEMENT_TASK = "notifications.achievement"

_INVALID_CURSOR = "invalid cursor: pass the nextCursor of the previous page unchanged"


@dataclass(frozen=True)
class NewNotification:
    user_id: int
    kind: str
    title: str
    body: str
    dedup_key: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NotificationPage:
    items: list[Notification]
    has_more: bool
    next_cursor: str | None


def achievement_key(user_id: int, record: dict[str, Any]) -> str:
    """Return the dedup key of one record: user, exercise, kind and the set that made it.

    The exercise name is hashed because names may be longer than the key column allows.
    A workout-volume record has no set, so its workout is used instead.
    """
    exercise = hashlib.sha256(str(record["nameKey"]).encode()).hexdigest()[:16]
    holder = record.get("setId") or f"w{record.get('workoutId')}"
    return f"record:{user_id}:{exercise}:{record['kind']}:{holder}"


def add_achievement_task(
    session: AsyncSession, *, user_id: int, records: Sequence[dict[str, Any]]
) -> None:
    """Queue one task that notifies the records a write achieved, in the outbox of `session`.

    A record with no previous value is skipped: the first time an exercise is done, each of
    its values is a record, and a notification for each would be noise. Each record is still
    its own notification and email, with its own dedup key.
    """
    notable = [record for record in records if record.get("previousValue") is not None]
    if notable:
        outbox.add_task(session, ACHIEVEMENT_TASK, user_id=user_id, records=notable)


async def insert_notifications(
    session: AsyncSession, items: Sequence[NewNotification]
) -> list[Notification]:
    """Insert notifications whose dedup key the user has not had yet; return the new ones.

    Queue a live `notification` event for each new one. On PostgreSQL a concurrent insert of
    the same key waits for the other transaction and then inserts nothing.
    """
    if not items:
        return []
    now = utcnow()
    rows = [
        {
            "user_id": item.user_id,
            "kind": item.kind,
            "title": item.title,
            "body": item.body,
            "data": item.data,
            "dedup_key": item.dedup_key,
            "created_at": now,
        }
        for item in items
    ]
    make_insert = postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert
    statement = (
        make_insert(Notification)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["user_id", "dedup_key"])
        .returning(Notification)
    )
    inserted = list((await session.scalars(statement)).all())
    for notification in inserted:
        outbox.add_event(
            session,
            user_id=notification.user_id,
            name=names.NOTIFICATION,
            data=notification_payload(notification),
        )
    return inserted


def notification_payload(notification: Notification) -> dict[str, Any]:
    """Shape a notification as the API and the live `notification` event send it."""
    return {
        "id": str(notification.id),
        "kind": notification.kind,
        "title": notification.title,
        "body": notification.body,
        "data": notification.data,
        "read": notification.read_at is not None,
        "createdAt": _iso(notification.created_at),
        "readAt": _iso(notification.read_at) if notification.read_at is not None else None,
    }


async def list_notifications(
    session: AsyncSession,
    *,
    user_id: int,
    limit: int,
    cursor: str | None = None,
    unread_only: bool = False,
) -> NotificationPage:
    """Return a page of the user's notifications, newest first, after `cursor`."""
    query = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    if cursor is not None:
        created_at, last_id = _decode_cursor(cursor)
        position = tuple_(literal(created_at, UTCDateTime()), literal(last_id, BigId))
        query = query.where(tuple_(Notification.created_at, Notification.id) < position)
    query = query.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit + 1)
    rows = list((await session.scalars(query)).all())
    has_more = len(rows) > limit
    items = rows[:limit]
    next_cursor = _encode_cursor(items[-1]) if has_more and items else None
    return NotificationPage(items, has_more, next_cursor)


async def count_unread(session: AsyncSession, *, user_id: int) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
    )
    return int(count or 0)


async def mark_read(session: AsyncSession, *, user_id: int, notification_id: int) -> Notification:
    """Mark one of the user's notifications read; another user's is not found."""
    notification = await session.scalar(
        select(Notification).where(
            Notification.id == notification_id, Notification.user_id == user_id
        )
    )
    if notification is None:
        raise NotFound("notification not found")
    if notification.read_at is None:
        notification.read_at = utcnow()
        await session.flush()
    return notification


async def mark_all_read(session: AsyncSession, *, user_id: int) -> int:
    """Mark every unread notification of the user read; return how many changed."""
    result = await session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def _encode_cursor(last: Notification) -> str:
    data = {"v": last.created_at.astimezone(UTC).isoformat(), "i": str(last.id)}
    return base64.urlsafe_b64encode(orjson.dumps(data)).rstrip(b"=").decode()


def _decode_cursor(token: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = orjson.loads(raw)
        created_at = to_utc(datetime.fromisoformat(data["v"]))
        last_id = int(data["i"])
    except (binascii.Error, orjson.JSONDecodeError, ValueError, TypeError, KeyError):
        raise ValidationFailed.field("cursor", _INVALID_CURSOR) from None
    if not 0 < last_id < 2**63:
        raise ValidationFailed.field("cursor", _INVALID_CURSOR)
    return created_at, last_id


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name
