"""Hand outbox rows on: events to the event bus, tasks to the broker."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from redis.exceptions import RedisError
from taskiq import AsyncBroker, TaskiqMessage, TaskiqMiddleware, TaskiqResult
from taskiq.exceptions import SendTaskError

from events.bus import EventBus
from storage import outbox
from storage.db import Database
from storage.models import OutboxMessage

log = logging.getLogger(__name__)

TASK_ID_PREFIX = "outbox-"
# A task row sent this many times without its task finishing is dropped and logged.
MAX_ATTEMPTS = 10


class OutboxRelay:
    """Send outbox rows right after their write commits, and again when a hand-off failed.

    Task rows stay in the outbox, hidden for `task_lease`, until the task has run; if the
    queue lost the task (a Redis restart without persistence), the relay sends it again.
    """

    def __init__(
        self,
        db: Database,
        bus: EventBus,
        broker: AsyncBroker,
        *,
        poll_seconds: float,
        task_lease: timedelta,
    ):
        self._db = db
        self._bus = bus
        self._broker = broker
        self._poll_seconds = poll_seconds
        self._task_lease = task_lease

    async def dispatch(self, rows: list[OutboxMessage]) -> None:
        """Send committed rows; rows not sent stay for the relay loop."""
        published: list[int] = []
        kicked: list[int] = []
        for row in rows:
            try:
                if await self._send(row):
                    kicked.append(row.id)
                else:
                    published.append(row.id)
            except (RedisError, OSError, TimeoutError, SendTaskError) as error:
                log.warning("outbox row %s not sent, the relay retries it: %r", row.id, error)
                break
        try:
            async with self._db.transaction() as session:
                if published:
                    await outbox.delete_rows(session, published)
                if kicked:
                    await outbox.extend_lease(session, kicked, lease=self._task_lease)
        except Exception as error:  # the rows are idempotent and go again later
            log.warning("outbox rows sent but not marked: %r", error)

    async def run(self, stop: asyncio.Event) -> None:
        """Send rows whose writer did not hand them on, until `stop` is set.

        The loop stops between passes rather than being cancelled, so no database call is cut
        off halfway.
        """
        while not stop.is_set():
            try:
                await self.relay_due()
            except Exception as error:  # a failing database or Redis must not end the loop
                log.warning("outbox relay failed, retrying in %ss: %r", self._poll_seconds, error)
            try:
                await asyncio.wait_for(stop.wait(), timeout=self._poll_seconds)
            except TimeoutError:
                pass

    async def relay_due(self, *, limit: int = 200) -> int:
        async with self._db.transaction() as session:
            rows = await outbox.lease_due(session, limit=limit, lease=self._task_lease)
            dead = [row for row in rows if row.attempts > MAX_ATTEMPTS]
            if dead:
                await outbox.delete_rows(session, [row.id for row in dead])
        for row in dead:
            log.error(
                "outbox row %s dropped after %d attempts: %s", row.id, row.attempts, row.payload
            )
        rows = [row for row in rows if row.attempts <= MAX_ATTEMPTS]
        if rows:
            log.info("relaying %d outbox rows", len(rows))
            await self.dispatch(rows)
        return len(rows)

    async def _send(self, row: OutboxMessage) -> bool:
        """Send one row; return True for a task row, which stays until its task has run."""
        payload = row.payload
        if row.kind == outbox.EVENT:
            await self._bus.publish(
                payload["user_id"],
                payload["name"],
                payload["data"],
                session_id=payload.get("session_id"),
                watchers=payload.get("watchers", ()),
            )
            return False
        task = self._broker.find_task(payload["task"])
        if task is None:
            log.error("outbox row %s names unknown task %r", row.id, payload["task"])
            return True
        await task.kicker().with_task_id(f"{TASK_ID_PREFIX}{row.id}").kiq(**payload["kwargs"])
        return True


class OutboxAckMiddleware(TaskiqMiddleware):
    """Delete a task's outbox row once the task has run without error."""

    async def post_execute(self, message: TaskiqMessage, result: TaskiqResult[Any]) -> None:
        if not message.task_id.startswith(TASK_ID_PREFIX) or result.is_err:
            return
        row_id = int(message.task_id[len(TASK_ID_PREFIX) :])
        db: Database = self.broker.state.services.db
        try:
            async with db.transaction() as session:
                await outbox.delete_rows(session, [row_id])
        except Exception as error:  # the row comes back and the idempotent task runs again
            log.warning("outbox row %s of a finished task not deleted: %r", row_id, error)
