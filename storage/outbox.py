"""The outbox: follow-up work stored in the same transaction as the write that causes it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    bindparam,
    delete,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

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


def add_retry(
    session: AsyncSession,
    task_name: str,
    kwargs: dict[str, Any],
    *,
    available_at: datetime,
    attempts: int,
    error: str,
) -> None:
    """Queue another run of a task that was sent without an outbox row, such as a scheduled one.

    The row counts the `attempts` made so far and is left to the relay, which sends it at
    `available_at`.
    """
    row = OutboxMessage(
        kind=TASK,
        payload={"task": task_name, "kwargs": kwargs},
        attempts=attempts,
        available_at=available_at,
        last_error=error,
    )
    session.add(row)


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


async def mark_sending(
    session: AsyncSession | AsyncConnection, ids: list[int], *, lease: timedelta
) -> None:
    """Count a send of each task row and hide the rows for `lease`, before they are sent.

    Counting before the send means a task that fails at once finds its attempt counted, and
    its retry time is not overwritten by a lease set after the send.
    """
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids))
        .values(available_at=utcnow() + lease, attempts=OutboxMessage.attempts + 1)
    )


# The rows of a write after its events went out: the event rows go, and the task rows about
# to be sent are counted and leased, in one statement on PostgreSQL.
_SETTLE = text(
    "WITH sent AS (DELETE FROM outbox WHERE id = ANY(:deleted)) "
    "UPDATE outbox SET attempts = attempts + 1, available_at = :until WHERE id = ANY(:leased)"
).bindparams(
    bindparam("deleted", type_=ARRAY(BigInteger)),
    bindparam("leased", type_=ARRAY(BigInteger)),
    bindparam("until", type_=DateTime(timezone=True)),
)


async def settle_sent(
    connection: AsyncConnection, *, deleted: list[int], leased: list[int], lease: timedelta
) -> None:
    """Delete event rows that were sent, then count and lease task rows as `mark_sending` does.

    Running it twice deletes nothing more and counts one send too many, which only brings a
    task's dead-lettering one send closer.
    """
    if connection.dialect.name == "postgresql":
        until = utcnow() + lease
        await connection.execute(_SETTLE, {"deleted": deleted, "leased": leased, "until": until})
        return
    if deleted:
        await delete_rows(connection, deleted)
    if leased:
        await mark_sending(connection, leased, lease=lease)


async def release(session: AsyncSession, ids: list[int]) -> None:
    """Undo `mark_sending` or `lease_due` for rows whose send failed, so the relay sends them."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids))
        .values(available_at=utcnow(), attempts=OutboxMessage.attempts - 1)
    )


async def extend_lease(session: AsyncSession, ids: list[int], *, lease: timedelta) -> None:
    await session.execute(
        update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(available_at=utcnow() + lease)
    )


async def get_task_row(session: AsyncSession, row_id: int) -> OutboxMessage | None:
    """Return a task row, locked until commit on PostgreSQL."""
    statement = select(OutboxMessage).where(OutboxMessage.id == row_id, OutboxMessage.kind == TASK)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        statement = statement.with_for_update()
    result = await session.execute(statement.execution_options(populate_existing=True))
    return result.scalar_one_or_none()


async def reschedule(
    session: AsyncSession, row_id: int, *, available_at: datetime, error: str
) -> None:
    """Make the relay send a task row again at `available_at`, after a run that failed."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id)
        .values(available_at=available_at, last_error=error)
    )


async def delete_rows(session: AsyncSession | AsyncConnection, ids: list[int]) -> None:
    await session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(ids)))


async def count_task_rows(session: AsyncSession) -> dict[str, int]:
    """Count task rows: all of them, and those whose last run failed and that will be retried."""
    tasks = OutboxMessage.kind == TASK
    total = await session.scalar(select(func.count()).where(tasks))
    retrying = await session.scalar(
        select(func.count()).where(tasks, OutboxMessage.last_error.is_not(None))
    )
    return {"total": int(total or 0), "retrying": int(retrying or 0)}


async def list_retrying_tasks(session: AsyncSession, *, limit: int) -> list[OutboxMessage]:
    """List task rows whose last run failed, the next one due first."""
    result = await session.execute(
        select(OutboxMessage)
        .where(OutboxMessage.kind == TASK, OutboxMessage.last_error.is_not(None))
        .order_by(OutboxMessage.available_at, OutboxMessage.id)
        .limit(limit)
    )
    return list(result.scalars())
