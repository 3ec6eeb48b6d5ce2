"""Engines and sessions for the primary database and its read replicas."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.util import await_only

T = TypeVar("T")


def create_engine(
    url: str, *, schema: str | None = None, pool_size: int = 10, pre_ping: bool = True
) -> AsyncEngine:
    """Create an async engine with the connection settings each back end needs.

    `pre_ping` tests each connection as it leaves the pool, which costs a round trip. An
    engine without it must retry work whose connection turns out to be dead.
    """
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30})
        configure_sqlite(engine.sync_engine)
        return engine

    connect_args: dict[str, Any] = {
        # Fail fast with a 503 rather than hang when PostgreSQL is unreachable.
        "timeout": 5,
        "command_timeout": 30,
    }
    if schema:
        connect_args["server_settings"] = {"search_path": schema}
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=5,
        connect_args=connect_args,
    )
    if pre_ping:
        event.listen(engine.sync_engine, "checkout", _ping)
    return engine


def _ping(_dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
    """Test a connection leaving the pool with an empty query, one round trip.

    SQLAlchemy's own pre-ping on asyncpg wraps the query in BEGIN and ROLLBACK, for pgbouncer
    in transaction mode, which takes three round trips. A failed test makes the pool discard
    the connection and open another.
    """
    connection = record.driver_connection
    if connection is None:
        raise DisconnectionError("pooled connection is closed")
    try:
        await_only(connection.fetchrow(";"))
    except Exception as error:
        raise DisconnectionError(f"pooled connection failed its test: {error!r}") from error


def configure_sqlite(engine: Engine) -> None:
    """Turn on foreign keys, WAL and transactional DDL for every SQLite connection.

    aiosqlite's driver opens transactions implicitly and not before DDL, so a failed migration
    would leave half its changes behind. Autocommit mode plus an explicit BEGIN makes every
    statement, DDL included, part of the transaction.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A write transaction takes the write lock up front: a read transaction that later
        # writes fails with SQLITE_BUSY instead of waiting when another writer got in first.
        if connection.get_execution_options().get("sqlite_write"):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


class Database:
    """The primary engine for writes and optional replica engines for reads."""

    def __init__(
        self, url: str, *, replica_urls: list[str] | None = None, schema: str | None = None
    ):
        self.engine = create_engine(url, schema=schema)
        self.replicas = [create_engine(u, schema=schema) for u in replica_urls or []]
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        # Hot reads run outside a transaction on a pool of their own without pre-ping: a
        # page read is then its queries' round trips and nothing else.
        self._reader_engine: AsyncEngine | None = None
        self.reader = self.engine
        if not self.is_sqlite:
            self._reader_engine = create_engine(url, schema=schema, pre_ping=False)
            self.reader = self._reader_engine.execution_options(isolation_level="AUTOCOMMIT")
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._replica_sessions = [
            async_sessionmaker(replica, expire_on_commit=False) for replica in self.replicas
        ]

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """Open a session on the primary and commit it on success, roll back on error."""
        async with self._sessions() as session, session.begin():
            if self.is_sqlite:
                await session.connection(execution_options={"sqlite_write": True})
            yield session

    @asynccontextmanager
    async def read(self, *, primary: bool = True) -> AsyncIterator[AsyncSession]:
        """Open a read-only session, on a replica when `primary=False` and one is configured.

        Reads default to the primary, so a user always sees their own writes.
        """
        # TODO(replica routing): send reads to replicas for users without a recent write.
        factory = self._sessions
        if self._replica_sessions and not primary:
            factory = random.choice(self._replica_sessions)
        async with factory() as session:
            yield session

    async def read_rows(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Run the read-only `work` on a pooled connection of the primary, without a transaction.

        Each statement reads the latest committed data. A connection that died while pooled,
        for example across a database restart, fails on first use. The work then runs once
        more on a new connection, because a read can be repeated.
        """
        return await self._run_pooled(work)

    async def write_once(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Run `work`, one write statement, on the primary; it commits as it runs.

        Like `read_rows`, the statement runs again on a new connection when its pooled one
        died, so it must do no harm when run twice. On SQLite `work` runs in a transaction.
        """
        if self.is_sqlite:
            async with self.engine.execution_options(sqlite_write=True).begin() as connection:
                return await work(connection)
        return await self._run_pooled(work)

    async def _run_pooled(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        try:
            async with self.reader.connect() as connection:
                return await work(connection)
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
        async with self.reader.connect() as connection:
            return await work(connection)

    @property
    def engines(self) -> list[AsyncEngine]:
        """Every engine this database opens connections with."""
        readers = [] if self._reader_engine is None else [self._reader_engine]
        return [self.engine, *readers, *self.replicas]

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self._reader_engine is not None:
            await self._reader_engine.dispose()
        for replica in self.replicas:
            await replica.dispose()
