"""Job throughput: no-op tasks per second through our Taskiq worker and through bare Taskiq.

Both sides run in the same run on the same Redis, each with 2 worker processes and its own
key prefix:

- ours: 2 processes of bench/job_worker.py, which is `nappatzim worker` (tasks/worker.py) with
  a no-op task registered: the ReclaimingStreamBroker of tasks/broker.py with the retry and
  outbox-ack middlewares, and the outbox relay, which polls a fresh PostgreSQL database.
- bare: `taskiq worker job_bare:broker_from_env --workers 2`, a stock
  taskiq_redis.RedisStreamBroker with taskiq-redis's default settings (bench/job_bare.py).

Both sides acknowledge a message after its task returned, log at WARNING and run at most
--concurrency tasks at once per process (our WORKER_CONCURRENCY, taskiq's --max-async-tasks).
They differ in how many messages one XREADGROUP fetches: ours fetches concurrency // 4 and
taskiq-redis 100.

A phase first runs batches of --warmup tasks until both worker processes of the side have
received some. Then this process sends --tasks messages with `kiq`, 100 at a time, and reads
XINFO every 10 ms. The phase ends when the group has read the stream's last entry and no
message is pending, which is when every task has returned and been acknowledged. The tasks
themselves do nothing, so counting adds no work to either side. Each phase reports the seconds
from the first send to that moment, tasks per second, the send rate alone, and the CPU used by
the workers, Redis, PostgreSQL and this process. The workers run while this process sends, on
the same cores, so the send rate drops when they use more CPU. Rounds alternate the order of
the sides, and the workers of both sides run through the whole run.

    bench/.venv/bin/python bench/job_throughput.py                       # 20,000 tasks, 3 rounds
    bench/.venv/bin/python bench/job_throughput.py --tasks 2000 --rounds 1

Needs PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379. Workers run on .venv's
interpreter without uvloop, as `nappatzim worker` does, and this process runs on uvloop when
bench/.venv has it. The database and both key prefixes are deleted at the end. Results go to
bench/results/jobs-<time>.json and worker logs to bench/results/jobs-<time>/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from job_sides import WORKERS, Side, delete_bare_keys, read_state, start_sides, stop_workers
from job_tasks import NOOP
from live_common import (
    REDIS_URL,
    RESULTS,
    CpuMeter,
    Deployment,
    add_wait_arguments,
    run,
    stop_on_sigterm,
    wait_for_other_benchmarks,
    wait_for_quiet_machine,
)
from redis.asyncio import Redis

from server.config import Settings

SEND_BATCH = 100
POLL_SECONDS = 0.01
JOIN_SECONDS = 60


async def warm_up(redis: Redis, side: Side, args: argparse.Namespace) -> None:
    """Run --warmup tasks until every worker process of the side has received some.

    Redis lists a consumer in its group only once the consumer has received a message, so a
    worker still starting, or one that never got work, is not counted.
    """
    deadline = time.monotonic() + JOIN_SECONDS
    while True:
        for process in side.processes:
            if process.poll() is not None:
                raise SystemExit(
                    f"{side.name} worker exited with code {process.returncode}, "
                    f"see its log under {RESULTS}"
                )
        await run_batch(redis, side, args.warmup, args.phase_timeout)
        if (await read_state(redis, side)).consumers >= WORKERS:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"{side.name}: not all workers received tasks within {JOIN_SECONDS} s")
        await asyncio.sleep(0.5)


@dataclass
class Batch:
    send_seconds: float
    seconds: float
    # Entries the group read during the batch, or None before Redis 7.
    delivered: int | None


async def run_batch(redis: Redis, side: Side, count: int, limit_seconds: float) -> Batch:
    """Send `count` no-op tasks and wait until the workers have run and acknowledged them all."""
    task = side.broker.find_task(NOOP)
    assert task is not None, f"{NOOP} is not registered on the {side.name} broker"
    before = await read_state(redis, side)
    started = time.perf_counter()
    try:
        async with asyncio.timeout(limit_seconds):
            for start in range(0, count, SEND_BATCH):
                await asyncio.gather(*(task.kiq() for _ in range(min(SEND_BATCH, count - start))))
            sent = time.perf_counter()
            while not (state := await read_state(redis, side)).finished:
                await asyncio.sleep(POLL_SECONDS)
    except TimeoutError:
        state = await read_state(redis, side)
        done = "unknown" if state.done is None or before.done is None else state.done - before.done
        raise SystemExit(
            f"{side.name}: tasks not done within {limit_seconds:g} s: {done} of {count} done"
        ) from None
    finished = time.perf_counter()
    delivered = None
    if state.read is not None and before.read is not None:
        delivered = state.read - before.read
    return Batch(sent - started, finished - started, delivered)


async def measure_phase(
    redis: Redis, side: Side, args: argparse.Namespace, round_number: int
) -> dict[str, Any]:
    await warm_up(redis, side, args)
    meter = CpuMeter(
        {"workers": side.worker_pids(), "producer": [os.getpid()]},
        {"redis": "redis-server", "postgres": "postgres"},
    )
    meter.start()
    batch = await run_batch(redis, side, args.tasks, args.phase_timeout)
    cpu = meter.stop()
    worker_cpu_seconds = cpu["workers"] / 100 * meter.seconds
    return {
        "side": side.name,
        "round": round_number,
        "tasks": args.tasks,
        "delivered": batch.delivered,
        "seconds": round(batch.seconds, 3),
        "tasks_per_second": round(args.tasks / batch.seconds, 1),
        "send_seconds": round(batch.send_seconds, 3),
        "sends_per_second": round(args.tasks / batch.send_seconds, 1),
        "worker_cpu_us_per_task": round(1e6 * worker_cpu_seconds / args.tasks, 1),
        "cpu_percent": cpu,
    }


async def measure(sides: list[Side], args: argparse.Namespace) -> dict[str, Any]:
    redis = Redis.from_url(REDIS_URL, decode_responses=True)
    for side in sides:
        # Creates each consumer group unless a worker has done so already.
        await side.broker.startup()
    try:
        quiet = wait_for_quiet_machine(args.quiet_wait)
        phases = []
        for round_number in range(1, args.rounds + 1):
            order = sides if round_number % 2 else sides[::-1]
            for side in order:
                phase = await measure_phase(redis, side, args, round_number)
                print(f"  round {round_number} {side.name}: {json.dumps(phase)}", flush=True)
                phases.append(phase)
    finally:
        for side in sides:
            await side.broker.shutdown()
        await redis.aclose()
    medians = {
        side.name: round(
            statistics.median(
                phase["tasks_per_second"] for phase in phases if phase["side"] == side.name
            ),
            1,
        )
        for side in sides
    }
    return {
        "tasks": args.tasks,
        "rounds": args.rounds,
        "ours_tasks_per_second": medians["ours"],
        "bare_tasks_per_second": medians["bare"],
        "ours_to_bare": round(medians["ours"] / medians["bare"], 3),
        "machine_cpu_percent_before": quiet,
        "phases": phases,
    }


def worker_log_problems(log_dir: Path) -> list[str]:
    """Return the warning and error lines of the worker logs."""
    lines = []
    for path in sorted(log_dir.glob("*.log")):
        for line in path.read_text(errors="replace").splitlines():
            if any(word in line for word in ("WARNING", "ERROR", "Traceback")):
                lines.append(f"{path.name}: {line}")
    return lines


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=20_000, help="measured tasks per phase")
    parser.add_argument("--warmup", type=int, default=500, help="unmeasured tasks per phase")
    parser.add_argument("--rounds", type=int, default=3, help="phases per side, order alternating")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=Settings.model_fields["worker_concurrency"].default,
        help="tasks each worker process runs at once, on both sides",
    )
    parser.add_argument(
        "--phase-timeout",
        type=float,
        default=120,
        help="seconds a batch may take before the run stops with an error",
    )
    add_wait_arguments(parser)
    args = parser.parse_args()
    for name in ("tasks", "warmup", "rounds", "concurrency"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    return args


def main() -> None:
    args = parse_args()
    stop_on_sigterm()
    if not args.no_wait:
        wait_for_other_benchmarks()

    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    RESULTS.mkdir(parents=True, exist_ok=True)
    log_dir = RESULTS / f"jobs-{stamp}"
    bare_prefix = None
    try:
        with Deployment(log_dir) as deployment:
            # delete_redis_keys deletes only keys under "bench-live-".
            bare_prefix = f"bench-live-{deployment.token}-bare:"
            deployment.create()
            sides = start_sides(deployment, bare_prefix, args.concurrency)

            try:
                result = run(measure(sides, args))
            finally:
                for side in sides:
                    stop_workers(deployment, side)
    finally:
        if bare_prefix is not None:
            asyncio.run(delete_bare_keys(bare_prefix))

    problems = worker_log_problems(log_dir)
    report = {
        "benchmark": "jobs",
        "arguments": vars(args),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "taskiq": metadata.version("taskiq"),
        "taskiq_redis": metadata.version("taskiq-redis"),
        "worker_log_problems": problems[:20],
        "result": result,
    }
    path = RESULTS / f"jobs-{stamp}.json"
    path.write_text(json.dumps(report, indent=2))

    print(json.dumps(result))
    print(
        f"{args.tasks} no-op tasks, {WORKERS} worker processes a side, median of "
        f"{args.rounds} round(s): ours {result['ours_tasks_per_second']:.0f} tasks/s, "
        f"bare Taskiq {result['bare_tasks_per_second']:.0f} tasks/s, "
        f"ours/bare {result['ours_to_bare']:.2f} "
        f"(Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs)"
    )
    print(f"results: {path}")
    if problems:
        print(f"{len(problems)} warning or error lines in the worker logs, see {log_dir}")
    if any("is not found" in line for line in problems):
        # The receiver acknowledges a message whose task it lacks, so such a phase counts
        # tasks that never ran.
        raise SystemExit("invalid run: a worker received a task it has not registered")


if __name__ == "__main__":
    main()
