"""A snapshot of the task queue for operators: the Redis stream, the outbox, jobs, dead letters."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from server.schemas import iso
from storage import dead_letters, jobs, outbox
from tasks.delivery import running_deliveries

if TYPE_CHECKING:
    from server.services import Services

log = logging.getLogger(__name__)

# Entries listed of the tasks that wait for a retry, and of the stream's pending messages.
LISTED = 50


async def describe_queue(services: Services) -> dict[str, Any]:
    """Return counts and the oldest unfinished tasks, from the database and from Redis.

    With REDIS_URL set, `stream` describes the Redis stream and its consumer group: the
    stream's length, the messages delivered and not acknowledged yet (running, or abandoned
    by a worker that died) and each worker consumer. Without it, tasks run in this process and
    `inProcess` counts them. A Redis failure is reported in `stream.error`, not raised.
    """
    async with services.db.read(primary=True) as session:
        job_counts = await jobs.count_jobs_by_state(session)
        task_rows = await outbox.count_task_rows(session)
        letter_counts = await dead_letters.count_dead_letters(session)
        retrying = await outbox.list_retrying_tasks(session, limit=LISTED)
    reply: dict[str, Any] = {
        "jobs": job_counts,
        "outbox": task_rows,
        "deadLetters": letter_counts,
        "retryingTasks": [
            {
                "taskId": f"outbox-{row.id}",
                "taskName": row.payload["task"],
                "jobId": dead_letters.job_id_of(row.payload["kwargs"]),
                "attempts": row.attempts,
                "nextAttemptAt": iso(row.available_at),
                "error": row.last_error,
            }
            for row in retrying
        ],
    }
    settings = services.settings
    if services.redis is None:
        reply["backend"] = "in-process"
        reply["inProcess"] = {"running": running_deliveries()}
        return reply
    reply["backend"] = "redis"
    stream = f"{settings.redis_prefix}tasks"
    group = f"{settings.redis_prefix}workers"
    try:
        reply["stream"] = await _describe_stream(services.redis, stream, group)
    except RedisError as error:
        log.warning("queue snapshot without Redis: %r", error)
        reply["stream"] = {"name": stream, "group": group, "error": f"Redis unavailable: {error}"}
    return reply


async def _describe_stream(redis: Redis, stream: str, group: str) -> dict[str, Any]:
    info: dict[str, Any] = {
        "name": stream,
        "group": group,
        "length": 0,
        "pending": 0,
        "lag": None,
        "consumers": [],
        "pendingMessages": [],
    }
    try:
        info["length"] = await redis.xlen(stream)
        groups = await redis.xinfo_groups(stream)
    except ResponseError as error:
        if "no such key" in str(error).lower():
            return info  # no task was ever sent on this stream
        raise
    found = next((entry for entry in groups if _text(entry["name"]) == group), None)
    if found is None:
        return info  # no worker has started yet
    info["pending"] = found["pending"]
    info["lag"] = found.get("lag")
    consumers = await redis.xinfo_consumers(stream, group)
    info["consumers"] = [
        {"name": _text(entry["name"]), "pending": entry["pending"], "idleMs": entry["idle"]}
        for entry in consumers
    ]
    pending = await redis.xpending_range(stream, group, min="-", max="+", count=LISTED)
    info["pendingMessages"] = await _with_tasks(redis, stream, pending)
    return info


async def _with_tasks(
    redis: Redis, stream: str, pending: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Add the task id and name to each pending message, read from the stream entry."""
    pipeline = redis.pipeline(transaction=False)
    for entry in pending:
        pipeline.xrange(stream, min=entry["message_id"], max=entry["message_id"], count=1)
    entries = await pipeline.execute() if pending else []
    messages = []
    for entry, found in zip(pending, entries, strict=True):
        task_id = task_name = None
        if found:
            try:
                data = orjson.loads(found[0][1][b"data"])
                task_id, task_name = data.get("task_id"), data.get("task_name")
            except (orjson.JSONDecodeError, KeyError, AttributeError):
                pass
        messages.append(
            {
                "messageId": _text(entry["message_id"]),
                "consumer": _text(entry["consumer"]),
                "idleMs": entry["time_since_delivered"],
                "deliveries": entry["times_delivered"],
                "taskId": task_id,
                "taskName": task_name,
            }
        )
    return messages


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
