"""Several users' events stored and published in one Redis step, in order and trimmed."""

from __future__ import annotations

import asyncio

import orjson
from redis.asyncio import Redis

from events.history import RETENTION_COUNT, OutgoingEvent, RedisHistory, parse_event_id
from tests.conftest import REDIS_URL


def outgoing(user_id: int, number: int, channel: str) -> OutgoingEvent:
    before, after = b'{"n":' + str(number).encode() + b',"id":"', b'"}'
    return OutgoingEvent(user_id, "bench:tick", {"n": number}, channel, (before, after))


async def test_batch_keeps_each_user_in_order(redis_prefix: str) -> None:
    redis = Redis.from_url(REDIS_URL)
    history = RedisHistory(redis, redis_prefix)
    channel = f"{redis_prefix}channel"
    pubsub = redis.pubsub()
    await pubsub.subscribe(channel)
    try:
        ids = await history.append_and_publish(
            [outgoing(1, 0, channel), outgoing(2, 0, channel), outgoing(1, 1, channel)]
        )
        assert len(ids) == 3
        assert ids[0] < ids[2]

        messages = []
        async with asyncio.timeout(5):
            while len(messages) < 3:
                # The subscription's confirmation comes back as None.
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
                if message is not None:
                    messages.append(orjson.loads(message["data"]))
        assert [(m["n"], m["id"]) for m in messages] == [(0, ids[0]), (0, ids[1]), (1, ids[2])]

        after_first = await history.since(1, ids[0])
        assert after_first is not None
        assert [(e.event_id, e.data) for e in after_first] == [(ids[2], {"n": 1})]
    finally:
        await pubsub.aclose()
        await redis.aclose()


async def test_batch_trims_old_events(redis_prefix: str) -> None:
    redis = Redis.from_url(REDIS_URL)
    history = RedisHistory(redis, redis_prefix)
    stream = history.stream(1)
    try:
        # Events from 1970, older than the retention time, one short of a trimming length.
        async with redis.pipeline(transaction=False) as pipe:
            for number in range(1, RETENTION_COUNT + 100):
                pipe.xadd(stream, {"name": "old", "data": "{}"}, id=f"{number}-0")
            await pipe.execute()
        await history.append_and_publish([outgoing(1, n, "unused") for n in range(2)])
        # The first new event makes 1,100 events, of which the newest 1,000 stay: old ones
        # from 101 on, then the new one. The second new event comes after the trim.
        assert await redis.xlen(stream) == RETENTION_COUNT + 1
        oldest = await redis.xrange(stream, count=1)
        assert oldest[0][0] == b"101-0"
    finally:
        await redis.aclose()


async def test_concurrent_calls_share_script_calls(redis_prefix: str) -> None:
    redis = Redis.from_url(REDIS_URL)
    history = RedisHistory(redis, redis_prefix, batch_limit=8)
    calls = 0
    send = history._send

    async def counted(events: list[OutgoingEvent]) -> list[str]:
        nonlocal calls
        calls += 1
        return await send(events)

    history._send = counted  # type: ignore[method-assign]
    try:
        results = await asyncio.gather(
            *(history.append_and_publish([outgoing(n % 3, n, "unused")]) for n in range(40))
        )
        # All 40 calls wait before the sender first runs, so they go 8 at a time.
        assert calls == 40 // 8
        for user_id in range(3):
            ids = [result[0] for n, result in enumerate(results) if n % 3 == user_id]
            assert ids == sorted(ids, key=parse_event_id)
            stored = await redis.xrange(history.stream(user_id))
            assert [entry_id.decode() for entry_id, _ in stored] == ids
    finally:
        await redis.aclose()
