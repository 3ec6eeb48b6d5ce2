"""A deployment of real processes on loopback, and helpers the live-channel benchmarks share.

`Deployment` creates a PostgreSQL database and a Redis key prefix of its own, migrates the
database, starts `nappatzim serve` and `nappatzim worker` processes, and on exit stops them,
drops the database and deletes its Redis keys.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from redis.asyncio import Redis

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
NAPPATZIM = ROOT / ".venv" / "bin" / "nappatzim"
# Client, publisher and bare-server processes run on this interpreter, which has uvloop.
PYTHON = sys.executable
POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432"
REDIS_URL = "redis://127.0.0.1:6379/0"
DATABASE_PREFIX = "nappatzim_bench_live"
STARTUP_SECONDS = 30
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# Commands of other benchmarks that must not run while this one measures.
OTHER_BENCHMARKS = ("wrk", "bench/")
OWN_SCRIPTS = ("bench/live_",)

T = TypeVar("T")
INTERRUPTS = (signal.SIGINT, signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_cpu_seconds(pid: int) -> float:
    """Return the user plus system CPU time of a process, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def pids_named(command_name: str) -> list[int]:
    """Return the pids of processes whose name (/proc/PID/comm) is `command_name`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == command_name:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


class CpuMeter:
    """CPU used by processes between `start` and `stop`, in percent of one core.

    `groups` maps a name to pids whose CPU is summed. `commands` maps a name to a process
    name, such as `postgres`, whose processes are found at `start` and again at `stop`, so
    PostgreSQL backends that start in between count too. A process that exits in between
    counts as zero.
    """

    def __init__(self, groups: dict[str, list[int]], commands: dict[str, str] | None = None):
        self.groups = groups
        self.commands = commands or {}
        self.before: dict[int, float] = {}
        self.machine_before = (0, 0)
        self.started = 0.0
        # The length of the last measured window.
        self.seconds = 0.0

    def start(self) -> None:
        self.started = time.monotonic()
        for name, command in self.commands.items():
            self.groups[name] = pids_named(command)
        self.before = {pid: _cpu_or_zero(pid) for pids in self.groups.values() for pid in pids}
        self.machine_before = machine_ticks()

    def stop(self) -> dict[str, float]:
        """Return each group's CPU, and `machine`: all processes on every core together."""
        seconds = self.seconds = max(time.monotonic() - self.started, 1e-9)
        for name, command in self.commands.items():
            self.groups[name] = sorted(set(self.groups[name]) | set(pids_named(command)))
        result = {}
        for name, pids in self.groups.items():
            used = sum(max(_cpu_or_zero(pid) - self.before.get(pid, 0.0), 0.0) for pid in pids)
            result[name] = round(100 * used / seconds, 1)
        busy_before, total_before = self.machine_before
        busy, total = machine_ticks()
        cores = os.cpu_count() or 1
        result["machine"] = round(
            100 * cores * (busy - busy_before) / max(total - total_before, 1), 1
        )
        return result


def machine_ticks() -> tuple[int, int]:
    """Return the busy and total CPU ticks of all cores, from the first line of /proc/stat."""
    with open("/proc/stat") as stat:
        values = [int(value) for value in stat.readline().split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return total - idle, total


def _cpu_or_zero(pid: int) -> float:
    try:
        return process_cpu_seconds(pid)
    except (FileNotFoundError, ProcessLookupError):
        return 0.0


def rss_kb(pid: int) -> int:
    """Return a process's resident set size in KiB, from VmRSS in /proc/PID/status."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS line for process {pid}")


def percentile(values: Sequence[float], share: float) -> float:
    """Return the nearest-rank percentile (`share` from 0 to 1) of `values`, or NaN if empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(share * len(ordered) + 0.5)))
    return ordered[rank - 1]


def latency_summary(seconds: Sequence[float]) -> dict[str, Any]:
    """Return count, p50, p99 and max of latencies given in seconds, in milliseconds."""
    return {
        "count": len(seconds),
        "p50_ms": round(1000 * percentile(seconds, 0.50), 2),
        "p99_ms": round(1000 * percentile(seconds, 0.99), 2),
        "max_ms": round(1000 * max(seconds), 2) if seconds else float("nan"),
    }


def stop_on_sigterm() -> None:
    """Turn SIGTERM (from `timeout`, say) into KeyboardInterrupt, so cleanup code runs."""

    def interrupt(_signal: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def other_benchmarks() -> list[str]:
    """Return the command lines of running benchmarks started by someone else."""
    result = subprocess.run(
        ["pgrep", "-af", "|".join(OTHER_BENCHMARKS)], capture_output=True, text=True, check=False
    )
    own = {os.getpid(), os.getppid()}
    found = []
    for line in result.stdout.splitlines():
        pid, _, command = line.partition(" ")
        if int(pid) in own or any(script in command for script in OWN_SCRIPTS):
            continue
        found.append(line)
    return found


def add_wait_arguments(parser: argparse.ArgumentParser, *, quiet_wait: float = 300) -> None:
    """Add --quiet-wait and --no-wait, the options that make a benchmark wait its turn."""
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=quiet_wait,
        help="seconds to wait for other programs to leave the CPU idle before measuring",
    )
    parser.add_argument("--no-wait", action="store_true", help="skip waiting for other benchmarks")


def wait_for_other_benchmarks(limit_seconds: float = 1200) -> None:
    """Wait until no other benchmark runs, at most `limit_seconds`, then exit if one still does.

    The machine has few cores, so two benchmarks running at once lower each other's figures.
    """
    deadline = time.monotonic() + limit_seconds
    while found := other_benchmarks():
        if time.monotonic() >= deadline:
            raise SystemExit("another benchmark is still running:\n" + "\n".join(found))
        print(f"waiting for another benchmark to finish: {found[0]}", flush=True)
        time.sleep(20)


def wait_for_quiet_machine(limit_seconds: float = 300, busy_below: float = 25) -> float:
    """Wait until the machine's CPU use stays under `busy_below` % of one core for 2 s.

    Give up after `limit_seconds` and measure anyway. Return the last reading, so results
    can show how busy the machine was: test suites and browsers of other programs share it.
    """
    deadline = time.monotonic() + limit_seconds
    while True:
        before = machine_ticks()
        time.sleep(2)
        busy, total = machine_ticks()
        cores = os.cpu_count() or 1
        percent = 100 * cores * (busy - before[0]) / max(total - before[1], 1)
        if percent < busy_below:
            return round(percent, 1)
        if time.monotonic() >= deadline:
            print(f"warning: the machine is still busy ({percent:.0f}% of one core)", flush=True)
            return round(percent, 1)
        print(f"machine busy ({percent:.0f}% of one core), waiting", flush=True)
        time.sleep(3)


def wait_until_healthy(
    url: str, process: subprocess.Popen[bytes], name: str, seconds: float = STARTUP_SECONDS
) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{name} exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise SystemExit(f"{name} did not respond to {url}/health within {seconds:.0f} s")


def stop_process(process: subprocess.Popen[Any], timeout: float = 20) -> None:
    """Send SIGTERM and wait; kill the process if it is still running after `timeout` s."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Deployment:
    """Servers and workers of one fresh deployment, with their own database and Redis prefix."""

    log_dir: Path
    token: str = field(default_factory=lambda: secrets.token_hex(4))
    jwt_secret: str = field(default_factory=lambda: secrets.token_urlsafe(30)[:40])
    log_level: str = "WARNING"
    processes: dict[str, subprocess.Popen[Any]] = field(default_factory=dict)

    @property
    def database(self) -> str:
        return f"{DATABASE_PREFIX}_{self.token}"

    @property
    def database_url(self) -> str:
        return f"{POSTGRES_URL}/{self.database}"

    @property
    def redis_prefix(self) -> str:
        return f"bench-live-{self.token}:"

    @property
    def channel(self) -> str:
        """The main Socket.IO channel, named as server/app.py names it."""
        return f"{self.redis_prefix}socketio"

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": REDIS_URL,
            "REDIS_PREFIX": self.redis_prefix,
            "JWT_SECRET": self.jwt_secret,
            "LOG_LEVEL": self.log_level,
            # Long enough that no token expires during a run.
            "ACCESS_TOKEN_SECONDS": "7200",
            **extra,
        }

    def create(self) -> None:
        asyncio.run(_execute(f'CREATE DATABASE "{self.database}"'))
        subprocess.run(
            [str(NAPPATZIM), "migrate"], env=self.env(), cwd=ROOT, check=True, timeout=120
        )

    def start(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        with open(self.log_dir / f"{name}.log", "wb") as log:
            process = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
            )
        self.processes[name] = process
        return process

    def serve(
        self,
        name: str,
        command: list[str] | None = None,
        startup_seconds: float = STARTUP_SECONDS,
        **extra_env: str,
    ) -> Server:
        """Start `nappatzim serve` (or `command` with the same settings) on a free port."""
        port = free_port()
        command = command or [str(NAPPATZIM), "serve"]
        process = self.start(name, command, self.env(PORT=str(port), **extra_env))
        server = Server(name, port, process)
        wait_until_healthy(server.url, process, name, startup_seconds)
        return server

    def worker(self, name: str, command: list[str] | None = None) -> subprocess.Popen[bytes]:
        """Start `nappatzim worker`, or `command` with the same settings."""
        return self.start(name, command or [str(NAPPATZIM), "worker"], self.env())

    def stop(self, process: subprocess.Popen[Any]) -> None:
        stop_process(process)
        self.processes = {k: v for k, v in self.processes.items() if v is not process}

    def named_pids(self) -> dict[str, int]:
        """Return the pid of every process still running, by name."""
        return {name: p.pid for name, p in self.processes.items() if p.poll() is None}

    def close(self) -> None:
        """Stop every process, drop the database and delete the prefix's Redis keys.

        SIGINT and SIGTERM are ignored meanwhile, so a second interrupt cannot leave the
        database or the keys behind.
        """
        previous = {number: signal.signal(number, signal.SIG_IGN) for number in INTERRUPTS}
        try:
            for process in reversed(self.processes.values()):
                stop_process(process)
            self.processes.clear()
            asyncio.run(_execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'))
            asyncio.run(delete_redis_keys(self.redis_prefix))
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)

    def __enter__(self) -> Deployment:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


async def _execute(statement: str) -> None:
    connection = await asyncpg.connect(f"{POSTGRES_URL}/postgres")
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def delete_redis_keys(prefix: str) -> int:
    """Delete every Redis key that starts with `prefix`; return how many there were."""
    if not prefix.startswith("bench-live-"):
        raise ValueError(f"invalid prefix {prefix!r}: only benchmark prefixes are deleted")
    redis = Redis.from_url(REDIS_URL)
    deleted = 0
    try:
        async for key in redis.scan_iter(match=f"{prefix}*", count=1000):
            deleted += await redis.delete(key)
    finally:
        await redis.aclose()
    return deleted


def access_token(secret: str, user_id: int) -> str:
    """Sign an access token as /auth/login does, with the deployment's secret."""
    from server.tokens import ACCESS, TokenSigner

    signer = TokenSigner(secret, access_seconds=7200, refresh_seconds=7200)
    token: str = signer.issue(user_id, ACCESS)[0]
    return token


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run `main` on a uvloop event loop if uvloop is installed, else on asyncio's own."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


def has_uvloop() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


class ClientGroup:
    """Processes of bench/live_clients.py, each with a share of the clients, driven over stdin."""

    created = 0

    def __init__(
        self, specs: list[dict[str, Any]], processes: int, work_dir: Path, kind: str = "raw"
    ):
        self.specs = specs
        self.count = processes
        self.work_dir = work_dir
        self.kind = kind
        self.processes: list[asyncio.subprocess.Process] = []
        ClientGroup.created += 1
        self.name = f"clients-{ClientGroup.created}"

    async def start(self, timeout: float = 300) -> dict[str, Any]:
        """Start the processes, wait until each has connected its clients; sum their replies."""
        for index in range(self.count):
            path = self.work_dir / f"{self.name}-{index}.json"
            spec = {"clients": self.specs[index :: self.count], "kind": self.kind}
            path.write_text(json.dumps(spec))
            process = await asyncio.create_subprocess_exec(
                PYTHON,
                str(BENCH / "live_clients.py"),
                str(path),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                cwd=BENCH,
                # A report carries every latency it saw, on one line.
                limit=1 << 28,
            )
            self.processes.append(process)
        replies = await asyncio.wait_for(self._read_all(), timeout)
        return {
            "ok": sum(reply["ok"] for reply in replies),
            "failed": sum(reply["failed"] for reply in replies),
            "errors": [error for reply in replies for error in reply["errors"]][:5],
            "seconds": max(reply["seconds"] for reply in replies),
        }

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self.processes]

    async def command(self, line: str, timeout: float = 120) -> list[dict[str, Any]]:
        for process in self.processes:
            assert process.stdin is not None
            process.stdin.write(line.encode() + b"\n")
            await process.stdin.drain()
        return await asyncio.wait_for(self._read_all(), timeout)

    async def _read_all(self) -> list[dict[str, Any]]:
        replies = []
        for process in self.processes:
            assert process.stdout is not None
            line = await process.stdout.readline()
            if not line:
                raise RuntimeError(f"client process {process.pid} exited: {process.returncode}")
            replies.append(json.loads(line))
        return replies

    async def close(self, timeout: float = 60) -> None:
        for process in self.processes:
            if process.returncode is None and process.stdin is not None:
                process.stdin.write(b"quit\n")
                process.stdin.close()
        for process in self.processes:
            try:
                await asyncio.wait_for(process.wait(), timeout)
            except TimeoutError:
                process.kill()
                await process.wait()
        self.processes.clear()
