"""Load GET /workouts?limit=20 on our server and on the bare ceiling, one after the other.

Starts `nappatzim serve` and bench/bare.py as separate processes on loopback ports and logs
in as the seeded user. It checks that both servers return the same JSON for the page, then
runs wrk against each with the same settings: a warm-up, then the measured run. It prints
requests per second, p50 and p99 latency, and the CPU each process used, with the ratio
ours/bare.

    bench/.venv/bin/python bench/run.py

Seeds the database first with bench/seed.py unless --no-seed is given. Needs PostgreSQL on
127.0.0.1:5432, Redis on 127.0.0.1:6379 and `wrk` on the PATH.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from seed import DATABASE, EMAIL, PASSWORD, database_url, seed

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
SERVER_COMMAND = ROOT / ".venv" / "bin" / "nappatzim"
PATH = "/workouts?limit=20"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
STARTUP_SECONDS = 30
# Seconds a wrk run may take past its duration before it is killed.
WRK_GRACE_SECONDS = 30

# wrk calls done() once at the end, and run_wrk parses the line it writes. Latencies are in
# microseconds and are not corrected for coordinated omission (wrk 4, not wrk2).
WRK_SCRIPT = """\
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer %s"

done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    "BENCH requests=%%d duration_us=%%d bytes=%%d p50_us=%%d p90_us=%%d p99_us=%%d "
      .. "max_us=%%d non2xx=%%d socket_errors=%%d\\n",
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    errors.status, errors.connect + errors.read + errors.write + errors.timeout))
end
"""


@dataclass
class Target:
    name: str
    command: list[str]
    env: dict[str, str]
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Measurement:
    target: str
    round: int
    requests: int
    seconds: float
    requests_per_second: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    bytes_per_request: float
    non2xx: int
    socket_errors: int
    # CPU time over the measured run, as a share of one core (100 = one core busy).
    server_cpu_percent: float
    postgres_cpu_percent: float
    wrk_cpu_percent: float
    machine_cpu_percent: float
    # Machine CPU not used by the server, its PostgreSQL backends or wrk: other programs.
    other_cpu_percent: float
    server_cpu_ms_per_request: float
    extra: dict[str, Any] = field(default_factory=dict)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_cpu_seconds(pid: int) -> float:
    """Return the user plus system CPU time of a process, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    # After the command name: state is field 3 of proc(5), utime 14 and stime 15.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def postgres_cpu_seconds(database: str) -> float:
    """Return the CPU time of the PostgreSQL backends connected to `database`.

    Backends of other databases are left out. The servers' pools keep their backends for the
    whole run, so none of the counted time is lost to a backend that exits.
    """
    total = 0.0
    marker = f" {database} ".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "postgres":
                continue
            # A backend's title reads "postgres: 15/main: USER DATABASE HOST(PORT) STATE".
            if marker in (entry / "cmdline").read_bytes():
                total += process_cpu_seconds(int(entry.name))
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def machine_ticks() -> tuple[int, int]:
    """Return (busy, total) CPU ticks of the whole machine, all cores, from /proc/stat."""
    with open("/proc/stat") as stat:
        values = [int(value) for value in stat.readline().split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return total - idle, total


def machine_cpu_percent(before: tuple[int, int], after: tuple[int, int]) -> float:
    """Return the machine's busy CPU between two samples, in percent of one core."""
    busy = after[0] - before[0]
    total = max(after[1] - before[1], 1)
    return 100 * (os.cpu_count() or 1) * busy / total


def wait_for_quiet_machine(args: argparse.Namespace) -> None:
    """Wait until other programs leave the machine nearly idle, at most --quiet-wait seconds.

    The servers, PostgreSQL and wrk share the machine's cores with whatever else runs, so a
    test suite running next to the benchmark lowers every figure.
    """
    deadline = time.monotonic() + args.quiet_wait
    while True:
        before = machine_ticks()
        time.sleep(2)
        busy = machine_cpu_percent(before, machine_ticks())
        if busy <= args.quiet_below:
            return
        if time.monotonic() >= deadline:
            print(f"warning: the machine is still busy ({busy:.0f}% of one core); measuring anyway")
            return
        print(f"machine busy ({busy:.0f}% of one core), waiting ...", flush=True)
        time.sleep(3)


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def request_json(url: str, *, token: str | None = None, body: dict[str, Any] | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def wait_until_up(target: Target) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    assert target.process is not None
    while time.monotonic() < deadline:
        if target.process.poll() is not None:
            raise SystemExit(f"{target.name} exited with code {target.process.returncode}")
        try:
            request_json(f"{target.url}/health")
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise SystemExit(f"{target.name} did not respond to /health within {STARTUP_SECONDS} s")


def start(target: Target, log_dir: Path) -> None:
    log = open(log_dir / f"{target.name}.log", "wb")  # noqa: SIM115 - closed with the process
    target.process = subprocess.Popen(
        target.command, env=target.env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
    )
    log.close()


def stop(target: Target) -> None:
    process = target.process
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def first_difference(left: Any, right: Any, path: str = "$") -> str | None:
    """Return the JSON path where two decoded documents first differ, or None if equal."""
    if type(left) is not type(right):
        return f"{path}: {left!r} != {right!r}"
    if isinstance(left, dict):
        if list(left) != list(right):
            return f"{path}: keys {list(left)} != {list(right)}"
        for key in left:
            found = first_difference(left[key], right[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(left, list):
        if len(left) != len(right):
            return f"{path}: length {len(left)} != {len(right)}"
        for index, (a, b) in enumerate(zip(left, right, strict=True)):
            found = first_difference(a, b, f"{path}[{index}]")
            if found:
                return found
        return None
    return None if left == right else f"{path}: {left!r} != {right!r}"


def log_in(target: Target) -> str:
    """Log in as the seeded user and return the access token."""
    try:
        login = request_json(
            target.url + "/auth/login", body={"email": EMAIL, "password": PASSWORD}
        )
    except urllib.error.HTTPError as error:
        raise SystemExit(
            f"login on {target.name} failed with HTTP {error.code}: see "
            f"bench/results/{target.name}.log, and seed again if the schema changed"
        ) from None
    return str(login["accessToken"])


def check_same_page(targets: list[Target], token: str) -> None:
    """Exit unless every target returns the same full page of 20 workouts."""
    pages = {target.name: request_json(target.url + PATH, token=token) for target in targets}
    reference_name, reference = next(iter(pages.items()))
    workouts = reference["workouts"]
    exercises = sum(len(workout["exercises"]) for workout in workouts)
    if len(workouts) != 20 or exercises != 80:
        raise SystemExit(
            f"{reference_name} returned {len(workouts)} workouts and {exercises} exercises, "
            "expected 20 and 80: run bench/seed.py first"
        )
    for name, page in pages.items():
        difference = first_difference(reference, page)
        if difference:
            raise SystemExit(f"{name} and {reference_name} return different pages at {difference}")
    print(f"all targets return the same page: 20 workouts, {exercises} exercises")


def run_wrk(
    target: Target, script: Path, args: argparse.Namespace, seconds: int
) -> dict[str, float]:
    command = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{seconds}s",
        "--latency",
        "--timeout",
        "5s",
        "-s",
        str(script),
        target.url + PATH,
    ]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=seconds + WRK_GRACE_SECONDS,
        check=True,
    )
    for line in result.stdout.splitlines():
        if line.startswith("BENCH "):
            return {key: float(value) for key, value in (p.split("=") for p in line.split()[1:])}
    raise SystemExit(f"wrk printed no result line:\n{result.stdout}\n{result.stderr}")


def measure(
    target: Target, script: Path, args: argparse.Namespace, round_number: int
) -> Measurement:
    assert target.process is not None
    wait_for_quiet_machine(args)
    if args.warmup:
        run_wrk(target, script, args, args.warmup)
    pid = target.process.pid
    server_before = process_cpu_seconds(pid)
    postgres_before = postgres_cpu_seconds(args.database)
    children_before = children_cpu_seconds()
    machine_before = machine_ticks()

    raw = run_wrk(target, script, args, args.duration)

    machine = machine_cpu_percent(machine_before, machine_ticks())
    seconds = raw["duration_us"] / 1e6
    requests = int(raw["requests"])
    server = 100 * (process_cpu_seconds(pid) - server_before) / seconds
    postgres = 100 * (postgres_cpu_seconds(args.database) - postgres_before) / seconds
    wrk = 100 * (children_cpu_seconds() - children_before) / seconds
    return Measurement(
        target=target.name,
        round=round_number,
        requests=requests,
        seconds=round(seconds, 2),
        requests_per_second=round(requests / seconds, 1),
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        bytes_per_request=round(raw["bytes"] / max(requests, 1), 1),
        non2xx=int(raw["non2xx"]),
        socket_errors=int(raw["socket_errors"]),
        server_cpu_percent=round(server, 1),
        postgres_cpu_percent=round(postgres, 1),
        wrk_cpu_percent=round(wrk, 1),
        machine_cpu_percent=round(machine, 1),
        other_cpu_percent=round(max(machine - server - postgres - wrk, 0.0), 1),
        server_cpu_ms_per_request=round(10 * server * seconds / max(requests, 1), 3),
    )


def build_targets(args: argparse.Namespace, secret: str) -> list[Target]:
    base = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "JWT_SECRET", "PORT", "HOST"}
    }
    url = database_url(args.database)
    server_env = {
        **base,
        "DATABASE_URL": url,
        "REDIS_URL": args.redis_url,
        "REDIS_PREFIX": "nappatzim-bench:",
        "JWT_SECRET": secret,
        "HOST": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        # Long enough that the token from the single login outlives every run.
        "ACCESS_TOKEN_SECONDS": "7200",
    }
    targets = []
    if args.profile:
        # pyinstrument runs the script itself, so an interpreter in front of it is dropped.
        script = shlex.split(args.ours_command)
        if Path(script[0]).name.startswith("python"):
            script = script[1:]
        output = RESULTS / "profile-ours.pyisession"
        command = [sys.executable, "-m", "pyinstrument", "-r", "pyisession", "-o", str(output)]
        port = free_port()
        env = {**server_env, "PORT": str(port)}
        return [Target("ours-profiled", [*command, *script], env, port)]

    port = free_port()
    command = shlex.split(args.ours_command)
    targets.append(Target("ours", command, {**server_env, "PORT": str(port)}, port))
    if args.uvloop:
        port = free_port()
        command = [sys.executable, str(BENCH / "serve_uvloop.py"), "serve"]
        targets.append(Target("ours-uvloop", command, {**server_env, "PORT": str(port)}, port))
    for extra in args.extra:
        name, _, text = extra.partition("=")
        port = free_port()
        targets.append(Target(name, shlex.split(text), {**server_env, "PORT": str(port)}, port))
    port = free_port()
    command = [sys.executable, str(BENCH / "bare.py"), "--port", str(port)]
    bare_env = {**base, "DATABASE_URL": url, "JWT_SECRET": secret}
    targets.append(Target("bare", command, bare_env, port))
    if args.uvloop:
        port = free_port()
        command = [*command[:-1], str(port), "--uvloop"]
        targets.append(Target("bare-uvloop", command, bare_env, port))
    return targets


def print_table(measurements: list[Measurement]) -> None:
    header = (
        "| target | round | requests/s | p50 ms | p99 ms | errors | server CPU % | "
        "PostgreSQL CPU % | wrk CPU % | other CPU % | server CPU ms/request |"
    )
    print(header)
    print("|" + " --- |" * (header.count("|") - 1))
    for item in measurements:
        errors = item.non2xx + item.socket_errors
        print(
            f"| {item.target} | {item.round} | {item.requests_per_second:,.0f} | "
            f"{item.p50_ms:.1f} | {item.p99_ms:.1f} | {errors} | {item.server_cpu_percent:.0f} | "
            f"{item.postgres_cpu_percent:.0f} | {item.wrk_cpu_percent:.0f} | "
            f"{item.other_cpu_percent:.0f} | {item.server_cpu_ms_per_request:.2f} |"
        )


def print_ratios(measurements: list[Measurement]) -> None:
    by_round: dict[int, dict[str, Measurement]] = {}
    for item in measurements:
        by_round.setdefault(item.round, {})[item.target] = item
    for round_number, items in sorted(by_round.items()):
        bare = items.get("bare")
        if bare is None:
            continue
        for name, item in items.items():
            if name.startswith("bare"):
                continue
            throughput = item.requests_per_second / bare.requests_per_second
            efficiency = bare.server_cpu_ms_per_request / item.server_cpu_ms_per_request
            print(
                f"round {round_number}: {name}/bare requests/s ratio {throughput:.2f}, "
                f"CPU per request ratio (bare/{name}) {efficiency:.2f}"
            )


def machine_description() -> dict[str, Any]:
    model = ""
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "wrk": wrk_version.splitlines()[0] if wrk_version else "",
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument(
        "--connections", type=int, default=32, help="wrk open connections (default 32)"
    )
    parser.add_argument(
        "--duration", type=int, default=15, help="seconds of each measured run (default 15)"
    )
    parser.add_argument(
        "--warmup", type=int, default=5, help="seconds of load before each measured run"
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="measured runs per target, order reversed each round"
    )
    parser.add_argument(
        "--uvloop", action="store_true", help="also load both servers running on uvloop"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="load only our server, under pyinstrument, and write "
        "bench/results/profile-ours.pyisession",
    )
    parser.add_argument(
        "--quiet-wait",
        type=int,
        default=120,
        help="seconds to wait before each target for the machine to go idle (default 120)",
    )
    parser.add_argument(
        "--quiet-below",
        type=float,
        default=25,
        help="machine CPU use, in percent of one core, below which the machine counts as idle "
        "(default 25)",
    )
    parser.add_argument(
        "--ours-command",
        default=f"{SERVER_COMMAND} serve",
        help="command that starts our server, to measure a change (default: .venv/bin/nappatzim "
        "serve)",
    )
    parser.add_argument(
        "--extra",
        action="append",
        default=[],
        metavar="NAME=COMMAND",
        help="another server to load in the same run, started like ours with PORT in its "
        "environment. May be repeated",
    )
    parser.add_argument("--database", default=DATABASE, help="seeded database name")
    parser.add_argument(
        "--no-seed",
        action="store_true",
        help="use the database as it is instead of dropping and seeding it again",
    )
    parser.add_argument(
        "--redis-url", default="redis://127.0.0.1:6379/0", help="Redis for our server"
    )
    args = parser.parse_args()
    check_args(parser, args)
    return args


def check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    for extra in args.extra:
        name, separator, command = extra.partition("=")
        if not separator or not name or not command or name.startswith(("ours", "bare")):
            parser.error(f"invalid --extra {extra!r}: use NAME=COMMAND, NAME not ours* or bare*")
    if not 1 <= args.duration <= 300 or not 0 <= args.warmup <= 60 or not 1 <= args.rounds <= 5:
        parser.error("invalid run length: duration 1-300 s, warm-up 0-60 s, rounds 1-5")
    if not 0 <= args.quiet_wait <= 1800:
        parser.error("invalid --quiet-wait: use 0-1800 seconds")


def main() -> int:
    args = parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: install it with apt-get install wrk")
    RESULTS.mkdir(exist_ok=True)
    if not args.no_seed:
        # Seeding again each run keeps the database at the current migrations.
        asyncio.run(seed(args.database, seed_value=1))
    secret = secrets.token_urlsafe(48)
    targets = build_targets(args, secret)
    measurements: list[Measurement] = []
    with tempfile.TemporaryDirectory(prefix="nappatzim-bench-") as scratch:
        try:
            for target in targets:
                start(target, RESULTS)
            for target in targets:
                wait_until_up(target)
            token = log_in(targets[0])
            check_same_page(targets, token)

            script = Path(scratch) / "auth.lua"
            script.write_text(WRK_SCRIPT % token)
            for round_number in range(1, args.rounds + 1):
                ordered = targets if round_number % 2 else list(reversed(targets))
                for target in ordered:
                    print(f"round {round_number}: loading {target.name} ...", flush=True)
                    measurements.append(measure(target, script, args, round_number))
        finally:
            for target in targets:
                stop(target)

    print()
    print(
        f"GET {PATH}, wrk -t{args.threads} -c{args.connections} -d{args.duration}s, "
        f"{args.warmup} s warm-up; machine: {machine_description()}"
    )
    print_table(measurements)
    print_ratios(measurements)
    if args.profile:
        print(f"profile written to {RESULTS / 'profile-ours.pyisession'}")

    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    record = {
        "path": PATH,
        "settings": vars(args),
        "machine": machine_description(),
        "measurements": [asdict(item) for item in measurements],
    }
    (RESULTS / f"run-{stamp}.json").write_text(json.dumps(record, indent=2))
    failed = [item for item in measurements if item.non2xx or item.socket_errors]
    if failed:
        print(f"errors during the runs of {', '.join(item.target for item in failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
