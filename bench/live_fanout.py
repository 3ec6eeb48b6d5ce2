"""Fan-out deliveries per second over two instances: our server, bare python-socketio, Node.

The scenario is 100 users with 10 devices each, 1,000 websocket clients in all, and each
user's devices split evenly over two server instances, as a load balancer would spread them.
A publisher process sends `bench:tick` events to the users' rooms in turn, so each event
reaches 10 devices, 5 on each instance. It runs a warm-up, then each paced rate in
turn, then flat out, each bounded in count and time, and counts the deliveries the client
processes receive and their latency from publish to receipt. The clients run in
`--client-processes` processes of bench/live_clients.py, by default its minimal `raw` client.

The same clients load each target's deployment, one after the other:

- `ours`: two `nappatzim serve` processes; the publisher uses the workers' event bus
  (`EventBus` over a write-only `LiveRedisManager`), which stores each event in the user's
  Redis stream and publishes it on the room's own channel;
- `bare`: two bench/live_bare_server.py processes with python-socketio's stock
  `AsyncRedisManager`, which publishes every event on one channel;
- `node` (only when asked for): two bench/node/server.js processes, Node's socket.io 4 with
  @socket.io/redis-adapter, and bench/node/publish.js with @socket.io/redis-emitter.

    bench/.venv/bin/python bench/live_fanout.py --targets ours,bare,node

Needs PostgreSQL and Redis on 127.0.0.1 as the test suite does, and for `node` the packages
of bench/node/package.json (`npm install --prefix bench/node`, or `--node-modules`). Results
go to bench/results/live-fanout-<time>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import time
from datetime import UTC, datetime
from typing import Any

from live_common import (
    BENCH,
    PYTHON,
    RESULTS,
    ClientGroup,
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

# A phase has drained when a report brings no new deliveries, or after this long.
DRAIN_LIMIT_SECONDS = 60


async def publish(
    deployment: Deployment, target: str, args: argparse.Namespace, phase: str, **options: Any
) -> dict[str, Any]:
    """Run the target's publisher once and return the line it prints."""
    common = [
        f"--channel={channel(deployment, target, args)}",
        f"--users={args.users}",
        f"--phase={phase}",
    ]
    common += [f"--{key}={value}" for key, value in options.items()]
    env = None
    if target == "node":
        command = ["node", str(BENCH / "node" / "publish.js"), *common]
        env = {**os.environ, "NODE_PATH": args.node_modules}
    else:
        script = str(BENCH / "live_publish.py")
        mode = "ours" if is_ours(target, args) else target
        command = [PYTHON, script, f"--mode={mode}", f"--prefix={deployment.redis_prefix}"]
        command += common
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, cwd=BENCH, env=env
    )
    limit = float(options.get("seconds", 60)) + 30
    stdout, _ = await asyncio.wait_for(process.communicate(), limit)
    if process.returncode != 0:
        raise RuntimeError(f"publisher exited with code {process.returncode}")
    result: dict[str, Any] = json.loads(stdout)
    return result


def is_ours(target: str, args: argparse.Namespace) -> bool:
    return target == "ours" or target in args.extra


def channel(deployment: Deployment, target: str, args: argparse.Namespace) -> str:
    """Return the Redis channel, or for Node the adapter's key, that the target uses."""
    if is_ours(target, args):
        return deployment.channel
    return f"{deployment.redis_prefix}{target}-socketio"


def start_server(
    deployment: Deployment, target: str, name: str, args: argparse.Namespace
) -> Server:
    if target == "ours":
        return deployment.serve(name)
    if target in args.extra:
        return deployment.serve(name, shlex.split(args.extra[target].format(name=name)))
    if target == "node":
        command = [
            "node",
            str(BENCH / "node" / "server.js"),
            "--key",
            channel(deployment, target, args),
        ]
        return deployment.serve(name, command, NODE_PATH=args.node_modules)
    command = [
        PYTHON,
        str(BENCH / "live_bare_server.py"),
        "--channel",
        channel(deployment, target, args),
    ]
    return deployment.serve(name, command)


async def collect(clients: ClientGroup, phase: str, expected: int) -> dict[str, Any]:
    """Gather the phase's deliveries from every client process until no more arrive."""
    count = 0
    first = float("inf")
    last = 0.0
    latencies: list[int] = []
    connected = 0
    deadline = time.monotonic() + DRAIN_LIMIT_SECONDS
    while time.monotonic() < deadline:
        new = 0
        replies = await clients.command("report")
        connected = sum(reply["connected"] for reply in replies)
        for reply in replies:
            stats = reply["phases"].get(phase)
            if stats is None:
                continue
            new += stats["count"]
            first = min(first, stats["first"])
            last = max(last, stats["last"])
            latencies.extend(stats["latencies_us"])
        count += new
        if count >= expected or (new == 0 and count > 0):
            break
        await asyncio.sleep(1)
    return {
        "count": count,
        "first": first,
        "last": last,
        "latencies_us": latencies,
        "connected": connected,
    }


def server_cpu_per_delivery(cpu: dict[str, float], seconds: float, deliveries: int) -> float:
    """Return the CPU both servers used per delivery, in microseconds."""
    servers = sum(value for name, value in cpu.items() if name.endswith(("-a", "-b")))
    return round(servers / 100 * seconds / max(deliveries, 1) * 1e6, 1)


async def run_phase(
    deployment: Deployment,
    target: str,
    clients: ClientGroup,
    meter: CpuMeter,
    args: argparse.Namespace,
    phase: str,
    **options: Any,
) -> dict[str, Any]:
    meter.start()
    published = await publish(deployment, target, args, phase, **options)
    received = await collect(clients, phase, published["sent"] * args.devices)
    cpu = meter.stop()
    expected = published["sent"] * args.devices
    # From the first publish to the last receipt: the rate the whole path sustained.
    span = max(received["last"] - published["started"], 1e-9)
    result = {
        "phase": phase,
        "events_sent": published["sent"],
        "publish_errors": published["errors"],
        "publisher_events_per_second": published["events_per_second"],
        "deliveries": received["count"],
        "deliveries_missing": expected - received["count"],
        "deliveries_per_second": round(received["count"] / span, 1),
        "clients_connected_after": received["connected"],
        "latency": latency_summary([value / 1e6 for value in received["latencies_us"]]),
        "cpu_percent": cpu,
        "server_cpu_us_per_delivery": server_cpu_per_delivery(
            cpu, meter.seconds, received["count"]
        ),
    }
    print(f"  {target} {phase}: {json.dumps({k: v for k, v in result.items() if k != 'phase'})}")
    return result


async def measure_target(
    deployment: Deployment, target: str, args: argparse.Namespace, round_number: int
) -> dict[str, Any]:
    quiet = wait_for_quiet_machine(args.quiet_wait)
    servers: list[Server] = []
    for letter in "ab":
        servers.append(start_server(deployment, target, f"{target}-{letter}-r{round_number}", args))
    specs = [
        {
            "url": servers[device % 2].url,
            "auth": {"token": access_token(deployment.jwt_secret, user_id)},
        }
        for user_id in range(1, args.users + 1)
        for device in range(args.devices)
    ]
    clients = ClientGroup(specs, args.client_processes, deployment.log_dir, args.client_kind)
    try:
        connected = await clients.start()
        print(f"{target}: connected {connected}")
        if connected["failed"]:
            raise RuntimeError(
                f"{connected['failed']} clients failed to connect: {connected['errors']}"
            )
        await asyncio.sleep(2)
        groups = {server.name.rsplit("-r", 1)[0]: [server.process.pid] for server in servers}
        groups["clients"] = clients.pids
        meter = CpuMeter(groups, {"redis": "redis-server"})
        phases = []
        await run_phase(
            deployment, target, clients, meter, args, "warmup", rate=200, count=400, seconds=10
        )
        for rate in args.paced_rates:
            phases.append(
                await run_phase(
                    deployment,
                    target,
                    clients,
                    meter,
                    args,
                    f"paced-{rate}",
                    rate=rate,
                    count=int(rate * args.paced_seconds),
                    seconds=args.paced_seconds + 5,
                )
            )
        phases.append(
            await run_phase(
                deployment,
                target,
                clients,
                meter,
                args,
                "flat",
                rate=0,
                count=args.flat_count,
                seconds=args.flat_seconds,
                concurrency=args.publish_concurrency,
            )
        )
        return {
            "target": target,
            "round": round_number,
            "machine_cpu_percent_before": quiet,
            "connected": connected,
            "phases": phases,
        }
    finally:
        await clients.close()
        for server in servers:
            deployment.stop(server.process)


async def measure_all(deployment: Deployment, args: argparse.Namespace) -> list[dict[str, Any]]:
    results = []
    for round_number in range(1, args.rounds + 1):
        for target in args.targets:
            results.append(await measure_target(deployment, target, args, round_number))
    return results


def summary(results: list[dict[str, Any]]) -> list[str]:
    lines = [
        "target round phase: deliveries/s (missing), latency p50/p99/max ms, "
        "server CPU %, server CPU us per delivery"
    ]
    for result in results:
        for phase in result["phases"]:
            latency = phase["latency"]
            servers = [v for k, v in phase["cpu_percent"].items() if k.endswith(("-a", "-b"))]
            lines.append(
                f"{result['target']} r{result['round']} {phase['phase']}: "
                f"{phase['deliveries_per_second']:.0f}/s ({phase['deliveries_missing']}), "
                f"{latency['p50_ms']}/{latency['p99_ms']}/{latency['max_ms']} ms, "
                f"servers {servers}, {phase['server_cpu_us_per_delivery']} us"
            )
    return lines


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--devices", type=int, default=10, help="clients per user")
    parser.add_argument("--client-processes", type=int, default=4)
    parser.add_argument(
        "--client-kind",
        choices=("raw", "socketio"),
        default="raw",
        help="raw: a minimal websocket client; socketio: python-socketio's AsyncClient",
    )
    parser.add_argument(
        "--paced-rates",
        type=lambda text: [int(value) for value in text.split(",")],
        default=[100, 1000],
        help="comma-separated events per second; each event reaches --devices clients",
    )
    parser.add_argument("--paced-seconds", type=float, default=10)
    parser.add_argument("--flat-count", type=int, default=20000, help="events sent flat out")
    parser.add_argument("--flat-seconds", type=float, default=60, help="limit of the flat run")
    parser.add_argument("--publish-concurrency", type=int, default=16)
    parser.add_argument(
        "--targets",
        type=lambda text: text.split(","),
        default=["ours", "bare"],
        help="comma-separated: ours, bare, node (Node's socket.io, see --node-modules) and "
        "the names given with --extra",
    )
    parser.add_argument(
        "--extra",
        action="append",
        default=[],
        metavar="NAME=COMMAND",
        help="another command that runs our server with our settings, loaded like `ours`; "
        "{name} in it becomes the server's name, such as ours-a-r1",
    )
    parser.add_argument(
        "--node-modules",
        default=str(BENCH / "node" / "node_modules"),
        help="node_modules with socket.io 4, @socket.io/redis-adapter, -emitter and redis",
    )
    parser.add_argument("--rounds", type=int, default=1)
    add_wait_arguments(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    args.extra = dict(item.split("=", 1) for item in args.extra)
    stop_on_sigterm()
    if not args.no_wait:
        wait_for_other_benchmarks()
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    RESULTS.mkdir(parents=True, exist_ok=True)
    with Deployment(RESULTS / f"live-fanout-{stamp}") as deployment:
        deployment.create()
        results = run(measure_all(deployment, args))
    report = {
        "benchmark": "live-fanout",
        "arguments": vars(args),
        "client_uvloop": has_uvloop(),
        "cpus": os.cpu_count(),
        "results": results,
    }
    path = RESULTS / f"live-fanout-{stamp}.json"
    path.write_text(json.dumps(report, indent=2))
    print("\n".join(summary(results)))
    print(f"results: {path}")


if __name__ == "__main__":
    main()
