"""Publish `bench:tick` events to users' rooms from a process of its own, paced or flat out.

With `--mode ours` each event goes through the event bus a worker uses: `EventBus` over a
write-only `LiveRedisManager`, which stores the event in the user's Redis stream and
publishes it on the room's channel in one Lua script. With `--mode bare` it goes through
python-socketio's stock write-only `AsyncRedisManager` on one shared channel.

Event i goes to user `--first-user + i % --users`. Each event carries `phase`, `seq` and
`sentAt` (time.monotonic() just before the publish call) next to a payload shaped like a
`session:set_logged` event. The process prints one JSON line with what it sent.

    bench/.venv/bin/python bench/live_publish.py --mode ours --prefix P: --channel P:socketio \\
        --users 100 --phase flat --count 20000 --rate 0
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from live_common import REDIS_URL, run

EVENT = "bench:tick"


def sample_payload(user_id: int) -> dict[str, Any]:
    """Return a payload of the size and shape of a `session:set_logged` event."""
    return {
        "sessionId": str(1000 + user_id),
        "set": {
            "id": "123456",
            "clientId": "6f1c2a7e-4d1b-4f0e-9a55-2b8f7f4b9c10",
            "exerciseId": "45678",
            "order": 3,
            "value": 102.5,
            "reps": 5,
            "restMinutes": 2.5,
            "performedAt": "2026-12-04T16:00:00.000000Z",
            "exercise": {
                "id": "45678",
                "name": "Bench Press",
                "type": "weight",
                "unit": "kg",
                "order": 1,
            },
        },
    }


async def make_publisher(
    args: argparse.Namespace,
) -> Callable[[int, dict[str, Any]], Awaitable[Any]]:
    if args.mode == "ours":
        from events.bus import EventBus
        from events.manager import LiveRedisManager

        manager = LiveRedisManager(
            REDIS_URL, channel=args.channel, prefix=args.prefix, write_only=True
        )
        bus = EventBus(manager)

        async def publish_ours(user_id: int, data: dict[str, Any]) -> Any:
            if await bus.publish(user_id, EVENT, data) is None:
                raise RuntimeError(f"event for user {user_id} was not published")

        return publish_ours

    import socketio

    bare = socketio.AsyncRedisManager(REDIS_URL, channel=args.channel, write_only=True)

    async def publish_bare(user_id: int, data: dict[str, Any]) -> Any:
        await bare.emit(EVENT, data, namespace="/", room=f"user:{user_id}")

    return publish_bare


async def main(args: argparse.Namespace) -> dict[str, Any]:
    publish = await make_publisher(args)
    payloads = [sample_payload(args.first_user + index) for index in range(args.users)]
    errors = 0
    sent = 0
    deadline = time.monotonic() + args.seconds

    async def send(seq: int) -> None:
        nonlocal errors, sent
        user_index = seq % args.users
        data = {**payloads[user_index], "phase": args.phase, "seq": seq, "sentAt": time.monotonic()}
        try:
            await publish(args.first_user + user_index, data)
            sent += 1
        except Exception as error:  # counted and reported; one failure ends nothing
            errors += 1
            if errors <= 3:
                logging.warning("publish failed: %r", error)

    started = time.monotonic()
    if args.rate > 0:
        # Paced: event i is due at started + i / rate. A bounded number may be in flight, so a
        # slow publish does not shift the schedule of the ones after it.
        gate = asyncio.Semaphore(args.concurrency)
        pending: set[asyncio.Task[None]] = set()

        async def paced(seq: int) -> None:
            try:
                await send(seq)
            finally:
                gate.release()

        for seq in range(args.count):
            due = started + seq / args.rate
            if due > deadline:
                break
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await gate.acquire()
            task = asyncio.create_task(paced(seq))
            pending.add(task)
            task.add_done_callback(pending.discard)
        await asyncio.gather(*pending)
    else:
        # Flat out: `concurrency` loops, each awaiting one publish at a time.
        counter = iter(range(args.count))

        async def loop() -> None:
            for seq in counter:
                if time.monotonic() > deadline:
                    return
                await send(seq)

        await asyncio.gather(*(loop() for _ in range(args.concurrency)))
    seconds = time.monotonic() - started
    return {
        "type": "published",
        "mode": args.mode,
        "phase": args.phase,
        "started": started,
        "sent": sent,
        "errors": errors,
        "seconds": round(seconds, 3),
        "events_per_second": round(sent / seconds, 1) if seconds else 0.0,
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mode", choices=("ours", "bare"), required=True)
    parser.add_argument("--channel", required=True, help="the Socket.IO Redis channel")
    parser.add_argument("--prefix", default="", help="REDIS_PREFIX of the deployment (ours)")
    parser.add_argument("--users", type=int, default=100, help="users the events go to")
    parser.add_argument("--first-user", type=int, default=1, help="id of the first user")
    parser.add_argument("--phase", default="run", help="phase name put into every event")
    parser.add_argument("--count", type=int, default=1000, help="events to publish at most")
    parser.add_argument("--rate", type=float, default=0, help="events per second; 0: flat out")
    parser.add_argument("--seconds", type=float, default=60, help="stop publishing after this")
    parser.add_argument("--concurrency", type=int, default=8, help="publishes in flight")
    return parser.parse_args()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    result = run(main(parse_args()))
    sys.stdout.write(json.dumps(result) + "\n")
