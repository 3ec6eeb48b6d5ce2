"""Measure the CPU time of each part of GET /workouts?limit=20 in one process, without HTTP.

Runs the parts of the handler for the seeded user, one call after another. It prints the CPU
time per call of each part: the whole handler body, the storage query with and without the
exercises, the reply shaping, and the token check. For comparison it also times the bare
handler's queries and shaping from bench/bare.py. Each figure is the minimum over several
batches, so that other programs on the machine inflate it less.

    bench/.venv/bin/python bench/page_cost.py      # after bench/seed.py
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from functools import partial

import asyncpg
import bare
import orjson
from seed import DATABASE, database_url

from server.schemas import WorkoutListQuery, page_reply, parse_fields
from server.tokens import ACCESS, TokenSigner
from server.validation import parse_query
from storage import workout_pages
from storage.db import Database

Part = Callable[[], Awaitable[object]]


async def measure(parts: dict[str, Part], *, batches: int, calls: int) -> dict[str, float]:
    """Return the minimum CPU milliseconds per call of each part over interleaved batches."""
    best = dict.fromkeys(parts, float("inf"))
    for part in parts.values():
        for _ in range(calls // 2):
            await part()
    for _ in range(batches):
        for name, part in parts.items():
            started = time.process_time()
            for _ in range(calls):
                await part()
            per_call = (time.process_time() - started) / calls * 1000
            best[name] = min(best[name], per_call)
    return best


async def main(database: str, *, batches: int, calls: int) -> None:
    url = database_url(database)
    db = Database(url.replace("postgresql://", "postgresql+asyncpg://", 1))
    pool = await asyncpg.create_pool(url, min_size=1, max_size=1)
    signer = TokenSigner("bench-secret-" * 4, access_seconds=3600, refresh_seconds=3600)
    token, _ = signer.issue(1, ACCESS)
    fields = parse_fields(None)
    user_id = 1

    def read_page(**options: object) -> Awaitable[workout_pages.WorkoutPage]:
        return db.read_rows(
            partial(workout_pages.list_workouts, user_id=user_id, **options)  # type: ignore[arg-type]
        )

    page = await read_page(fields=fields, limit=20)

    async def handler_body() -> object:
        signer.verify_access(token)
        query = parse_query({"limit": "20"}, WorkoutListQuery)
        wanted = parse_fields(query.fields)
        result = await read_page(fields=wanted, limit=query.limit)
        return orjson.dumps(page_reply(result, wanted))

    async def storage_query() -> object:
        return await read_page(fields=fields, limit=20)

    async def storage_query_without_exercises() -> object:
        return await read_page(fields=fields - {"exercises"}, limit=20)

    async def reply() -> object:
        return orjson.dumps(page_reply(page, fields))

    async def token_check() -> object:
        return signer.verify_access(token)

    async def bare_body() -> object:
        async with pool.acquire() as connection:
            rows = (await connection.fetch(bare.WORKOUTS_SQL, user_id, 21))[:20]
            ids = [row["id"] for row in rows]
            sets = await connection.fetch(bare.SETS_SQL, ids)
            exercises = await connection.fetch(bare.EXERCISES_SQL, ids)
        return orjson.dumps(bare.shape_page(rows, exercises, sets, next_cursor=None))

    parts: dict[str, Part] = {
        "handler body: token, query string, storage, reply, orjson": handler_body,
        "storage.workout_pages.list_workouts": storage_query,
        "storage.workout_pages.list_workouts without exercises": storage_query_without_exercises,
        "page_reply and orjson.dumps": reply,
        "token check": token_check,
        "bare handler body: 3 asyncpg queries, shaping, orjson": bare_body,
    }
    try:
        results = await measure(parts, batches=batches, calls=calls)
    finally:
        await db.dispose()
        await pool.close()
    print(f"| part | CPU ms per call (min of {batches} x {calls}) |")
    print("| --- | --- |")
    for name, value in results.items():
        print(f"| {name} | {value:.2f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=DATABASE, help="seeded database name")
    parser.add_argument("--batches", type=int, default=10, help="batches per part (default 10)")
    parser.add_argument("--calls", type=int, default=100, help="calls per batch (default 100)")
    args = parser.parse_args()
    if not 1 <= args.batches <= 100 or not 1 <= args.calls <= 10_000:
        parser.error("invalid run length: batches 1-100, calls 1-10000")
    asyncio.run(main(args.database, batches=args.batches, calls=args.calls))
