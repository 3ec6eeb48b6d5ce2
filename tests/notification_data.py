"""Helpers for the scheduled notification tests: users with preferences and dated workouts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from server.app import SERVICES
from server.services import Services
from storage.models import Category, Exercise, Notification, User, Workout, WorkoutSet
from storage.progress import apply_workout_changes
from tests.helpers import register

Client = TestClient[Any, Any]
# Accounts in these tests exist from this date on, before every week they are summarized for.
REGISTERED = datetime(2026, 1, 1, tzinfo=UTC)


def services_of(client: Client) -> Services:
    return client.app[SERVICES]


async def make_user(client: Client, **preferences: Any) -> dict[str, Any]:
    """Register a user with these preferences; return the login with `userId` added."""
    login = await register(client)
    response = await client.patch("/me/preferences", json=preferences, headers=login["headers"])
    assert response.status == 200, await response.text()
    response = await client.get("/auth/me", headers=login["headers"])
    login["userId"] = int((await response.json())["id"])
    async with services_of(client).db.transaction() as session:
        await session.execute(
            update(User).where(User.id == login["userId"]).values(created_at=REGISTERED)
        )
    return login


async def add_workout(
    client: Client, user_id: int, when: datetime, sets: list[tuple[float, int]]
) -> int:
    """Store a finished workout of squats at `when` and update progress for it."""
    services = services_of(client)
    async with services.db.transaction() as session:
        category = await session.scalar(
            select(Category).where(Category.user_id == user_id, Category.name == "Legs")
        )
        if category is None:
            category = Category(user_id=user_id, name="Legs")
            session.add(category)
            await session.flush()
        workout = Workout(
            user_id=user_id, category_id=category.id, created_at=when, updated_at=when
        )
        session.add(workout)
        await session.flush()
        exercise = Exercise(
            workout_id=workout.id,
            user_id=user_id,
            type="weight",
            name="Squat",
            name_key="squat",
            unit="kg",
            order=1,
        )
        session.add(exercise)
        await session.flush()
        for order, (value, reps) in enumerate(sets, start=1):
            session.add(WorkoutSet(exercise_id=exercise.id, order=order, value=value, reps=reps))
    async with services.db.transaction() as session:
        await apply_workout_changes(
            session, user_id=user_id, workout_ids=[workout.id], announce=False
        )
    return workout.id


async def inbox(client: Client, user_id: int, kind: str) -> list[Notification]:
    async with services_of(client).db.read() as session:
        rows = await session.scalars(
            select(Notification)
            .where(Notification.user_id == user_id, Notification.kind == kind)
            .order_by(Notification.id)
        )
        return list(rows)
