"""After a write's events went out, its event rows go and its task rows are leased."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from sqlalchemy import select

from storage import outbox
from storage.db import Database
from storage.models import OutboxMessage
from storage.types import utcnow


async def test_settle_deletes_events_and_leases_tasks(db: Database) -> None:
    async with db.transaction() as session:
        outbox.add_event(session, user_id=1, name="workout:created", data={})
        outbox.add_task(session, "progress.recompute", user_id=1, workout_ids=[1])
        outbox.add_task(session, "notifications.achievements", user_id=1, records=[])
        event, sent_task, other_task = outbox.pending_rows(session)

    lease = timedelta(minutes=5)
    settle = partial(outbox.settle_sent, deleted=[event.id], leased=[sent_task.id], lease=lease)
    before = utcnow()
    await db.write_once(settle)

    async with db.read() as session:
        rows = {row.id: row for row in await session.scalars(select(OutboxMessage))}
    assert event.id not in rows
    assert rows[sent_task.id].attempts == 1
    assert rows[sent_task.id].available_at >= before + lease
    assert rows[other_task.id].attempts == 0
    assert rows[other_task.id].available_at < before + lease
