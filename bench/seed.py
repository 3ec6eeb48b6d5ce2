"""Create the benchmark database: one user with 10,000 workouts of 4 exercises x 4 sets each.

The database is dropped and created again on every run, migrated with the project's own
migrations, and filled with bulk COPY. The user and the categories are created through the
storage functions, so the password hash is a real argon2 hash and login works as usual.

    bench/.venv/bin/python bench/seed.py
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from server.passwords import hash_password
from storage import categories, users
from storage.db import Database
from storage.migrate import upgrade
from storage.names import normalize_exercise_name

SERVER_URL = "postgresql://postgres@127.0.0.1:5432"
DATABASE = "nappatzim_bench"
EMAIL = "bench@example.com"
PASSWORD = "bench-password-1"

WORKOUTS = 10_000
EXERCISES_PER_WORKOUT = 4
SETS_PER_EXERCISE = 4
CATEGORIES = (("Push", "#e4572e"), ("Pull", "#29335c"), ("Legs", "#f3a712"), ("Cardio", None))
# (name, type, unit) of the exercises the workouts draw from.
EXERCISE_CATALOG = (
    ("Bench Press", "weight", "kg"),
    ("Squat", "weight", "kg"),
    ("Deadlift", "weight", "kg"),
    ("Overhead Press", "weight", "kg"),
    ("Barbell Row", "weight", "kg"),
    ("Pull Up", "weight", "kg"),
    ("Dumbbell Curl", "weight", "lb"),
    ("Leg Press", "weight", "kg"),
    ("Plank", "time", "seconds"),
    ("Rowing Machine", "time", "minutes"),
    ("Run", "distance", "km"),
    ("Swim", "distance", "m"),
)
# A workout shares its created_at with the next one at this rate, as imported workouts with
# minute-precision dates do, so the keyset order depends on the id tie-break.
SHARED_TIMESTAMP_RATE = 0.4
# This share of workouts gets ids out of time order, as workouts imported late do.
OUT_OF_ORDER_RATE = 0.1

WORKOUT_COLUMNS = ("id", "user_id", "category_id", "notes", "created_at", "updated_at")
EXERCISE_COLUMNS = (
    "id",
    "workout_id",
    "user_id",
    "type",
    "name",
    "name_key",
    "unit",
    "notes",
    "order",
)
SET_COLUMNS = ("id", "exercise_id", "order", "value", "reps", "rest_minutes")


@dataclass
class Rows:
    workouts: list[tuple[object, ...]]
    exercises: list[tuple[object, ...]]
    sets: list[tuple[object, ...]]


def database_url(database: str = DATABASE) -> str:
    return f"{SERVER_URL}/{database}"


async def recreate_database(database: str) -> None:
    """Drop the database, ending its sessions, and create it empty."""
    if not database.startswith(DATABASE):
        raise SystemExit(f"invalid database name {database!r}: it must start with {DATABASE}")
    connection = await asyncpg.connect(f"{SERVER_URL}/postgres")
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{database}"')
    finally:
        await connection.close()


async def create_account(url: str) -> tuple[int, list[int]]:
    """Create the user and its categories with the storage functions; return their ids."""
    db = Database(url.replace("postgresql://", "postgresql+asyncpg://", 1))
    try:
        password_hash = await hash_password(PASSWORD)
        async with db.transaction() as session:
            user = await users.create_user(session, email=EMAIL, password_hash=password_hash)
            category_ids = []
            for name, color in CATEGORIES:
                category = await categories.create_category(
                    session, user_id=user.id, name=name, color=color
                )
                category_ids.append(category.id)
        return user.id, category_ids
    finally:
        await db.dispose()


def timestamps(count: int, rng: random.Random) -> list[datetime]:
    """Return `count` ascending minute-precision times, with runs of equal ones."""
    moment = datetime(2017, 1, 2, 6, 30, tzinfo=UTC)
    result = []
    for _ in range(count):
        result.append(moment)
        if rng.random() >= SHARED_TIMESTAMP_RATE:
            moment += timedelta(minutes=rng.randint(3 * 60, 20 * 60))
    return result


def out_of_order(ids: Sequence[int], rng: random.Random) -> list[int]:
    """Shuffle a share of the ids among their own positions, leaving the rest in order."""
    result = list(ids)
    positions = rng.sample(range(len(result)), int(len(result) * OUT_OF_ORDER_RATE))
    moved = [result[index] for index in positions]
    rng.shuffle(moved)
    for index, value in zip(positions, moved, strict=True):
        result[index] = value
    return result


def build_rows(
    *,
    user_id: int,
    category_ids: Sequence[int],
    workout_ids: Sequence[int],
    exercise_ids: Sequence[int],
    set_ids: Sequence[int],
    rng: random.Random,
) -> Rows:
    rows = Rows([], [], [])
    exercise_index = 0
    set_index = 0
    created = timestamps(len(workout_ids), rng)
    for workout_id, created_at in zip(out_of_order(workout_ids, rng), created, strict=True):
        edited = rng.random() < 0.2
        updated_at = created_at + timedelta(days=rng.randint(0, 30)) if edited else created_at
        notes = rng.choice((None, None, "felt strong", "short on time, skipped the warm-up"))
        rows.workouts.append(
            (workout_id, user_id, rng.choice(category_ids), notes, created_at, updated_at)
        )
        for order, (name, kind, unit) in enumerate(
            rng.sample(EXERCISE_CATALOG, EXERCISES_PER_WORKOUT), start=1
        ):
            exercise_id = exercise_ids[exercise_index]
            exercise_index += 1
            exercise_notes = "paused reps" if rng.random() < 0.1 else None
            rows.exercises.append(
                (
                    exercise_id,
                    workout_id,
                    user_id,
                    kind,
                    name,
                    normalize_exercise_name(name),
                    unit,
                    exercise_notes,
                    order,
                )
            )
            for set_order in range(1, SETS_PER_EXERCISE + 1):
                value = round(rng.uniform(5, 180), 1) if rng.random() > 0.05 else None
                rest = rng.choice((None, 1.0, 1.5, 2.0, 3.0))
                rows.sets.append(
                    (set_ids[set_index], exercise_id, set_order, value, rng.randint(1, 15), rest)
                )
                set_index += 1
    return rows


async def reserve_ids(connection: asyncpg.Connection, table: str, count: int) -> list[int]:
    """Take `count` ids from the table's own sequence, so later inserts do not collide."""
    rows = await connection.fetch(
        "SELECT nextval(pg_get_serial_sequence($1, 'id')) FROM generate_series(1, $2)",
        table,
        count,
    )
    return [row[0] for row in rows]


async def fill(url: str, *, user_id: int, category_ids: Sequence[int], seed: int) -> Rows:
    connection = await asyncpg.connect(url)
    try:
        exercise_count = WORKOUTS * EXERCISES_PER_WORKOUT
        rows = build_rows(
            user_id=user_id,
            category_ids=category_ids,
            workout_ids=await reserve_ids(connection, "workouts", WORKOUTS),
            exercise_ids=await reserve_ids(connection, "exercises", exercise_count),
            set_ids=await reserve_ids(connection, "sets", exercise_count * SETS_PER_EXERCISE),
            rng=random.Random(seed),
        )
        async with connection.transaction():
            await connection.copy_records_to_table(
                "workouts", records=rows.workouts, columns=WORKOUT_COLUMNS
            )
            await connection.copy_records_to_table(
                "exercises", records=rows.exercises, columns=EXERCISE_COLUMNS
            )
            await connection.copy_records_to_table("sets", records=rows.sets, columns=SET_COLUMNS)
        # Fresh statistics and visibility map, so the planner sees the data as a live database.
        await connection.execute("VACUUM ANALYZE")
        return rows
    finally:
        await connection.close()


async def seed(database: str, *, seed_value: int) -> None:
    started = time.monotonic()
    await recreate_database(database)
    url = database_url(database)
    # Alembic's environment runs its own event loop, so it cannot run on this one.
    await asyncio.to_thread(upgrade, url.replace("postgresql://", "postgresql+asyncpg://", 1))
    user_id, category_ids = await create_account(url)
    rows = await fill(url, user_id=user_id, category_ids=category_ids, seed=seed_value)
    print(
        f"seeded {database}: user {EMAIL} (id {user_id}), {len(category_ids)} categories, "
        f"{len(rows.workouts)} workouts, {len(rows.exercises)} exercises, {len(rows.sets)} sets "
        f"in {time.monotonic() - started:.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database", default=DATABASE, help=f"database to drop and create (default {DATABASE})"
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed of the generated data")
    args = parser.parse_args()
    asyncio.run(seed(args.database, seed_value=args.seed))


if __name__ == "__main__":
    main()
