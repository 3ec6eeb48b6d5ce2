"""Grants that let users watch another user's live session."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.errors import Conflict, NotFound, ValidationFailed
from storage import users
from storage.models import WORKOUT_LIVE, SessionGrant, User, Workout
from storage.sessions import get_owned_session


@dataclass(frozen=True)
class Watcher:
    user_id: int
    email: str
    created_at: datetime


async def list_watchers(session: AsyncSession, *, user_id: int, session_id: int) -> list[Watcher]:
    """Return the watchers of the user's session, oldest grant first."""
    await get_owned_session(session, user_id=user_id, session_id=session_id)
    return await list_session_watchers(session, session_id=session_id)


async def add_watcher(
    session: AsyncSession, *, user_id: int, session_id: int, email: str
) -> Watcher:
    """Let the user with `email` watch the user's live session."""
    await get_owned_session(session, user_id=user_id, session_id=session_id, live=True)
    watcher = await users.get_user_by_email(session, email=email)
    if watcher is None:
        raise NotFound(f"user not found: no account has the email {email!r}")
    if watcher.id == user_id:
        raise ValidationFailed.field("email", "invalid: the owner of a session cannot watch it")
    grant = SessionGrant(workout_id=session_id, watcher_id=watcher.id)
    # The savepoint keeps the transaction usable after a duplicate, also when two requests race.
    try:
        async with session.begin_nested():
            session.add(grant)
            await session.flush()
    except IntegrityError:
        raise Conflict(f"{email} already watches this session") from None
    return Watcher(watcher.id, watcher.email, grant.created_at)


async def remove_watcher(
    session: AsyncSession, *, user_id: int, session_id: int, watcher_id: int
) -> None:
    """Revoke one watcher's grant on the user's session, live or finished."""
    await get_owned_session(session, user_id=user_id, session_id=session_id)
    removed = await session.scalar(
        delete(SessionGrant)
        .where(SessionGrant.workout_id == session_id, SessionGrant.watcher_id == watcher_id)
        .returning(SessionGrant.id)
    )
    if removed is None:
        raise NotFound("watcher not found: this user has no grant on the session")


async def list_watcher_ids(session: AsyncSession, *, session_id: int) -> list[int]:
    """Return the ids of the users allowed to watch the session, as read in this transaction."""
    result = await session.scalars(
        select(SessionGrant.watcher_id)
        .where(SessionGrant.workout_id == session_id)
        .order_by(SessionGrant.watcher_id)
    )
    return list(result)


async def live_session_watchers(
    session: AsyncSession, *, user_id: int, workout_ids: Iterable[int]
) -> dict[int, list[int]]:
    """Return, for each of the user's workouts that is a live session, its watchers' ids."""
    ids = set(workout_ids)
    if not ids:
        return {}
    result = await session.execute(
        select(Workout.id, SessionGrant.watcher_id)
        .outerjoin(SessionGrant, SessionGrant.workout_id == Workout.id)
        .where(Workout.id.in_(ids), Workout.user_id == user_id, Workout.status == WORKOUT_LIVE)
        .order_by(Workout.id, SessionGrant.watcher_id)
    )
    sessions: dict[int, list[int]] = {}
    for workout_id, watcher_id in result.tuples():
        watchers = sessions.setdefault(workout_id, [])
        if watcher_id is not None:
            watchers.append(watcher_id)
    return sessions


async def list_session_watchers(session: AsyncSession, *, session_id: int) -> list[Watcher]:
    """Return a session's watchers with no access check, which callers make first."""
    result = await session.execute(
        select(User.id, User.email, SessionGrant.created_at)
        .join(SessionGrant, SessionGrant.watcher_id == User.id)
        .where(SessionGrant.workout_id == session_id)
        .order_by(SessionGrant.created_at, SessionGrant.id)
    )
    return [Watcher(row.id, row.email, row.created_at) for row in result]
