"""Fixtures: a PostgreSQL schema and a Redis key prefix per test, and app clients on them."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from server.app import create_app
from server.config import Settings
from storage.db import create_engine
from storage.migrate import known_revisions
from storage.models import Base

PG_ADMIN_DSN = os.environ.get("TEST_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_DATABASE = os.environ.get("TEST_PG_DATABASE", "nappatzim_test")
PG_URL = os.environ.get(
    "TEST_DATABASE_URL", f"postgresql+asyncpg://postgres@127.0.0.1:5432/{PG_DATABASE}"
)
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
JWT_SECRET = "test-secret-that-is-long-enough-for-hs256"
# Real exports from lifting apps, kept beside the repository rather than in it.
REAL_DATA = Path(
    os.environ.get(
        "NAPPATZIM_REAL_DATA",
        Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real",
    )
)
FIXTURES = Path(__file__).resolve().parent / "fixtures"

# Settings that keep tests fast: quick redelivery and outbox retries.
FAST = {
    "task_redelivery_seconds": 2.0,
    "task_poll_seconds": 0.3,
    "outbox_poll_seconds": 0.2,
    "outbox_grace_seconds": 1.0,
    "outbox_task_lease_seconds": 10.0,
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the tests on real export files when the folder of those files is missing."""
    if REAL_DATA.is_dir():
        return
    reason = f"real export files not found in {REAL_DATA}: set NAPPATZIM_REAL_DATA"
    for item in items:
        if item.get_closest_marker("real_data"):
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def pg_database() -> str:
    """Create the test database once per run if it does not exist."""

    async def create() -> None:
        connection = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            exists = await connection.fetchval(
                "SELECT 1 FROM pg_database WHERE datname = $1", PG_DATABASE
            )
            if not exists:
                await connection.execute(f'CREATE DATABASE "{PG_DATABASE}"')
        finally:
            await connection.close()

    asyncio.run(create())
    return PG_URL


@pytest.fixture
async def pg_schema(
    pg_database: str, running_clients: list[TestClient[Any, Any]]
) -> AsyncIterator[str]:
    """Create an empty schema with every table for one test, and drop it afterwards."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(pg_database, pool_size=1)
    async with engine.begin() as connection:
        await connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    await engine.dispose()
    engine = create_engine(pg_database, schema=schema, pool_size=1)
    async with engine.begin() as connection:
        await create_tables(connection)
    await engine.dispose()
    yield schema
    for client in reversed(running_clients):
        await client.close()
    engine = create_engine(pg_database, pool_size=1)
    async with engine.begin() as connection:
        await connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    await engine.dispose()


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """Give the test its own key prefix and delete its keys afterwards."""
    prefix = f"test:{uuid.uuid4().hex[:12]}:"
    yield prefix
    redis = Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}*", count=1000)]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


@pytest.fixture
def pg_settings(pg_database: str, pg_schema: str, redis_prefix: str) -> Settings:
    """Settings of a deployment on PostgreSQL and Redis, isolated to this test."""
    return Settings(
        database_url=pg_database,
        database_schema=pg_schema,
        redis_url=REDIS_URL,
        redis_prefix=redis_prefix,
        jwt_secret=JWT_SECRET,
        **FAST,
    )


@pytest.fixture
async def sqlite_settings(tmp_path: Path) -> Settings:
    """Settings of the embedded mode: a SQLite file in a temporary folder, no Redis."""
    settings = Settings(data_dir=tmp_path, jwt_secret=JWT_SECRET, **FAST)
    engine = create_engine(settings.sqlalchemy_url)
    async with engine.begin() as connection:
        await create_tables(connection)
    await engine.dispose()
    return settings


async def create_tables(connection: AsyncConnection) -> None:
    """Create every table, stamped with the newest migration as `nappatzim migrate` leaves it.

    Creating the tables from the models is faster than running the migrations for each test;
    tests/test_migrations.py checks that both give the same schema.
    """
    await connection.run_sync(Base.metadata.create_all)
    await connection.execute(
        text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
    )
    await connection.execute(
        text("INSERT INTO alembic_version VALUES (:head)"), {"head": known_revisions()[0]}
    )


@pytest.fixture(params=["postgres", "sqlite"])
def settings(request: pytest.FixtureRequest) -> Settings:
    """Run the test once on PostgreSQL with Redis and once in the embedded mode."""
    name = "pg_settings" if request.param == "postgres" else "sqlite_settings"
    value: Settings = request.getfixturevalue(name)
    return value


ClientFactory = Callable[..., Any]


@pytest.fixture
def running_clients() -> list[TestClient[Any, Any]]:
    """The apps a test started, so the schema's teardown can stop them before dropping it."""
    return []


async def start_app(
    app: web.Application, clients: list[TestClient[Any, Any]]
) -> TestClient[Any, Any]:
    """Serve `app` on a loopback port, and add its client to `clients` for closing."""
    client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    clients.append(client)
    return client


@pytest.fixture
async def make_client(
    running_clients: list[TestClient[Any, Any]],
) -> AsyncIterator[ClientFactory]:
    """Start apps on loopback ports; each call may pass its own settings."""
    clients = running_clients

    async def start(settings: Settings) -> TestClient[Any, Any]:
        return await start_app(create_app(settings), clients)

    yield start
    for client in reversed(clients):
        await client.close()


@pytest.fixture
async def client(make_client: ClientFactory, settings: Settings) -> TestClient[Any, Any]:
    result: TestClient[Any, Any] = await make_client(settings)
    return result


@pytest.fixture
async def worker(pg_settings: Settings) -> AsyncIterator[None]:
    """Run a task worker in this test's event loop, on the PostgreSQL settings."""
    from tasks.worker import work

    stop = asyncio.Event()
    task = asyncio.create_task(work(pg_settings, stop))
    yield
    stop.set()
    await asyncio.wait_for(task, timeout=30)


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Any]:
    """The test's database on each back end, without the rest of the app."""
    from storage.db import Database

    database = Database(settings.sqlalchemy_url, schema=settings.database_schema)
    yield database
    await database.dispose()
