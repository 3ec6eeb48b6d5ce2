"""Measure import throughput: a generated Strong file through the whole import job.

The file has 2,500 workouts of 5 exercises with 8 sets each, 100,000 set rows, drawn from a
catalog of 20 exercises with loads that rise over the years. The script uploads it as a user
would and runs the import job and the progress job it queues, in this process, on PostgreSQL:
parse, the bulk write, then per-exercise totals and personal records. It prints rows per
second of the whole run and the time of each phase, then imports the same file again, which
must add nothing.

    .venv/bin/python bench/import_speed.py                 # 100,000 rows, PostgreSQL
    .venv/bin/python bench/import_speed.py --profile out   # also write cProfile stats

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust). Each run uses a fresh schema in the
database `nappatzim_bench_import` and drops it at the end. No Redis: tasks run in process.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import csv
import io
import json
import platform
import random
import sys
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server.config import Settings  # noqa: E402
from server.services import Services  # noqa: E402
from storage import jobs  # noqa: E402
from storage.db import create_engine  # noqa: E402
from storage.models import Base, Exercise, PersonalRecord, User, Workout, WorkoutSet  # noqa: E402

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
DATABASE = "nappatzim_bench_import"
DATABASE_URL = f"postgresql://postgres@127.0.0.1:5432/{DATABASE}"
HEADER = (
    "Date,Workout Name,Duration,Exercise Name,Set Order,Weight,Reps,Distance,Seconds,"
    "Notes,Workout Notes,RPE"
)
WORKOUT_NAMES = ("Push", "Pull", "Legs", "Upper", "Full Body")
# (name, starting load in kg) of the exercises workouts draw from.
CATALOG = (
    ("Bench Press (Barbell)", 60.0),
    ("Squat (Barbell)", 80.0),
    ("Deadlift (Barbell)", 100.0),
    ("Overhead Press (Barbell)", 40.0),
    ("Bent Over Row (Barbell)", 60.0),
    ("Incline Bench Press (Dumbbell)", 22.5),
    ("Lat Pulldown (Cable)", 50.0),
    ("Leg Press", 120.0),
    ("Romanian Deadlift (Barbell)", 70.0),
    ("Bicep Curl (Dumbbell)", 12.5),
    ("Triceps Pushdown (Cable - Straight Bar)", 25.0),
    ("Lateral Raise (Dumbbell)", 8.0),
    ("Leg Curl (Machine)", 40.0),
    ("Leg Extension (Machine)", 45.0),
    ("Chest Fly (Cable)", 15.0),
    ("Face Pull (Cable)", 20.0),
    ("Hip Thrust (Barbell)", 80.0),
    ("Seated Row (Cable)", 55.0),
    ("Shrug (Dumbbell)", 30.0),
    ("Calf Raise (Machine)", 60.0),
)


def generate_strong_csv(*, workouts: int, exercises: int, sets: int, seed: int = 7) -> bytes:
    """Return a Strong export of `workouts` x `exercises` x `sets` set rows, no rest rows."""
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    out.write(HEADER + "\n")
    start = datetime(2018, 1, 1, 7, 0)
    for number in range(workouts):
        day = start + timedelta(days=number * 0.8, minutes=rng.randrange(0, 600))
        date = day.strftime("%Y-%m-%d %H:%M:%S")
        name = WORKOUT_NAMES[number % len(WORKOUT_NAMES)]
        notes = "Felt strong" if rng.random() < 0.1 else ""
        growth = 1 + 0.6 * number / workouts
        for exercise_name, base in rng.sample(CATALOG, exercises):
            top = round(base * growth * rng.uniform(0.9, 1.05) / 2.5) * 2.5
            for order in range(1, sets + 1):
                load = top if order > 2 else top * (0.5 if order == 1 else 0.75)
                reps = rng.randint(3, 12) if order > 2 else 10
                rpe = rng.choice(("", "", "7", "8", "8.5", "9"))
                writer.writerow(
                    [
                        date,
                        name,
                        "1h 5m",
                        exercise_name,
                        order,
                        f"{load:g}",
                        f"{reps}.0",
                        0,
                        "0.0",
                        "",
                        notes if order == 1 else "",
                        rpe,
                    ]
                )
    return out.getvalue().encode()


@dataclass
class Figures:
    rows: int
    seconds: float
    rows_per_second: float
    import_job_seconds: float
    """Upload stored, parsed and written, job finished; the rest is the progress job."""
    workouts: int
    sets: int
    records: int
    second_import_seconds: float
    second_import_workouts: int


async def create_database() -> None:
    connection = await asyncpg.connect(ADMIN_DSN)
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE)
        if not exists:
            await connection.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await connection.close()


async def create_schema(schema: str) -> None:
    engine = create_engine(DATABASE_URL.replace("postgresql://", "postgresql+asyncpg://"))
    async with engine.begin() as connection:
        await connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    await engine.dispose()
    engine = create_engine(
        DATABASE_URL.replace("postgresql://", "postgresql+asyncpg://"), schema=schema
    )
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    await engine.dispose()


async def drop_schema(schema: str) -> None:
    connection = await asyncpg.connect(DATABASE_URL)
    try:
        await connection.execute(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        await connection.close()


async def run_import(services: Services, user_id: int, data: bytes) -> tuple[dict[str, Any], float]:
    """Queue an import job as POST /imports does; wait until it and its follow-ups end.

    Returns the job's result and the seconds until the job itself had finished, before the
    progress job it queued.
    """
    started = time.perf_counter()
    params = {"format": "strong", "unit": "kg", "filename": "bench.csv"}
    async with services.write() as session:
        job = await jobs.create_import_job(
            session, user_id=user_id, params=params, filename="bench.csv", content=data
        )
    while True:
        async with services.db.read() as session:
            state = await jobs.get_job(session, job_id=job.id)
        assert state is not None
        if state.state in jobs.FINISHED:
            break
        await asyncio.sleep(0.01)
    job_seconds = time.perf_counter() - started
    await services.broker.wait_all()  # type: ignore[attr-defined]
    if state.state != jobs.SUCCEEDED:
        raise RuntimeError(f"import job failed: {state.error}")
    assert state.result is not None
    return state.result, job_seconds


async def count(services: Services, statement: Any) -> int:
    async with services.db.read() as session:
        return int((await session.execute(statement)).scalar_one())


async def measure(args: argparse.Namespace) -> Figures:
    data = generate_strong_csv(workouts=args.workouts, exercises=args.exercises, sets=args.sets)
    rows = args.workouts * args.exercises * args.sets
    await create_database()
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    await create_schema(schema)
    settings = Settings(
        database_url=DATABASE_URL,
        database_schema=schema,
        jwt_secret="bench-secret-that-is-long-enough-for-hs256",
        log_level="WARNING",
    )
    services = Services(settings)
    await services.start()
    try:
        async with services.db.transaction() as session:
            user = User(email="bench@example.com", password_hash="not used")
            session.add(user)
            await session.flush()
            user_id = user.id

        profiler = cProfile.Profile() if args.profile else None
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        first, job_seconds = await run_import(services, user_id, data)
        if profiler:
            profiler.disable()
        seconds = time.perf_counter() - started

        again = time.perf_counter()
        second, _ = await run_import(services, user_id, data)
        second_seconds = time.perf_counter() - again

        if profiler:
            profiler.dump_stats(args.profile)
        sets = await count(
            services,
            select(func.count())
            .select_from(WorkoutSet)
            .join(Exercise, Exercise.id == WorkoutSet.exercise_id)
            .where(Exercise.user_id == user_id),
        )
        workouts = await count(
            services, select(func.count()).select_from(Workout).where(Workout.user_id == user_id)
        )
        records = await count(
            services,
            select(func.count())
            .select_from(PersonalRecord)
            .where(PersonalRecord.user_id == user_id),
        )
        assert first["sets"] == rows == sets, (first, sets)
        assert second["workouts"] == 0, second
        return Figures(
            rows=rows,
            seconds=round(seconds, 3),
            rows_per_second=round(rows / seconds),
            import_job_seconds=round(job_seconds, 3),
            workouts=workouts,
            sets=sets,
            records=records,
            second_import_seconds=round(second_seconds, 3),
            second_import_workouts=second["workouts"],
        )
    finally:
        await services.stop()
        await drop_schema(schema)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workouts", type=int, default=2500)
    parser.add_argument("--exercises", type=int, default=5, help="exercises per workout")
    parser.add_argument("--sets", type=int, default=8, help="sets per exercise")
    parser.add_argument("--rounds", type=int, default=1, help="measured runs, each on a new schema")
    parser.add_argument("--profile", help="write cProfile stats of the first run to this file")
    args = parser.parse_args()
    results = []
    for _ in range(args.rounds):
        figures = asyncio.run(measure(args))
        results.append(figures)
        print(json.dumps(asdict(figures)))
    best = max(results, key=lambda f: f.rows_per_second)
    print(
        f"{best.rows} rows in {best.seconds:.2f} s: {best.rows_per_second} rows/s "
        f"(best of {len(results)}; {platform.python_version()}, {platform.machine()})"
    )


if __name__ == "__main__":
    main()
