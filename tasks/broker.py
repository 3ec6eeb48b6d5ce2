"""The Taskiq broker: a Redis stream with acknowledgements, or in process when embedded."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from taskiq import AckableMessage, AsyncBroker, BrokerMessage, InMemoryBroker
from taskiq_redis import RedisStreamBroker

from server.config import Settings
from tasks.delivery import current_delivery
from tasks.relay import OutboxAckMiddleware
from tasks.retry import RetryMiddleware, RetryPolicy

log = logging.getLogger(__name__)

# The task label that makes the broker add a message only if no message with the same task
# id was added within the label's value, in whole seconds.
SEND_ONCE_LABEL = "send_once_seconds"

# Marks the task id as sent and adds the message in one atomic step, so a crash or a lost
# reply never leaves the mark without the message or the message without the mark.
# KEYS: the mark, the stream. ARGV: seconds to keep the mark, message data, MAXLEN and its
# trim operator, or an empty MAXLEN for no trimming.
_ADD_ONCE_SCRIPT = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
    return 0
end
if ARGV[3] == '' then
    redis.call('XADD', KEYS[2], '*', 'data', ARGV[2])
else
    redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[4], ARGV[3], '*', 'data', ARGV[2])
end
return 1
"""


class ReclaimingStreamBroker(RedisStreamBroker):
    """A stream broker that also takes over abandoned tasks while the queue is idle.

    taskiq-redis 1.2 runs XAUTOCLAIM only after a read returned new messages, so a task whose
    worker died is never delivered again until other work arrives. This loop reclaims after
    every read, empty or not. XAUTOCLAIM is atomic, so no lock is needed between workers.

    A message labelled with SEND_ONCE_LABEL is added at most once per task id in that time.
    """

    async def kick(self, message: BrokerMessage) -> None:
        seconds = message.labels.get(SEND_ONCE_LABEL)
        if seconds is None:
            await super().kick(message)
            return
        queue_name = message.labels.get("queue_name") or self.queue_name
        async with Redis(connection_pool=self.connection_pool) as redis:
            add_once = redis.register_script(_ADD_ONCE_SCRIPT)
            added = await add_once(
                keys=[f"{queue_name}:sent:{message.task_id}", queue_name],
                args=[
                    int(seconds),
                    message.message,
                    "" if self.maxlen is None else self.maxlen,
                    "~" if self.approximate else "=",
                ],
            )
        if added:
            log.info("sent task %s", message.task_id)

    async def listen(self) -> AsyncGenerator[AckableMessage, None]:
        async with Redis(connection_pool=self.connection_pool) as redis:
            delay = 0.5
            while True:
                _raise_if_cancelling()
                try:
                    fetched = await self._read_new(redis)
                    claimed = await self._claim_abandoned(redis)
                except (RedisError, OSError) as error:
                    _raise_if_cancelling()
                    # Stay alive through a Redis outage: unacknowledged messages stay pending
                    # in the stream and are reclaimed once Redis is back.
                    log.warning("task queue unavailable, retrying in %.1fs: %r", delay, error)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)
                    continue
                delay = 0.5
                for message in fetched + claimed:
                    yield message

    async def _read_new(self, redis: Redis) -> list[AckableMessage]:
        fetched: Any = await redis.xreadgroup(
            self.consumer_group_name,
            self.consumer_name,
            {self.queue_name: ">"},
            block=self.block,
            count=self.count,
        )
        return [
            self._ackable(stream, message_id, fields)
            for stream, messages in fetched or []
            for message_id, fields in messages
        ]

    async def _claim_abandoned(self, redis: Redis) -> list[AckableMessage]:
        claimed: Any = await redis.xautoclaim(
            self.queue_name,
            self.consumer_group_name,
            self.consumer_name,
            min_idle_time=self.idle_timeout,
            count=self.unacknowledged_batch_size,
        )
        messages = []
        for message_id, fields in claimed[1]:
            if fields is None:
                continue
            log.warning("redelivering abandoned task message %s", message_id)
            messages.append(self._ackable(self.queue_name, message_id, fields))
        return messages

    def _ackable(self, stream: Any, message_id: Any, fields: dict[bytes, Any]) -> AckableMessage:
        ack = self._ack_generator(id=message_id, queue_name=stream)

        async def ack_unless_left_pending() -> None:
            # The receiver acknowledges inside the asyncio task that ran the message, so this
            # reads the delivery of that run.
            delivery = current_delivery()
            if delivery is not None and delivery.left_pending:
                log.info("task message %s left unacknowledged, to be delivered again", message_id)
                return
            await ack()

        return AckableMessage(data=fields[b"data"], ack=ack_unless_left_pending)


def _raise_if_cancelling() -> None:
    # redis-py can swallow a cancellation that arrives during a blocking read, which would
    # keep this loop, and the worker's shutdown, waiting forever.
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def create_broker(settings: Settings) -> AsyncBroker:
    """Create the broker for these settings and register every task on it."""
    from tasks.registry import register_tasks

    broker: AsyncBroker
    if settings.redis_url is None:
        broker = InMemoryBroker(max_async_tasks=settings.worker_concurrency)
    else:
        broker = ReclaimingStreamBroker(
            settings.redis_url,
            queue_name=f"{settings.redis_prefix}tasks",
            consumer_group_name=f"{settings.redis_prefix}workers",
            # The group must read from the stream's start: with "$", tasks sent before the
            # first worker created the group would never be read.
            consumer_id="0",
            idle_timeout=int(settings.task_redelivery_seconds * 1000),
            xread_block=int(settings.task_poll_seconds * 1000),
            # A worker takes few messages at a time, so a crash strands few of them.
            xread_count=max(1, settings.worker_concurrency // 4),
            maxlen=100_000,
            approximate=True,
        )
    # The retry middleware comes first: its pre_execute records the delivery the others read.
    broker.add_middlewares(RetryMiddleware(RetryPolicy.from_settings(settings)))
    broker.add_middlewares(OutboxAckMiddleware())
    register_tasks(broker)
    return broker
