"""Helpers for the categories and workouts API tests: requests, sample bodies, row counts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import delete, func, select, update
from taskiq import InMemoryBroker

from server.app import SERVICES
from storage import outbox, workouts
from storage.db import Database
from storage.models import Category, Exercise, OutboxMessage, Workout, WorkoutSet
from storage.workouts import NewExercise, NewSet

Client = TestClient[Any, Any]
Login = dict[str, Any]

# The worked example of the progress rules: volume 1527.5 kg, 30 reps, 4 sets, top load 102.5.
WORKED_EXAMPLE_SETS = [
    {"order": 1, "value": 100, "reps": 5, "restMinutes": 2},
    {"order": 2, "value": 102.5, "reps": 3, "restMinutes": 2},
    {"order": 3, "value": 60, "reps": 12, "restMinutes": 1.5},
    {"order": 4, "value": None, "reps": 10},
]


def bench(sets: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    exercise: dict[str, Any] = {"type": "weight", "name": "Bench Press", "unit": "kg", "order": 1}
    exercise["setsDetail"] = WORKED_EXAMPLE_SETS if sets is None else sets
    exercise.update(extra)
    return exercise


def database(client: Client) -> Database:
    return client.app[SERVICES].db


async def create_category(
    client: Client, login: Login, name: str = "Push", color: str | None = "#ff0000"
) -> str:
    response = await client.post(
        "/categories", json={"name": name, "color": color}, headers=login["headers"]
    )
    assert response.status == 201, await response.text()
    category_id: str = (await response.json())["id"]
    return category_id


async def create_workout(
    client: Client,
    login: Login,
    category_id: str,
    exercises: list[dict[str, Any]] | None = None,
    notes: str | None = None,
) -> dict[str, Any]:
    body = {"categoryId": category_id, "notes": notes, "exercises": exercises or [bench()]}
    response = await client.post("/workouts", json=body, headers=login["headers"])
    assert response.status == 201, await response.text()
    workout: dict[str, Any] = await response.json()
    return workout


async def count_rows(client: Client) -> dict[str, int]:
    """Count the rows of every table a workouts or categories write touches.

    In the embedded mode the progress tasks of earlier writes run in process and add outbox
    rows of their own, so they are awaited first.
    """
    broker = client.server.app[SERVICES].broker
    if isinstance(broker, InMemoryBroker):
        await broker.wait_all()
    counts = {}
    async with database(client).read(primary=True) as session:
        for model in (Category, Workout, Exercise, WorkoutSet, OutboxMessage):
            table = model.__table__
            counts[table.name] = await session.scalar(select(func.count()).select_from(table))
    return counts


async def insert_workouts(
    client: Client,
    login: Login,
    category_id: str,
    count: int,
    *,
    created_at: datetime | None = None,
) -> list[str]:
    """Insert workouts through the storage layer, optionally all with one timestamp.

    Their outbox rows are deleted in the same transaction, so no background job runs on them
    while the test measures or pages.
    """
    user_id = int(login["userId"])
    exercise = NewExercise(
        type="weight",
        name="Squat",
        unit="kg",
        notes=None,
        order=1,
        sets=[NewSet(order=1, value=100.0, reps=5, rest_minutes=None)],
    )
    ids = []
    async with database(client).transaction() as session:
        for _ in range(count):
            detail = await workouts.create_workout(
                session,
                user_id=user_id,
                category_id=int(category_id),
                notes=None,
                exercises=[exercise, exercise],
            )
            ids.append(detail.workout.id)
        if created_at is not None:
            await session.execute(
                update(Workout)
                .where(Workout.id.in_(ids))
                .values(created_at=created_at, updated_at=created_at)
            )
        await session.flush()
        added = [row.id for row in outbox.pending_rows(session)]
        await session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(added)))
    return [str(item) for item in ids]
