"""Latency from a set logged on one instance to its live events received on another.

A fresh deployment runs on loopback: two `nappatzim serve` processes (A and B) and
`--workers` `nappatzim worker` processes on one PostgreSQL database and Redis. Each of
`--users` users has one live session and one websocket client connected to B. One task per
user logs `--sets` sets in a row on A (`POST /sessions/{id}/sets`), each heavier than the
one before, so each set is a new `max_load` record. For every set the script measures:

- `reply`: request sent to the REST reply received;
- `set_logged`: request sent to `session:set_logged` received on B (matched by `clientId`);
- `record`: request sent to the first `record:achieved` whose `setId` is the set's id,
  which server A publishes with the set's own event.

A task sends its next set once both events of the previous one arrived, or after
`--event-timeout` seconds, then pauses. Each pause is drawn between 0.5 and 1.5 times
`--think-seconds`, so users that once sent at the same moment do not stay in step. The
first `--warmup-sets` sets of each user are not measured. With no think time the tasks keep
the deployment saturated, so the figures show its capacity. With a think time they show the
latency at a lighter load. The client side runs on uvloop when it is installed.

    bench/.venv/bin/python bench/live_latency.py

Results go to bench/results/live-latency-<time>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shlex
import sys
import time
from collections.abc import Hashable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import socketio
from live_common import (
    RESULTS,
    CpuMeter,
    Deployment,
    Server,
    access_token,
    add_wait_arguments,
    has_uvloop,
    latency_summary,
    run,
    stop_on_sigterm,
    wait_for_other_benchmarks,
    wait_for_quiet_machine,
)

from server.config import to_async_url

EXERCISE = {"type": "weight", "name": "Bench Press", "unit": "kg"}


class Arrivals:
    """Receive times of events, keyed by what identifies them; the first arrival counts."""

    def __init__(self) -> None:
        self._futures: dict[Hashable, asyncio.Future[float]] = {}

    def _future(self, key: Hashable) -> asyncio.Future[float]:
        future = self._futures.get(key)
        if future is None:
            future = self._futures[key] = asyncio.get_running_loop().create_future()
        return future

    def arrived(self, key: Hashable) -> None:
        future = self._future(key)
        if not future.done():
            future.set_result(time.monotonic())

    async def wait(self, key: Hashable, timeout: float) -> float | None:
        try:
            return await asyncio.wait_for(asyncio.shield(self._future(key)), timeout)
        except TimeoutError:
            return None


async def create_users(database_url: str, count: int) -> list[int]:
    """Create users with the storage functions; every one shares one real argon2 hash."""
    from server.passwords import hash_password
    from storage import users
    from storage.db import Database

    db = Database(to_async_url(database_url))
    try:
        password_hash = await hash_password("bench-password-1")
        ids = []
        async with db.transaction() as session:
            for index in range(count):
                user = await users.create_user(
                    session, email=f"live-{index}@example.com", password_hash=password_hash
                )
                ids.append(user.id)
        return ids
    finally:
        await db.dispose()


async def post(
    http: aiohttp.ClientSession, url: str, token: str, body: dict[str, Any]
) -> dict[str, Any]:
    async with http.post(url, json=body, headers={"Authorization": f"Bearer {token}"}) as response:
        reply: dict[str, Any] = await response.json()
        if response.status not in (200, 201):
            raise RuntimeError(f"POST {url} failed with {response.status}: {reply}")
        return reply


async def start_session(http: aiohttp.ClientSession, base: str, token: str) -> str:
    category = await post(http, f"{base}/categories", token, {"name": "Push"})
    session = await post(http, f"{base}/sessions", token, {"categoryId": category["id"]})
    return str(session["id"])


async def connect(
    url: str, token: str, logged: Arrivals, records: Arrivals
) -> socketio.AsyncClient:
    client = socketio.AsyncClient(reconnection=False)

    async def on_set_logged(data: dict[str, Any]) -> None:
        logged.arrived(data["set"]["clientId"])

    async def on_record(data: dict[str, Any]) -> None:
        if data.get("setId") is not None:
            records.arrived(data["setId"])

    client.on("session:set_logged", on_set_logged)
    client.on("record:achieved", on_record)
    await client.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=30)
    return client


async def log_sets(
    http: aiohttp.ClientSession,
    base: str,
    token: str,
    session_id: str,
    user_id: int,
    args: argparse.Namespace,
    logged: Arrivals,
    records: Arrivals,
    samples: dict[str, list[float]],
) -> None:
    url = f"{base}/sessions/{session_id}/sets"
    if args.think_seconds:
        # Spread the users' first sets over one think time, as users do not start in step.
        await asyncio.sleep(random.uniform(0, args.think_seconds))
    for index in range(args.warmup_sets + args.sets):
        measured = index >= args.warmup_sets
        client_id = f"bench-{user_id}-{index}"
        body = {"clientId": client_id, "exercise": EXERCISE, "value": 40 + 2.5 * index, "reps": 5}
        sent = time.monotonic()
        try:
            reply = await post(http, url, token, body)
        except (aiohttp.ClientError, RuntimeError, TimeoutError) as error:
            samples["errors"].append(1)
            print(f"set {client_id} failed: {error!r}", file=sys.stderr)
            continue
        replied = time.monotonic()
        logged_at = await logged.wait(client_id, args.event_timeout)
        record_at = await records.wait(str(reply["id"]), args.event_timeout)
        if measured:
            add_samples(samples, sent, replied, logged_at, record_at)
        if args.think_seconds and index + 1 < args.warmup_sets + args.sets:
            await asyncio.sleep(args.think_seconds * random.uniform(0.5, 1.5))


def add_samples(
    samples: dict[str, list[float]],
    sent: float,
    replied: float,
    logged_at: float | None,
    record_at: float | None,
) -> None:
    samples["reply"].append(replied - sent)
    if logged_at is None:
        samples["set_logged_missing"].append(1)
    else:
        samples["set_logged"].append(logged_at - sent)
    if record_at is None:
        samples["record_missing"].append(1)
    else:
        samples["record"].append(record_at - sent)


async def measure(
    deployment: Deployment, a: Server, b: Server, args: argparse.Namespace
) -> dict[str, Any]:
    user_ids = await create_users(deployment.database_url, args.users)
    tokens = {user_id: access_token(deployment.jwt_secret, user_id) for user_id in user_ids}
    connector = aiohttp.TCPConnector(limit=args.users)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        sessions = await asyncio.gather(
            *(start_session(http, a.url, tokens[user_id]) for user_id in user_ids)
        )
        quiet = wait_for_quiet_machine(args.quiet_wait)
        logged, records = Arrivals(), Arrivals()
        gate = asyncio.Semaphore(50)

        async def connect_one(user_id: int) -> socketio.AsyncClient:
            async with gate:
                return await connect(b.url, tokens[user_id], logged, records)

        clients = await asyncio.gather(*(connect_one(user_id) for user_id in user_ids))
        print(f"{len(clients)} clients connected to {b.url}, {len(sessions)} sessions live")
        await asyncio.sleep(2)
        samples: dict[str, list[float]] = {
            key: []
            for key in (
                "reply",
                "set_logged",
                "record",
                "errors",
                "set_logged_missing",
                "record_missing",
            )
        }
        groups = {name: [pid] for name, pid in deployment.named_pids().items()}
        groups["load"] = [os.getpid()]
        meter = CpuMeter(groups, {"postgres": "postgres", "redis": "redis-server"})
        meter.start()
        started = time.monotonic()
        await asyncio.wait_for(
            asyncio.gather(
                *(
                    log_sets(
                        http,
                        a.url,
                        tokens[user_id],
                        session_id,
                        user_id,
                        args,
                        logged,
                        records,
                        samples,
                    )
                    for user_id, session_id in zip(user_ids, sessions, strict=True)
                )
            ),
            args.limit_seconds,
        )
        seconds = time.monotonic() - started
        cpu = meter.stop()
        await asyncio.gather(*(client.disconnect() for client in clients), return_exceptions=True)
    sets = len(samples["reply"])
    return {
        "sets": sets,
        "seconds": round(seconds, 2),
        "sets_per_second": round(sets / seconds, 1),
        "errors": len(samples["errors"]),
        "set_logged_missing": len(samples["set_logged_missing"]),
        "record_missing": len(samples["record_missing"]),
        "reply": latency_summary(samples["reply"]),
        "set_logged": latency_summary(samples["set_logged"]),
        "record": latency_summary(samples["record"]),
        "cpu_percent": cpu,
        "machine_cpu_percent_before": quiet,
    }


def progress_task_times(log_dir: Path) -> dict[str, Any]:
    """Summarize the run time of progress tasks that the workers logged at INFO level."""
    pattern = re.compile(r"progress updated for user \d+, \d+ workouts in ([0-9.]+) ms")
    seconds = [
        float(match.group(1)) / 1000
        for path in log_dir.glob("worker-*.log")
        for match in pattern.finditer(path.read_text())
    ]
    return latency_summary(seconds)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=200, help="users, sessions and clients")
    parser.add_argument("--sets", type=int, default=10, help="measured sets each user logs")
    parser.add_argument(
        "--warmup-sets",
        type=int,
        default=1,
        help="sets each user logs first, unmeasured: the first one also creates the exercise",
    )
    parser.add_argument("--workers", type=int, default=1, help="nappatzim worker processes")
    parser.add_argument(
        "--worker-command",
        default=None,
        help="command that runs a worker instead of `nappatzim worker`, such as one under "
        "cProfile; it gets the same settings",
    )
    parser.add_argument(
        "--server-a-command",
        default=None,
        help="command that runs server A instead of `nappatzim serve`, such as one under "
        "cProfile; it gets the same settings",
    )
    parser.add_argument("--think-seconds", type=float, default=0, help="mean pause between sets")
    parser.add_argument(
        "--event-timeout", type=float, default=20, help="seconds to wait for an event"
    )
    parser.add_argument("--limit-seconds", type=float, default=600, help="limit of the whole run")
    parser.add_argument(
        "--log-level",
        default="WARNING",
        help="LOG_LEVEL of every process; INFO adds the progress tasks' run time to the results",
    )
    add_wait_arguments(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    stop_on_sigterm()
    if not args.no_wait:
        wait_for_other_benchmarks()
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    RESULTS.mkdir(parents=True, exist_ok=True)
    log_dir = RESULTS / f"live-latency-{stamp}"
    with Deployment(log_dir, log_level=args.log_level) as deployment:
        deployment.create()
        a_command = shlex.split(args.server_a_command) if args.server_a_command else None
        a = deployment.serve("server-a", a_command)
        b = deployment.serve("server-b")
        for index in range(args.workers):
            command = shlex.split(args.worker_command) if args.worker_command else None
            deployment.worker(f"worker-{index}", command)
        result = run(measure(deployment, a, b, args))
    if args.log_level == "INFO":
        result["progress_task"] = progress_task_times(log_dir)
    report = {
        "benchmark": "live-latency",
        "arguments": vars(args),
        "client_uvloop": has_uvloop(),
        "cpus": os.cpu_count(),
        "result": result,
    }
    path = RESULTS / f"live-latency-{stamp}.json"
    path.write_text(json.dumps(report, indent=2))
    print(json.dumps(result, indent=2))
    print(f"results: {path}")


if __name__ == "__main__":
    main()
