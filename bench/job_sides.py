"""The two sides of bench/job_throughput.py: their worker processes, brokers and streams."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from job_bare import create_bare_broker
from job_tasks import register_noop
from live_common import BENCH, REDIS_URL, ROOT, Deployment, delete_redis_keys
from pydantic import SecretStr
from redis.asyncio import Redis
from taskiq import AsyncBroker

from server.config import Settings
from tasks.broker import create_broker

WORKER_PYTHON = ROOT / ".venv" / "bin" / "python"
TASKIQ = ROOT / ".venv" / "bin" / "taskiq"
# Worker processes on each side.
WORKERS = 2


@dataclass
class Side:
    """One side of the comparison: the broker this process sends with and its workers."""

    name: str
    prefix: str
    broker: AsyncBroker
    processes: list[subprocess.Popen[bytes]]

    @property
    def queue(self) -> str:
        return f"{self.prefix}tasks"

    @property
    def group(self) -> str:
        return f"{self.prefix}workers"

    def worker_pids(self) -> list[int]:
        """Return the pids of the worker processes and of their children."""
        return [pid for process in self.processes for pid in (process.pid, *child_pids(process))]


@dataclass
class StreamState:
    last_added: str
    last_delivered: str
    pending: int
    consumers: int
    # Entries the group has read, from XINFO GROUPS, or None before Redis 7.
    entries_read: int | None

    @property
    def finished(self) -> bool:
        """Tell whether every entry was read and acknowledged."""
        return self.last_delivered == self.last_added and self.pending == 0

    @property
    def read(self) -> int | None:
        """Return how many entries the group has read, or None if XINFO GROUPS lacks the count."""
        if self.entries_read is None and self.last_delivered == "0-0":
            # Redis 7.0 leaves entries-read unset in a group created at "0" that read nothing.
            return 0
        return self.entries_read

    @property
    def done(self) -> int | None:
        """Return how many entries were read and acknowledged since the group was created."""
        return None if self.read is None else self.read - self.pending


def child_pids(process: subprocess.Popen[bytes]) -> list[int]:
    """Return the pids of a process's children, from /proc/PID/task/PID/children."""
    try:
        text = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text()
    except FileNotFoundError:
        return []
    return [int(pid) for pid in text.split()]


async def read_state(redis: Redis, side: Side) -> StreamState:
    async with redis.pipeline(transaction=False) as pipe:
        pipe.xinfo_stream(side.queue)
        pipe.xinfo_groups(side.queue)
        stream, groups = await pipe.execute()
    group = next(group for group in groups if group["name"] == side.group)
    return StreamState(
        last_added=stream["last-generated-id"],
        last_delivered=group["last-delivered-id"],
        pending=group["pending"],
        consumers=group["consumers"],
        entries_read=group.get("entries-read"),
    )


def our_broker(deployment: Deployment, concurrency: int) -> AsyncBroker:
    """Create our broker as a server process does, with the no-op task registered."""
    settings = Settings(
        database_url=deployment.database_url,
        redis_url=REDIS_URL,
        redis_prefix=deployment.redis_prefix,
        jwt_secret=SecretStr(deployment.jwt_secret),
        worker_concurrency=concurrency,
    )
    broker = create_broker(settings)
    register_noop(broker)
    return broker


def start_sides(deployment: Deployment, bare_prefix: str, concurrency: int) -> list[Side]:
    """Start the worker processes of both sides and create the brokers that send to them."""
    ours_env = deployment.env(WORKER_CONCURRENCY=str(concurrency))
    ours_command = [str(WORKER_PYTHON), str(BENCH / "job_worker.py")]
    ours = [deployment.start(f"ours-{i}", ours_command, ours_env) for i in range(WORKERS)]
    bare_env = {**os.environ, "BENCH_REDIS_URL": REDIS_URL, "BENCH_BARE_PREFIX": bare_prefix}
    bare_command = [
        str(TASKIQ),
        "worker",
        "job_bare:broker_from_env",
        "--app-dir",
        str(BENCH),
        "--workers",
        str(WORKERS),
        "--max-async-tasks",
        str(concurrency),
        "--ack-type",
        "when_executed",
        "--log-level",
        "WARNING",
    ]
    bare = deployment.start("bare", bare_command, bare_env)
    return [
        Side("ours", deployment.redis_prefix, our_broker(deployment, concurrency), ours),
        Side("bare", bare_prefix, create_bare_broker(REDIS_URL, bare_prefix), [bare]),
    ]


def stop_workers(deployment: Deployment, side: Side, timeout: float = 20) -> None:
    """Stop the side's processes and wait for their children, which may outlive them.

    On SIGTERM, `taskiq worker` (taskiq 0.13) sends SIGINT to its worker processes and exits
    without joining them.
    """
    children = [pid for process in side.processes for pid in child_pids(process)]
    for process in side.processes:
        deployment.stop(process)
    deadline = time.monotonic() + timeout
    while (running := [pid for pid in children if is_running(pid)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in running:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def is_running(pid: int) -> bool:
    """Tell whether a process exists and is not a zombie, from /proc/PID/stat."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


async def delete_bare_keys(prefix: str) -> None:
    await delete_redis_keys(prefix)
    # taskiq-redis names the lock it takes around XAUTOCLAIM after the group and the stream.
    redis = Redis.from_url(REDIS_URL)
    try:
        await redis.delete(f"autoclaim:{prefix}workers:{prefix}tasks")
    finally:
        await redis.aclose()
