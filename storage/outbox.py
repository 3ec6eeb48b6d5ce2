"""The outbox: follow-up work stored in the same transaction as the write that causes it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxMessage
from storage.types import utcnow

EVENT = "event"
TASK = "task"

# Rows wait this long for their writer to hand them on before the relay may take them.
DEFAULT_GRACE = timedelta(seconds=5)


def add_event(
    session: AsyncSession,
    *,
    user_id: int,
    name: str,
    data: dict[str, Any],
    session_id: int | None = None,
    watchers: list[int] | None = None,
) -> None:
    """Queue an event for a user's devices and, for a live session, for its watchers.

    Pass the watchers whose grant is valid in this transaction; each receives the event in
    the session's watch room, with an event id of its own.
    """
    payload: dict[str, Any] = {"user_id": user_id, "name": name, "data": data}
    if session_id is not None and watchers:
        payload["session_id"] = session_id
        payload["watchers"] = watchers
    _add(session, EVENT, payload)


def add_task(session: AsyncSession, task_name: str, **kwargs: Any) -> None:
    _add(session, TASK, {"task": task_name, "kwargs": kwargs})


def _add(session: AsyncSession, kind: str, payload: dict[str, Any]) -> None:
    grace = session.info.get("outbox_grace", DEFAULT_GRACE)
    row = OutboxMessage(kind=kind, payload=payload, available_at=utcnow() + grace)
    session.add(row)
    session.info.setdefault("outbox", []).append(row)


def pending_rows(session: AsyncSession) -> list[OutboxMessage]:
    """Return the rows added in this session, for the writer to hand on after commit."""
    rows: list[OutboxMessage] = session.info.pop("outbox", [])
    return rows


async def lease_due(session: AsyncSession, *, limit: int, lease: timedelta) -> list[OutboxMessage]:
    """Take up to `limit` rows whose hand-off is overdue and hide them for `lease`.

    On PostgreSQL, concurrent relays skip each other's rows. A relay that dies holding a lease
    leaves its rows to reappear when the lease ends.
    """
    now = utcnow()
    due = (
        select(OutboxMessage.id)
        .where(OutboxMessage.available_at <= now)
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(due.scalar_subquery()))
        .values(available_at=now + lease, attempts=OutboxMessage.attempts + 1)
        .returning(
            OutboxMessage.id, OutboxMessage.kind, OutboxMessage.payload, OutboxMessage.attempts
        )
    )
    return [
        OutboxMessage(id=row.id, kind=row.kind, payload=row.payload, attempts=row.attempts)
        for row in result
    ]


async def extend_lease(session: AsyncSession, ids: list[int], *, lease: timedelta) -> None:
    await session.execute(
        update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(available_at=utcnow() + lease)
    )


async def delete_rows(session: AsyncSession, ids: list[int]) -> None:
    await session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(ids)))
