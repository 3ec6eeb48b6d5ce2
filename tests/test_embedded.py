"""The embedded mode as `make run` starts it: one process, SQLite, jobs and events inside."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from server.config import Settings
from tests.helpers import PASSWORD, random_email
from tests.live import LiveClient
from tests.processes import Server


@pytest.fixture
def embedded_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name in ("DATABASE_URL", "REDIS_URL", "JWT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    return Settings(data_dir=tmp_path / "data")


async def test_serve_embedded_end_to_end(embedded_env: Settings, tmp_path: Path) -> None:
    server = Server(embedded_env, tmp_path / "serve.log")
    try:
        await server.wait_ready()
        assert (embedded_env.data_dir / "nappatzim.sqlite3").exists()
        async with aiohttp.ClientSession() as session:
            credentials = {"email": random_email(), "password": PASSWORD}
            async with session.post(f"{server.url}/auth/register", json=credentials) as response:
                assert response.status == 201
            async with session.post(f"{server.url}/auth/login", json=credentials) as response:
                login = await response.json()
            headers = {"Authorization": f"Bearer {login['accessToken']}"}
            live = LiveClient()
            await live.connect(server.url, login["accessToken"])

            async with session.post(
                f"{server.url}/categories", json={"name": "Pull"}, headers=headers
            ) as response:
                category_id = (await response.json())["id"]
            workout = {
                "categoryId": category_id,
                "exercises": [
                    {
                        "type": "weight",
                        "name": "Row",
                        "order": 1,
                        "setsDetail": [{"order": 1, "value": 80, "reps": 8}],
                    }
                ],
            }
            async with session.post(
                f"{server.url}/workouts", json=workout, headers=headers
            ) as response:
                assert response.status == 201

            _, progress = await live.next_event("progress:updated")
            assert progress["exercises"][0]["volume"] == 640
            _, record = await live.next_event("record:achieved")
            assert record["exercise"] == "Row"
            await live.close()
    finally:
        server.stop()
    assert "Traceback" not in server.output()


async def test_serve_respects_host_and_port(embedded_env: Settings, tmp_path: Path) -> None:
    server = Server(embedded_env, tmp_path / "serve.log")
    try:
        await server.wait_ready()
        assert f"127.0.0.1:{server.port}" in server.output()
    finally:
        server.stop()


def run_serve(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run `serve` with `env` until it exits, which a bad setting makes it do at once."""
    return subprocess.run(
        [sys.executable, "-m", "server.cli", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_deployment_without_secret_is_rejected(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": "postgresql://postgres@127.0.0.1/none",
        "DATA_DIR": str(tmp_path),
    }
    env.pop("JWT_SECRET", None)
    result = run_serve(env)
    assert result.returncode == 2
    assert "JWT_SECRET is missing" in result.stderr


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL: unknown level 'LOUD'"),
        ({"DATABASE_URL": "mysql://app@db/app"}, "unsupported database URL 'mysql'"),
        ({"HOST": "nohost.invalid"}, "cannot listen on nohost.invalid"),
    ],
)
def test_bad_setting_gets_a_message(
    tmp_path: Path, variables: dict[str, str], message: str
) -> None:
    env = {**os.environ, "DATA_DIR": str(tmp_path), "JWT_SECRET": "s" * 32, **variables}
    for name in ("REDIS_URL", "PORT") + (() if "DATABASE_URL" in variables else ("DATABASE_URL",)):
        env.pop(name, None)
    result = run_serve(env)
    assert result.returncode in (1, 2)
    assert message in result.stderr
    assert "Traceback" not in result.stderr


async def test_shutdown_disconnects_clients(embedded_env: Settings, tmp_path: Path) -> None:
    """A stopping server closes each Socket.IO connection, so devices reconnect elsewhere."""
    server = Server(embedded_env, tmp_path / "serve.log")
    try:
        await server.wait_ready()
        async with aiohttp.ClientSession() as session:
            credentials = {"email": random_email(), "password": PASSWORD}
            async with session.post(f"{server.url}/auth/register", json=credentials) as response:
                assert response.status == 201
            async with session.post(f"{server.url}/auth/login", json=credentials) as response:
                login = await response.json()
        live = LiveClient()
        reasons: list[str] = []

        @live.sio.event
        async def disconnect(reason: str) -> None:
            reasons.append(reason)

        await live.connect(server.url, login["accessToken"])
        server.popen.terminate()
        async with asyncio.timeout(30):
            while not reasons:
                await asyncio.sleep(0.05)
        assert reasons == [live.sio.reason.SERVER_DISCONNECT]
        await live.close()
    finally:
        server.stop()
