"""Bulk inserts whose ids are chosen first: COPY on PostgreSQL, executemany on SQLite.

Choosing the ids before inserting lets a caller insert parents and their children in one pass
each, with no RETURNING round trip per batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Base


async def allocate_ids(session: AsyncSession, model: type[Base], count: int) -> list[int]:
    """Reserve `count` new ids of `model`'s table, ascending, inside the session's transaction.

    PostgreSQL takes them from the table's sequence, so concurrent writers get other ids.
    SQLite counts on from the highest id the table has ever used. That is safe because every
    write transaction there takes the database's write lock when it begins.
    """
    if count <= 0:
        return []
    table = _table(model)
    driver = await _asyncpg_connection(session)
    if driver is not None:
        sequence = await driver.fetchval("SELECT pg_get_serial_sequence($1, 'id')", table.name)
        rows = await driver.fetch(
            "SELECT nextval($1::regclass) FROM generate_series(1, $2)", sequence, count
        )
        return sorted(row[0] for row in rows)
    # Inserting an explicit id above sqlite_sequence's value raises that value as well, so an
    # AUTOINCREMENT table never hands these ids out again.
    result = await session.execute(
        text(
            "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = :table), 0), "
            f'coalesce((SELECT max(id) FROM "{table.name}"), 0))'
        ),
        {"table": table.name},
    )
    last = int(result.scalar_one())
    return list(range(last + 1, last + count + 1))


async def insert_rows(
    session: AsyncSession, model: type[Base], columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """Insert rows given as tuples in the order of `columns`."""
    if not rows:
        return
    table = _table(model)
    driver = await _asyncpg_connection(session)
    if driver is not None:
        # The raw connection is inside the session's transaction, so COPY commits or rolls
        # back with the rest of the session's work.
        await driver.copy_records_to_table(table.name, records=rows, columns=list(columns))
        return
    await session.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


async def _asyncpg_connection(session: AsyncSession) -> Any | None:
    """Return the session's asyncpg connection, or None on another driver."""
    connection = await session.connection()
    if connection.dialect.name != "postgresql" or connection.dialect.driver != "asyncpg":
        return None
    raw = await connection.get_raw_connection()
    return raw.driver_connection
