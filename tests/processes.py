"""Start `nappatzim` commands as real processes for multi-process tests."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp

from server.config import Settings

ROOT = Path(__file__).resolve().parents[1]
# The console script the README tells operators to run, from the same environment.
COMMAND = [str(Path(sys.executable).parent / "nappatzim")]
# A folder whose sitecustomize.py shifts the wall clock of a process it is on the path of.
SHIFTED_CLOCK = Path(__file__).resolve().parent / "shifted_clock"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def environment(settings: Settings, **extra: str) -> dict[str, str]:
    """Turn settings into the environment variables a process reads them from."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("TEST_")}
    values: dict[str, Any] = settings.model_dump()
    for name, value in values.items():
        if value is None:
            continue
        if name == "jwt_secret":
            value = settings.secret()
        if isinstance(value, list):
            value = ",".join(value)
        env[name.upper()] = str(value)
    env.update(extra)
    return env


def shifted_clock(seconds: float) -> dict[str, str]:
    """Return environment variables that run a process's wall clock `seconds` ahead.

    Processes started with the same value agree on the time, whenever each one starts.
    """
    path = os.pathsep.join(filter(None, [str(SHIFTED_CLOCK), os.environ.get("PYTHONPATH")]))
    return {"PYTHONPATH": path, "CLOCK_SHIFT_SECONDS": repr(seconds)}


class Process:
    def __init__(self, args: list[str], env: dict[str, str], log_path: Path):
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.popen = subprocess.Popen(
            COMMAND + args, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )

    def kill(self) -> None:
        """Kill with SIGKILL, as a crash would."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(timeout=10)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


class Server(Process):
    def __init__(self, settings: Settings, log_path: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__(["serve", "--port", str(self.port)], environment(settings), log_path)

    async def wait_ready(self, timeout: float = 30) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        async with aiohttp.ClientSession() as session:
            while asyncio.get_running_loop().time() < deadline:
                if self.popen.poll() is not None:
                    raise RuntimeError(f"server exited early:\n{self.output()}")
                try:
                    async with session.get(f"{self.url}/health") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise TimeoutError(f"server not ready after {timeout}s:\n{self.output()}")


class Worker(Process):
    def __init__(self, settings: Settings, log_path: Path, **extra_env: str):
        super().__init__(["worker"], environment(settings, **extra_env), log_path)


class Scheduler(Process):
    def __init__(self, settings: Settings, log_path: Path, **extra_env: str):
        super().__init__(["scheduler"], environment(settings, **extra_env), log_path)
