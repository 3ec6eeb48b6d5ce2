"""Account preferences: time zone, display unit, reminder schedule and notification switches."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from server.errors import NotFound
from storage import outbox
from storage.models import User
from storage.types import utcnow

# The User columns a preferences update may change.
PREFERENCE_COLUMNS = frozenset(
    {
        "timezone",
        "unit",
        "reminder_days",
        "reminder_time",
        "notify_achievements",
        "notify_reminders",
        "notify_weekly_summary",
        "notify_email",
    }
)


async def get_preferences(session: AsyncSession, *, user_id: int) -> User:
    """Return the user's row, which holds the preferences, or raise NotFound."""
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("account not found: it may have been deleted")
    return user


async def update_preferences(
    session: AsyncSession, *, user_id: int, changes: dict[str, Any]
) -> User:
    """Set the given preference columns and return the updated user."""
    unknown = set(changes) - PREFERENCE_COLUMNS
    if unknown:
        raise ValueError(f"not preference columns: {sorted(unknown)}")
    user = await get_preferences(session, user_id=user_id)
    if "timezone" in changes and changes["timezone"] != user.timezone:
        # Days and weeks are local to the user's zone, so they are counted again.
        outbox.add_task(session, "analytics.rebuild", user_id=user_id)
    for column, value in changes.items():
        setattr(user, column, value)
    if changes:
        user.updated_at = utcnow()
    await session.flush()
    return user
