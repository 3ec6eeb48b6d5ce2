"""The ceiling for GET /workouts: the same first page from a bare aiohttp handler.

It runs the queries that storage.workouts.list_workouts runs for the first page (the keyset
query on workouts joined with categories, then the page's exercises and their sets, one query
each) on a plain asyncpg pool, and builds the same JSON with orjson. It checks the bearer token
with PyJWT as the server does, and has no ORM, no pydantic and no middleware. It serves only
the first page in the default order: a cursor or another sort is rejected.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/nappatzim_bench JWT_SECRET=... \\
        bench/.venv/bin/python bench/bare.py --port 8100
"""

from __future__ import annotations

import argparse
import base64
import os
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import asyncpg
import jwt
import orjson
from aiohttp import web

WORKOUTS_SQL = """
SELECT w.id, w.user_id, w.category_id, w.notes, w.created_at, w.updated_at,
       c.id AS c_id, c.user_id AS c_user_id, c.name AS c_name, c.color AS c_color,
       c.created_at AS c_created_at, c.updated_at AS c_updated_at
FROM workouts AS w JOIN categories AS c ON c.id = w.category_id
WHERE w.user_id = $1
ORDER BY w.created_at DESC, w.id DESC
LIMIT $2
"""
SETS_SQL = """
SELECT s.id, s.exercise_id, s."order", s.value, s.reps, s.rest_minutes
FROM sets AS s JOIN exercises AS e ON e.id = s.exercise_id
WHERE e.workout_id = ANY($1::bigint[])
ORDER BY s.exercise_id, s."order", s.id
"""
EXERCISES_SQL = """
SELECT id, workout_id, user_id, type, name, name_key, unit, notes, "order"
FROM exercises
WHERE workout_id = ANY($1::bigint[])
ORDER BY workout_id, "order", id
"""

POOL = web.AppKey("pool", asyncpg.Pool)
SECRET = web.AppKey("secret", str)


def error(status: int, message: str) -> web.Response:
    return web.Response(
        body=orjson.dumps({"error": message}), status=status, content_type="application/json"
    )


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def encode_cursor(created_at: datetime, last_id: int) -> str:
    """Encode the next-page cursor in the server's format, so both replies are equal."""
    data = {
        "s": "createdAt",
        "o": "desc",
        "v": created_at.astimezone(UTC).isoformat(),
        "i": str(last_id),
    }
    return base64.urlsafe_b64encode(orjson.dumps(data)).rstrip(b"=").decode()


def authenticate(request: web.Request) -> int | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    try:
        claims = jwt.decode(
            token.strip(),
            request.app[SECRET],
            algorithms=["HS256"],
            options={"require": ["sub", "typ", "exp"]},
        )
    except jwt.InvalidTokenError:
        return None
    if claims.get("typ") != "access":
        return None
    return int(claims["sub"])


def shape_page(
    workouts: list[asyncpg.Record],
    exercises: list[asyncpg.Record],
    sets: list[asyncpg.Record],
    *,
    next_cursor: str | None,
) -> dict[str, Any]:
    sets_by_exercise: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for item in sets:
        sets_by_exercise[item["exercise_id"]].append(
            {
                "id": str(item["id"]),
                "exerciseId": str(item["exercise_id"]),
                "order": item["order"],
                "value": item["value"],
                "reps": item["reps"],
                "restMinutes": item["rest_minutes"],
            }
        )
    exercises_by_workout: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for item in exercises:
        exercises_by_workout[item["workout_id"]].append(
            {
                "id": str(item["id"]),
                "workoutId": str(item["workout_id"]),
                "type": item["type"],
                "name": item["name"],
                "unit": item["unit"],
                "notes": item["notes"],
                "order": item["order"],
                "setsDetail": sets_by_exercise[item["id"]],
            }
        )
    return {
        "workouts": [
            {
                "id": str(row["id"]),
                "notes": row["notes"],
                "categoryId": str(row["category_id"]),
                "userId": str(row["user_id"]),
                "createdAt": iso(row["created_at"]),
                "updatedAt": iso(row["updated_at"]),
                "category": {
                    "id": str(row["c_id"]),
                    "name": row["c_name"],
                    "color": row["c_color"],
                    "userId": str(row["c_user_id"]),
                    "createdAt": iso(row["c_created_at"]),
                    "updatedAt": iso(row["c_updated_at"]),
                },
                "exercises": exercises_by_workout[row["id"]],
            }
            for row in workouts
        ],
        "pagination": {"hasMore": next_cursor is not None, "nextCursor": next_cursor},
    }


async def list_workouts(request: web.Request) -> web.Response:
    user_id = authenticate(request)
    if user_id is None:
        return error(401, "missing or invalid access token")
    if request.query.keys() - {"limit"}:
        return error(400, "unsupported query parameter: this server takes only limit")
    try:
        limit = int(request.query.get("limit", "20"))
    except ValueError:
        return error(400, "invalid limit: use a whole number from 1 to 100")
    if not 1 <= limit <= 100:
        return error(400, "invalid limit: use a whole number from 1 to 100")

    async with request.app[POOL].acquire() as connection:
        workouts = await connection.fetch(WORKOUTS_SQL, user_id, limit + 1)
        has_more = len(workouts) > limit
        workouts = workouts[:limit]
        ids = [row["id"] for row in workouts]
        sets = await connection.fetch(SETS_SQL, ids)
        exercises = await connection.fetch(EXERCISES_SQL, ids)

    next_cursor = None
    if has_more:
        next_cursor = encode_cursor(workouts[-1]["created_at"], workouts[-1]["id"])
    reply = shape_page(workouts, exercises, sets, next_cursor=next_cursor)
    return web.Response(body=orjson.dumps(reply), content_type="application/json")


async def health(_request: web.Request) -> web.Response:
    return web.Response(body=b'{"status":"ok"}', content_type="application/json")


def create_app(database_url: str, secret: str, *, min_pool: int, max_pool: int) -> web.Application:
    app = web.Application()
    app[SECRET] = secret

    async def open_pool(app: web.Application) -> Any:
        app[POOL] = await asyncpg.create_pool(database_url, min_size=min_pool, max_size=max_pool)
        yield
        await app[POOL].close()

    app.cleanup_ctx.append(open_pool)
    app.router.add_get("/workouts", list_workouts)
    app.router.add_get("/health", health)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the bare GET /workouts ceiling.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8100, help="port to listen on")
    # The server's engine keeps 10 connections and opens up to 10 more under load.
    parser.add_argument("--min-pool", type=int, default=10, help="database connections kept open")
    parser.add_argument("--max-pool", type=int, default=20, help="maximum database connections")
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop")
    args = parser.parse_args()
    if args.uvloop:
        import uvloop

        uvloop.install()
    app = create_app(
        os.environ["DATABASE_URL"],
        os.environ["JWT_SECRET"],
        min_pool=args.min_pool,
        max_pool=args.max_pool,
    )
    web.run_app(app, host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
