"""Hand outbox rows on: events to the event bus, tasks to the broker."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta
from functools import partial
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession
from taskiq import AsyncBroker, TaskiqMessage, TaskiqMiddleware, TaskiqResult
from taskiq.exceptions import SendTaskError

from events.bus import BusEvent, EventBus
from storage import dead_letters, outbox
from storage.db import Database
from storage.models import OutboxMessage
from tasks.delivery import current_delivery

log = logging.getLogger(__name__)

TASK_ID_PREFIX = "outbox-"
# The maximum wait of the relay loop after failed passes.
MAX_FAILURE_WAIT_SECONDS = 30.0


def outbox_row_id(task_id: str) -> int | None:
    """Return the id of the outbox row a task was sent from, or None for another task id."""
    if not task_id.startswith(TASK_ID_PREFIX):
        return None
    number = task_id[len(TASK_ID_PREFIX) :]
    return int(number) if number.isdigit() else None


class OutboxRelay:
    """Send outbox rows right after their write commits, and again when a hand-off failed.

    Task rows stay in the outbox, hidden for `task_lease`, until the task has run. If the
    queue lost the task (a Redis restart without persistence), the relay sends it again. Each
    send counts as an attempt, and a row whose lease ran out after `max_attempts` sends is
    dead-lettered.
    """

    def __init__(
        self,
        db: Database,
        bus: EventBus,
        broker: AsyncBroker,
        *,
        poll_seconds: float,
        task_lease: timedelta,
        max_attempts: int,
    ):
        self._db = db
        self._bus = bus
        self._broker = broker
        self._poll_seconds = poll_seconds
        self._task_lease = task_lease
        self._max_attempts = max_attempts

    async def dispatch(self, rows: list[OutboxMessage], *, leased: bool = False) -> None:
        """Send committed rows; rows not sent stay for the relay loop.

        Events go first, in their order, since devices wait for them and tasks do not. Task
        rows are counted and leased before they are sent, unless `leased` is true because the
        relay's `lease_due` did that already.
        """
        events = [row for row in rows if row.kind != outbox.TASK]
        tasks = [row for row in rows if row.kind == outbox.TASK]
        # A lost event is logged and followed by a resync, so its row is done either way.
        ids = await self._bus.publish_all([_bus_event(row.payload) for row in events])
        sendable, postponed = (tasks, []) if None not in ids else ([], tasks)
        # One step deletes the sent events and leases the tasks about to be sent. When
        # an event was lost, Redis is likely down: leased tasks go back to the relay for later.
        to_lease = [] if leased else sendable
        marked = await self._mark(
            deleted=[row.id for row in events],
            leased=[row.id for row in to_lease],
            released=[row.id for row in postponed] if leased else [],
        )
        if not marked and to_lease:
            # Not counted as sent, so not sent now: the relay sends them after their grace time.
            sendable = []
        unsent = await self._send_tasks(sendable)
        if unsent:
            await self._mark(released=unsent)

    async def _mark(
        self,
        *,
        deleted: Sequence[int] = (),
        leased: Sequence[int] = (),
        released: Sequence[int] = (),
    ) -> bool:
        """Delete, lease and release outbox rows; tell whether the change committed."""
        if not deleted and not leased and not released:
            return True
        try:
            if released:
                async with self._db.transaction() as session:
                    if deleted:
                        await outbox.delete_rows(session, list(deleted))
                    if leased:
                        await outbox.mark_sending(session, list(leased), lease=self._task_lease)
                    await outbox.release(session, list(released))
            else:
                # The common case after a write: one statement, with no transaction around it.
                await self._db.write_once(
                    partial(
                        outbox.settle_sent,
                        deleted=list(deleted),
                        leased=list(leased),
                        lease=self._task_lease,
                    )
                )
        except Exception as error:  # the rows are idempotent and go again later
            log.warning(
                "outbox rows not marked (deleted %s, leased %s, released %s): %r",
                deleted,
                leased,
                released,
                error,
            )
            return False
        return True

    async def _send_tasks(self, rows: list[OutboxMessage]) -> list[int]:
        """Send task rows in order until one fails; return the rows not sent.

        A sent row stays in the outbox until its task has run.
        """
        for index, row in enumerate(rows):
            try:
                await self._send(row)
            except (RedisError, OSError, TimeoutError, SendTaskError) as error:
                log.warning("outbox row %s not sent, the relay retries it: %r", row.id, error)
                return [later.id for later in rows[index:]]
        return []

    async def run(self, stop: asyncio.Event) -> None:
        """Send rows whose writer did not hand them on, until `stop` is set.

        The loop stops between passes rather than being cancelled, so no database call is cut
        off halfway.
        """
        wait = self._poll_seconds
        while not stop.is_set():
            try:
                await self.relay_due()
                wait = self._poll_seconds
            except Exception as error:  # a failing database or Redis must not end the loop
                # Each failure in a row doubles the wait, so an unmigrated or unreachable
                # database gets a warning now and then instead of every second.
                wait = min(wait * 2, MAX_FAILURE_WAIT_SECONDS)
                log.warning("outbox relay failed, retrying in %ss: %r", wait, error)
            try:
                await asyncio.wait_for(stop.wait(), timeout=wait)
            except TimeoutError:
                pass

    async def relay_due(self, *, limit: int = 200) -> int:
        """Send the rows that are due, and dead-letter tasks whose every send ran out of time."""
        async with self._db.transaction() as session:
            rows = await outbox.lease_due(session, limit=limit, lease=self._task_lease)
            expired = [
                row for row in rows if row.kind == outbox.TASK and row.attempts > self._max_attempts
            ]
            for row in expired:
                await self._dead_letter(session, row)
            events = outbox.pending_rows(session)
        for row in expired:
            log.error(
                "outbox row %s dead-lettered: %d sends did not finish: %s",
                row.id,
                row.attempts - 1,
                row.payload,
            )
        if events:
            await self.dispatch(events)
        expired_ids = {row.id for row in expired}
        rows = [row for row in rows if row.id not in expired_ids]
        if rows:
            log.info("relaying %d outbox rows", len(rows))
            await self.dispatch(rows, leased=True)
        return len(rows)

    async def _dead_letter(self, session: AsyncSession, row: OutboxMessage) -> None:
        sends = row.attempts - 1
        lease = self._task_lease.total_seconds()
        await dead_letters.create_dead_letter(
            session,
            task_name=row.payload["task"],
            kwargs=row.payload["kwargs"],
            error=(
                f"the task did not finish after {sends} sends: each time it neither succeeded "
                f"nor failed within OUTBOX_TASK_LEASE_SECONDS ({lease:g}s)"
            ),
            job_error=f"failed after {sends} attempts: the task did not finish",
            attempts=sends,
            outbox_id=row.id,
        )

    async def _send(self, row: OutboxMessage) -> None:
        payload = row.payload
        task = self._broker.find_task(payload["task"])
        if task is None:
            log.error("outbox row %s names unknown task %r", row.id, payload["task"])
            return
        await task.kicker().with_task_id(f"{TASK_ID_PREFIX}{row.id}").kiq(**payload["kwargs"])


def _bus_event(payload: dict[str, Any]) -> BusEvent:
    return BusEvent(
        payload["user_id"],
        payload["name"],
        payload["data"],
        payload.get("session_id"),
        payload.get("watchers", ()),
    )


class OutboxAckMiddleware(TaskiqMiddleware):
    """Delete a task's outbox row once the task has run without error.

    A run that left its message pending, because another run holds the task's job, keeps the
    row for that other run.
    """

    async def post_execute(self, message: TaskiqMessage, result: TaskiqResult[Any]) -> None:
        row_id = outbox_row_id(message.task_id)
        if row_id is None or result.is_err:
            return
        delivery = current_delivery()
        if delivery is not None and delivery.left_pending:
            return
        db: Database = self.broker.state.services.db
        try:
            async with db.transaction() as session:
                await outbox.delete_rows(session, [row_id])
        except Exception as error:  # the row comes back and the idempotent task runs again
            log.warning("outbox row %s of a finished task not deleted: %r", row_id, error)
