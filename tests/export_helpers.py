"""Helpers for the export tests: sample histories, export requests, waits and downloads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.app import SERVICES
from server.config import Settings
from storage import outbox, workouts
from storage.models import Category, OutboxMessage, User
from storage.workouts import NewExercise, NewSet

Client = TestClient[Any, Any]
# The tasks whose work the export tests read: progress and records, imports and exports.
WAITED_TASKS = ("progress.recompute", "imports.run", "exports.run")


@pytest.fixture
async def tasks_run(settings: Settings) -> AsyncIterator[None]:
    """Run tasks: in process on SQLite, on a worker of this test's loop on PostgreSQL.

    The worker redelivers after 10 seconds rather than the 2 of the other tests, because
    rendering a PDF on a busy machine can take longer than 2 seconds.
    """
    if settings.embedded:
        yield
        return
    from tasks.worker import work

    stop = asyncio.Event()
    patient = settings.model_copy(update={"task_redelivery_seconds": 10.0})
    worker = asyncio.create_task(work(patient, stop))
    yield
    stop.set()
    await asyncio.wait_for(worker, timeout=30)


@dataclass(frozen=True)
class Sample:
    """One workout to store: its category, start time, notes and exercises."""

    category: str
    started: datetime
    exercises: list[NewExercise]
    notes: str | None = None


def weight(name: str, unit: str, sets: list[tuple[float | None, int, float | None]]) -> NewExercise:
    """A weight exercise from (load, reps, rest minutes) triples, in order from 1."""
    return NewExercise(
        type="weight",
        name=name,
        unit=unit,
        notes=None,
        order=1,
        sets=[
            NewSet(order=index, value=value, reps=reps, rest_minutes=rest)
            for index, (value, reps, rest) in enumerate(sets, start=1)
        ],
    )


def measured(kind: str, name: str, unit: str, values: list[float]) -> NewExercise:
    """A time or distance exercise with one set per value, each of 1 rep."""
    return NewExercise(
        type=kind,
        name=name,
        unit=unit,
        notes=None,
        order=1,
        sets=[
            NewSet(order=index, value=value, reps=1, rest_minutes=None)
            for index, value in enumerate(values, start=1)
        ],
    )


async def store_workouts(client: Client, user_id: int, samples: list[Sample]) -> list[int]:
    """Store workouts with their start times in one transaction, as an import does.

    One progress task follows for all of them, without record events, so a long history
    queues one task rather than one per workout.
    """
    services = client.server.app[SERVICES]
    ids = []
    async with services.write() as session:
        for sample in samples:
            category_id = await _category_id(session, user_id, sample.category)
            exercises = [
                replace(exercise, order=position)
                for position, exercise in enumerate(sample.exercises, start=1)
            ]
            detail = await workouts.create_workout(
                session,
                user_id=user_id,
                category_id=category_id,
                notes=sample.notes,
                exercises=exercises,
            )
            detail.workout.created_at = sample.started
            detail.workout.updated_at = sample.started
            ids.append(detail.workout.id)
        await session.flush()
        single = [row.id for row in outbox.pending_rows(session)]
        await session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(single)))
        outbox.add_task(
            session, "progress.recompute", user_id=user_id, workout_ids=ids, announce=False
        )
    return ids


async def _category_id(session: AsyncSession, user_id: int, name: str) -> int:
    category_id = await session.scalar(
        select(Category.id).where(Category.user_id == user_id, Category.name == name)
    )
    if category_id is not None:
        return int(category_id)
    category = Category(user_id=user_id, name=name)
    session.add(category)
    await session.flush()
    return category.id


async def set_preferences(client: Client, user_id: int, *, timezone: str, unit: str) -> None:
    async with client.server.app[SERVICES].db.transaction() as session:
        await session.execute(
            update(User).where(User.id == user_id).values(timezone=timezone, unit=unit)
        )


async def wait_for_tasks(client: Client, names: tuple[str, ...] = WAITED_TASKS) -> None:
    """Wait, for at most 30 seconds, until the queued tasks of `names` have run.

    A task's outbox row is deleted once the task has run.
    """
    db = client.server.app[SERVICES].db
    async with asyncio.timeout(30):
        while True:
            async with db.read() as session:
                payloads = await session.scalars(
                    select(OutboxMessage.payload).where(OutboxMessage.kind == "task")
                )
                waiting = [payload for payload in payloads if payload.get("task") in names]
            if not waiting:
                return
            await asyncio.sleep(0.1)


async def wait_for_job(client: Client, headers: dict[str, str], job_id: str) -> dict[str, Any]:
    """Poll the job until it has finished, for at most 30 seconds."""
    async with asyncio.timeout(30):
        while True:
            response = await client.get(f"/jobs/{job_id}", headers=headers)
            assert response.status == 200, await response.text()
            job: dict[str, Any] = await response.json()
            if job["state"] in ("succeeded", "failed"):
                return job
            await asyncio.sleep(0.1)


async def export(client: Client, headers: dict[str, str], fmt: str) -> dict[str, Any]:
    """Start an export and return the finished job."""
    response = await client.post("/exports", json={"format": fmt}, headers=headers)
    assert response.status == 202, await response.text()
    return await wait_for_job(client, headers, (await response.json())["jobId"])


async def download(client: Client, headers: dict[str, str], job: dict[str, Any]) -> bytes:
    response = await client.get(job["result"]["downloadUrl"], headers=headers)
    assert response.status == 200, await response.text()
    return await response.read()
