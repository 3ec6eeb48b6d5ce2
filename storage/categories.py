"""Queries on a user's workout categories."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.errors import Conflict, NotFound
from storage import outbox
from storage.models import WORKOUT_FINISHED, WORKOUT_LIVE, Category, Workout
from storage.types import utcnow

# The name under which tasks.registry registers the progress task.
RECOMPUTE_PROGRESS = "progress.recompute"


@dataclass(frozen=True)
class CategoryCount:
    category: Category
    workouts: int


class Keep:
    """The type of KEEP, the default of an optional field the caller leaves unchanged."""


KEEP = Keep()


async def list_categories(session: AsyncSession, *, user_id: int) -> list[CategoryCount]:
    """Return the user's categories by name, each with its number of finished workouts."""
    counts = (
        select(Workout.category_id, func.count().label("workouts"))
        .where(Workout.user_id == user_id, Workout.status == WORKOUT_FINISHED)
        .group_by(Workout.category_id)
        .subquery()
    )
    result = await session.execute(
        select(Category, func.coalesce(counts.c.workouts, 0))
        .outerjoin(counts, counts.c.category_id == Category.id)
        .where(Category.user_id == user_id)
        # lower() first so both back ends sort alike whatever their collation.
        .order_by(func.lower(Category.name), Category.name, Category.id)
    )
    return [CategoryCount(category, count) for category, count in result.tuples()]


async def get_category(
    session: AsyncSession, *, user_id: int, category_id: int, lock: bool = False
) -> Category:
    """Return the user's category or raise NotFound, also for another user's id.

    With `lock`, the row is held in key-share mode until commit, so it cannot be deleted
    while the caller adds workouts to it.
    """
    query = select(Category).where(Category.id == category_id, Category.user_id == user_id)
    if lock:
        query = query.with_for_update(key_share=True, read=True)
    category = await session.scalar(query)
    if category is None:
        raise NotFound("category not found")
    return category


async def count_workouts(session: AsyncSession, *, category_id: int) -> int:
    """Count the category's finished workouts, leaving out live sessions."""
    count = await session.scalar(
        select(func.count())
        .select_from(Workout)
        .where(Workout.category_id == category_id, Workout.status == WORKOUT_FINISHED)
    )
    return count or 0


async def create_category(
    session: AsyncSession, *, user_id: int, name: str, color: str | None
) -> Category:
    now = utcnow()
    category = Category(user_id=user_id, created_at=now, updated_at=now)
    await _save_unique_name(session, category, {"name": name, "color": color})
    return category


async def update_category(
    session: AsyncSession,
    *,
    user_id: int,
    category_id: int,
    name: str | None = None,
    color: str | None | Keep = KEEP,
) -> Category:
    """Change the given fields of the user's category, raising Conflict on a duplicate name."""
    query = (
        select(Category)
        .where(Category.id == category_id, Category.user_id == user_id)
        .with_for_update()
    )
    category = await session.scalar(query)
    if category is None:
        raise NotFound("category not found")
    changes: dict[str, object] = {"updated_at": utcnow()}
    if name is not None:
        changes["name"] = name
    if not isinstance(color, Keep):
        changes["color"] = color
    await _save_unique_name(session, category, changes)
    return category


async def delete_category(session: AsyncSession, *, user_id: int, category_id: int) -> list[int]:
    """Delete the user's category with its workouts, and return the ids of those workouts.

    Queues a progress recomputation for the deleted workouts in the same transaction. A live
    session in the category raises Conflict: it is finished first, as a workout would be.
    """
    # Locked for update, so no session starts in the category until this transaction ends.
    found = await session.scalar(
        select(Category.id)
        .where(Category.id == category_id, Category.user_id == user_id)
        .with_for_update()
    )
    if found is None:
        raise NotFound("category not found")
    rows = (
        await session.execute(
            select(Workout.id, Workout.status).where(
                Workout.category_id == category_id, Workout.user_id == user_id
            )
        )
    ).all()
    live = [workout_id for workout_id, status in rows if status == WORKOUT_LIVE]
    if live:
        raise Conflict(
            f"category has a live session: finish it with POST /sessions/{live[0]}/finish, "
            "then delete the category"
        )
    workout_ids = [workout_id for workout_id, _ in rows]
    # Exercises and sets go with their workouts through ON DELETE CASCADE.
    await session.execute(delete(Workout).where(Workout.category_id == category_id))
    await session.execute(
        delete(Category).where(Category.id == category_id, Category.user_id == user_id)
    )
    if workout_ids:
        outbox.add_task(session, RECOMPUTE_PROGRESS, user_id=user_id, workout_ids=workout_ids)
    return workout_ids


async def _save_unique_name(
    session: AsyncSession, category: Category, changes: dict[str, object]
) -> None:
    """Apply `changes` to the category and write it, raising Conflict on a duplicate name."""
    name = changes.get("name", category.name)
    # The savepoint keeps the outer transaction usable after a unique violation, and catching
    # the violation, rather than checking first, also covers two requests racing each other.
    try:
        async with session.begin_nested():
            for key, value in changes.items():
                setattr(category, key, value)
            session.add(category)
    except IntegrityError:
        raise Conflict(f"category {name!r} already exists") from None
