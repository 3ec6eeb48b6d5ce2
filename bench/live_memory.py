"""Memory per idle websocket connection of one `nappatzim serve`, and of bare python-socketio.

For each target it starts one server of a fresh deployment, connects and disconnects a few
warm-up clients (the first connection starts the Redis subscription and fills caches), then
connects idle clients in steps up to each `--levels` count, from client processes of their
own. Every client is a different user, so each joins a room of its own, as most connections
do. After each step it waits `--settle-seconds` and reads the server's VmRSS from
/proc/PID/status. It also reads the server's CPU while all clients sit idle, and RSS after
they all disconnect.

With `--tracemalloc`, our server runs under bench/live_traced_serve.py instead, and the
script prints the allocations that grew between the warm-up and the first level, grouped
by source line and by file.

    bench/.venv/bin/python bench/live_memory.py
    bench/.venv/bin/python bench/live_memory.py --tracemalloc --levels 1000 --targets ours

Results go to bench/results/live-memory-<time>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import shlex
import signal
import time
import tracemalloc
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from live_common import (
    BENCH,
    PYTHON,
    RESULTS,
    ROOT,
    ClientGroup,
    CpuMeter,
    Deployment,
    Server,
    access_token,
    add_wait_arguments,
    rss_kb,
    run,
    stop_on_sigterm,
    wait_for_other_benchmarks,
    wait_for_quiet_machine,
)

CLIENTS_PER_PROCESS = 1250
WARMUP_CLIENTS = 20
IDLE_CPU_SECONDS = 30
SNAPSHOT_TIMEOUT_SECONDS = 120


def start_server(
    deployment: Deployment, target: str, args: argparse.Namespace, snapshots: Path
) -> Server:
    if target == "bare":
        channel = f"{deployment.redis_prefix}bare-socketio"
        command = [PYTHON, str(BENCH / "live_bare_server.py"), "--channel", channel]
        return deployment.serve("bare", command)
    if target in args.extra:
        return deployment.serve(target, shlex.split(args.extra[target]))
    if args.tracemalloc:
        command = [str(ROOT / ".venv" / "bin" / "python"), str(BENCH / "live_traced_serve.py")]
        return deployment.serve(
            "ours-traced", [*command, "serve"], startup_seconds=180, TRACEMALLOC_DIR=str(snapshots)
        )
    return deployment.serve("ours")


async def take_snapshot(server: Server, snapshots: Path) -> tracemalloc.Snapshot:
    number = len(list(snapshots.glob("snapshot-*.tracemalloc")))
    path = snapshots / f"snapshot-{number}.tracemalloc"
    server.process.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + SNAPSHOT_TIMEOUT_SECONDS
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no snapshot at {path} after {SNAPSHOT_TIMEOUT_SECONDS} s")
        await asyncio.sleep(0.5)
    return tracemalloc.Snapshot.load(str(path))


def allocation_growth(
    before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, connections: int
) -> dict[str, Any]:
    """Return the allocations that grew most, per line and per file, in bytes per connection."""
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__)]
    before, after = before.filter_traces(ignore), after.filter_traces(ignore)
    total = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    result: dict[str, Any] = {"total_bytes_per_connection": round(total / connections)}
    for key, limit in (("lineno", 30), ("filename", 20)):
        stats = after.compare_to(before, key)
        result[key] = [
            {
                "where": str(stat.traceback[0]),
                "bytes_per_connection": round(stat.size_diff / connections),
                "blocks_per_connection": round(stat.count_diff / connections, 2),
            }
            for stat in stats[:limit]
        ]
    by_traceback = after.compare_to(before, "traceback")
    # asyncio and other standard modules allocate for their callers, so each allocation is
    # charged to the innermost frame outside the standard library, and to its package.
    callers: dict[str, int] = defaultdict(int)
    packages: dict[str, int] = defaultdict(int)
    for stat in by_traceback:
        frame = caller_frame(stat.traceback)
        callers[frame] += stat.size_diff
        packages[package_of(frame)] += stat.size_diff
    result["package"] = per_connection(packages, connections)
    result["caller"] = per_connection(callers, connections)[:40]
    # The call paths of the biggest growing allocations, to see which code made them.
    result["traceback"] = [
        {
            "bytes_per_connection": round(stat.size_diff / connections),
            "stack": [str(frame) for frame in stat.traceback],
        }
        for stat in by_traceback[:25]
    ]
    return result


def is_standard_library(filename: str) -> bool:
    return "/lib/python3" in filename and "site-packages" not in filename


def caller_frame(traceback: tracemalloc.Traceback) -> str:
    """Return the innermost frame outside the standard library, as `file:line`."""
    # A Traceback runs from the oldest frame to the most recent one.
    for frame in reversed(traceback):
        if not is_standard_library(frame.filename):
            return f"{frame.filename}:{frame.lineno}"
    return f"{traceback[0].filename}:{traceback[0].lineno}"


def package_of(location: str) -> str:
    """Name the package of a `file:line`: a site-packages distribution, ours, or stdlib."""
    filename = location.rsplit(":", 1)[0]
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1].split("/", 1)[0]
    if filename.startswith(str(ROOT)):
        return "ours: " + filename[len(str(ROOT)) + 1 :].split("/", 1)[0]
    return "stdlib"


def per_connection(sizes: dict[str, int], connections: int) -> list[dict[str, Any]]:
    ordered = sorted(sizes.items(), key=lambda item: item[1], reverse=True)
    return [
        {"where": where, "bytes_per_connection": round(size / connections)}
        for where, size in ordered
    ]


def client_specs(
    deployment: Deployment, url: str, first_user: int, count: int
) -> list[dict[str, Any]]:
    return [
        {"url": url, "auth": {"token": access_token(deployment.jwt_secret, user_id)}}
        for user_id in range(first_user, first_user + count)
    ]


async def measure_target(
    deployment: Deployment, target: str, args: argparse.Namespace
) -> dict[str, Any]:
    snapshots = deployment.log_dir / f"snapshots-{target}"
    snapshots.mkdir(exist_ok=True)
    server = start_server(deployment, target, args, snapshots)
    pid = server.process.pid
    groups: list[ClientGroup] = []
    result: dict[str, Any] = {"target": target, "levels": []}
    try:
        warmup = ClientGroup(
            client_specs(deployment, server.url, 1, WARMUP_CLIENTS), 1, deployment.log_dir
        )
        await warmup.start()
        await warmup.close()
        await asyncio.sleep(args.settle_seconds)
        baseline = rss_kb(pid)
        result["levels"].append({"connections": 0, "rss_kb": baseline})
        print(f"{target}: 0 connections, RSS {baseline} KiB", flush=True)
        first_snapshot = await take_snapshot(server, snapshots) if args.tracemalloc else None

        connected = 0
        for level in args.levels:
            count = level - connected
            processes = math.ceil(count / CLIENTS_PER_PROCESS)
            specs = client_specs(deployment, server.url, 1000 + connected, count)
            group = ClientGroup(specs, processes, deployment.log_dir)
            groups.append(group)
            started = time.monotonic()
            reply = await group.start(timeout=600)
            connect_seconds = time.monotonic() - started
            if reply["failed"]:
                print(f"  {reply['failed']} clients failed to connect: {reply['errors']}")
            connected += reply["ok"]
            await asyncio.sleep(args.settle_seconds)
            rss = rss_kb(pid)
            per_connection = (rss - baseline) / connected
            result["levels"].append(
                {
                    "connections": connected,
                    "failed": reply["failed"],
                    "connect_seconds": round(connect_seconds, 1),
                    "rss_kb": rss,
                    "kb_per_connection": round(per_connection, 1),
                }
            )
            print(
                f"{target}: {connected} connections (+{reply['ok']} in {connect_seconds:.1f} s), "
                f"RSS {rss} KiB, {per_connection:.1f} KiB per connection",
                flush=True,
            )
            if args.tracemalloc and first_snapshot is not None and len(groups) == 1:
                growth = allocation_growth(
                    first_snapshot, await take_snapshot(server, snapshots), connected
                )
                result["tracemalloc"] = growth
                print_growth(growth)

        meter = CpuMeter({"server": [pid]})
        meter.start()
        await asyncio.sleep(IDLE_CPU_SECONDS)
        result["idle_cpu_percent"] = meter.stop()["server"]
        print(f"{target}: CPU with {connected} idle clients: {result['idle_cpu_percent']}%")

        for group in groups:
            await group.close()
        groups.clear()
        await asyncio.sleep(args.settle_seconds)
        result["rss_kb_after_disconnect"] = rss_kb(pid)
        print(
            f"{target}: RSS after every client disconnected {result['rss_kb_after_disconnect']} KiB"
        )
        return result
    finally:
        for group in groups:
            await group.close()
        deployment.stop(server.process)


def print_growth(growth: dict[str, Any]) -> None:
    print(f"  tracemalloc: {growth['total_bytes_per_connection']} B per connection in all")
    for row in growth["package"][:12]:
        print(f"    {row['bytes_per_connection']:>7} B  {row['where']}")
    for row in growth["caller"][:25]:
        print(f"    {row['bytes_per_connection']:>7} B  {row['where']}")
    for row in growth["lineno"][:20]:
        print(
            f"    {row['bytes_per_connection']:>7} B  "
            f"{row['blocks_per_connection']:>6} blocks  {row['where']}"
        )


async def measure_all(deployment: Deployment, args: argparse.Namespace) -> list[dict[str, Any]]:
    return [await measure_target(deployment, target, args) for target in args.targets]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--levels",
        type=lambda text: [int(value) for value in text.split(",")],
        default=[1000, 5000],
        help="comma-separated, ascending totals of idle connections",
    )
    parser.add_argument(
        "--targets",
        type=lambda text: text.split(","),
        default=["ours", "bare"],
        help="comma-separated: ours, bare, and the names given with --extra",
    )
    parser.add_argument(
        "--extra",
        action="append",
        default=[],
        metavar="NAME=COMMAND",
        help="another server command with our settings, such as "
        "'ours-uvloop=bench/.venv/bin/python bench/serve_uvloop.py serve'",
    )
    parser.add_argument("--settle-seconds", type=float, default=5)
    parser.add_argument("--tracemalloc", action="store_true", help="trace our server's allocations")
    add_wait_arguments(parser, quiet_wait=60)
    args = parser.parse_args()
    args.extra = dict(item.split("=", 1) for item in args.extra)
    return args


def main() -> None:
    args = parse_args()
    stop_on_sigterm()
    if not args.no_wait:
        wait_for_other_benchmarks()
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    RESULTS.mkdir(parents=True, exist_ok=True)
    with Deployment(RESULTS / f"live-memory-{stamp}") as deployment:
        deployment.create()
        wait_for_quiet_machine(args.quiet_wait)
        results = run(measure_all(deployment, args))
    path = RESULTS / f"live-memory-{stamp}.json"
    path.write_text(
        json.dumps(
            {"benchmark": "live-memory", "arguments": vars(args), "results": results}, indent=2
        )
    )
    print(f"results: {path}")


if __name__ == "__main__":
    main()
