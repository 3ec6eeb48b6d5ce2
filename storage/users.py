"""Users and their refresh tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import RefreshToken, User
from storage.types import utcnow


class EmailTaken(Exception):
    pass


async def get_user_by_email(session: AsyncSession, *, email: str) -> User | None:
    result = await session.execute(select(User).where(User.email == email))
    return result.scalar_one_or_none()


async def get_user(session: AsyncSession, *, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def create_user(session: AsyncSession, *, email: str, password_hash: str) -> User:
    """Insert a user; raise EmailTaken if the email is registered already."""
    user = User(email=email, password_hash=password_hash)
    try:
        async with session.begin_nested():
            session.add(user)
            await session.flush()
    except IntegrityError:
        raise EmailTaken(email) from None
    return user


async def set_password(session: AsyncSession, *, user_id: int, password_hash: str) -> None:
    """Change a password and revoke every refresh token of the user."""
    now = utcnow()
    await session.execute(
        update(User).where(User.id == user_id).values(password_hash=password_hash, updated_at=now)
    )
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def create_refresh_token(
    session: AsyncSession, *, user_id: int, token_hash: str, expires_at: datetime
) -> None:
    session.add(RefreshToken(user_id=user_id, token_hash=token_hash, expires_at=expires_at))


async def get_live_refresh_token(session: AsyncSession, *, token_hash: str) -> RefreshToken | None:
    """Return the stored token if it exists, is unrevoked and unexpired."""
    result = await session.execute(
        select(RefreshToken).where(
            RefreshToken.token_hash == token_hash,
            RefreshToken.revoked_at.is_(None),
            RefreshToken.expires_at > utcnow(),
        )
    )
    return result.scalar_one_or_none()


async def revoke_refresh_token(session: AsyncSession, *, token_hash: str) -> bool:
    result = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.token_hash == token_hash, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def set_user_role(session: AsyncSession, *, email: str, role: str) -> bool:
    """Set the role of the user with this email; return False when there is no such user."""
    result = await session.execute(
        update(User).where(User.email == email).values(role=role, updated_at=utcnow())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
