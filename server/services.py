"""The resources one process shares: database, Redis, event bus, broker and outbox relay.

Without Redis, a server's Services also send the periodic tasks, in process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession
from taskiq import AsyncBroker, InMemoryBroker

from events.bus import DroppingPublisher, EventBus, EventPublisher
from events.manager import LiveRedisManager
from events.socket import create_write_only_manager
from server.config import Settings
from server.ratelimit import LoginLimiter
from server.tokens import TokenSigner
from storage import outbox
from storage.db import Database
from tasks.broker import create_broker
from tasks.relay import OutboxRelay
from tasks.scheduler import SCHEDULES, Schedule, schedule_in_process

log = logging.getLogger(__name__)


class Services:
    """Everything a request handler or a task needs, opened by `start` and closed by `stop`."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.db = Database(
            settings.sqlalchemy_url,
            replica_urls=settings.database_replica_urls,
            schema=settings.database_schema,
        )
        self.redis: Redis | None = None
        if settings.redis_url is not None:
            self.redis = Redis.from_url(
                settings.redis_url,
                socket_connect_timeout=2,
                socket_timeout=5,
                health_check_interval=30,
            )
        self.tokens = TokenSigner(
            settings.secret(),
            access_seconds=settings.access_token_seconds,
            refresh_seconds=settings.refresh_token_seconds,
        )
        self.limiter = LoginLimiter(
            self.redis,
            prefix=settings.redis_prefix,
            attempts=settings.login_attempts,
            address_attempts=settings.login_address_attempts,
            window_seconds=settings.login_window_seconds,
        )
        self.broker: AsyncBroker = create_broker(settings)
        self.broker.state.services = self
        self.bus: EventBus
        self.relay: OutboxRelay
        self._relay_task: asyncio.Task[None] | None = None
        # The periodic tasks a server sends itself when there is no Redis. Tests shorten them.
        self.schedules: tuple[Schedule, ...] = SCHEDULES
        self._schedule_task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._own_publisher: LiveRedisManager | None = None
        self._outbox_grace = timedelta(seconds=settings.outbox_grace_seconds)

    async def start(
        self,
        publisher: EventPublisher | None = None,
        *,
        start_broker: bool = True,
        run_schedules: bool = False,
    ) -> None:
        """Connect the event bus, then start the broker, the outbox relay and the schedules.

        A server passes its Socket.IO manager as `publisher`. Other processes publish
        through Redis, or drop events when there is neither Redis nor a socket to reach. A
        worker passes `start_broker=False` because its task receiver starts the broker.

        A server passes `run_schedules=True`. Without REDIS_URL it then sends `schedules`
        through its in-memory broker, because `nappatzim scheduler` needs Redis. With
        REDIS_URL set the flag does nothing, since scheduler processes send them.
        """
        if publisher is None:
            publisher = self._detached_publisher()
        self.bus = EventBus(publisher)
        self.relay = OutboxRelay(
            self.db,
            self.bus,
            self.broker,
            poll_seconds=self.settings.outbox_poll_seconds,
            task_lease=timedelta(seconds=self.settings.outbox_task_lease_seconds),
            max_attempts=self.settings.task_max_attempts,
        )
        if start_broker:
            await self._start_broker()
        self._relay_task = asyncio.create_task(self.relay.run(self._stopping), name="outbox-relay")
        if run_schedules and self.settings.redis_url is None:
            self._schedule_task = asyncio.create_task(
                schedule_in_process(self.broker, self._stopping, self.schedules),
                name="in-process-scheduler",
            )

    def _detached_publisher(self) -> EventPublisher:
        if self.settings.redis_url is None:
            return DroppingPublisher()
        self._own_publisher = create_write_only_manager(
            self.settings.redis_url,
            channel=f"{self.settings.redis_prefix}socketio",
            prefix=self.settings.redis_prefix,
        )
        return self._own_publisher

    async def stop(self) -> None:
        await self.bus.close()
        if self._own_publisher is not None:
            await self._own_publisher.close()
        self._stopping.set()
        # Both loops stop before the wait for in-process tasks, so they start no new ones.
        await _wait_stopped(self._relay_task, "outbox relay")
        await _wait_stopped(self._schedule_task, "in-process scheduler")
        if isinstance(self.broker, InMemoryBroker):
            # Tasks run inside this process: let them finish, since their outbox rows would
            # otherwise wait for the next start.
            try:
                await asyncio.wait_for(self.broker.wait_all(), timeout=10)
            except TimeoutError:
                log.warning("in-process tasks still running at shutdown are cancelled")
        with contextlib.suppress(Exception):
            await self.broker.shutdown()
        if self.redis is not None:
            await self.redis.aclose()
        await self.db.dispose()

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """Open a write transaction; after it commits, hand its outbox rows on."""
        async with self.db.transaction() as session:
            session.info["outbox_grace"] = self._outbox_grace
            yield session
            rows = outbox.pending_rows(session)
        if rows:
            await self.relay.dispatch(rows)

    async def _start_broker(self) -> None:
        # With Redis down a server still starts: kicking a task then fails, the task stays in
        # the outbox, and the relay sends it once Redis is back.
        try:
            await self.broker.startup()
        except (RedisError, OSError) as error:
            log.warning("task broker unavailable at start, tasks wait in the outbox: %r", error)


async def _wait_stopped(task: asyncio.Task[None] | None, name: str) -> None:
    if task is None:
        return
    try:
        await asyncio.wait_for(task, timeout=10)
    except TimeoutError:
        log.warning("%s did not stop in time and was cancelled", name)
