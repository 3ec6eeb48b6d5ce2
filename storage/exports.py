"""Export jobs and the files they make, kept in the database so any instance can serve them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import LargeBinary, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import jobs
from storage.models import ExportFile, Job
from storage.types import utcnow

EXPORT_KIND = "export"


@dataclass(frozen=True)
class ExportFileInfo:
    """An export file without its content."""

    id: int
    job_id: str
    user_id: int
    filename: str
    content_type: str
    size: int
    created_at: datetime
    expires_at: datetime


async def create_export_job(session: AsyncSession, *, user_id: int, fmt: str, task: str) -> Job:
    """Insert a queued export job and the outbox task `task` that runs it."""
    return await jobs.create_job(
        session, user_id=user_id, kind=EXPORT_KIND, params={"format": fmt}, task_name=task
    )


async def create_export_file(
    session: AsyncSession,
    *,
    job_id: str,
    user_id: int,
    filename: str,
    content_type: str,
    content: bytes,
    expires_at: datetime,
) -> ExportFile:
    row = ExportFile(
        job_id=job_id,
        user_id=user_id,
        filename=filename,
        content_type=content_type,
        content=content,
        created_at=utcnow(),
        expires_at=expires_at,
    )
    session.add(row)
    await session.flush()
    return row


async def get_export_file_info(
    session: AsyncSession, *, job_id: str, user_id: int
) -> ExportFileInfo | None:
    """Return the user's file of an export job, expired or not, without reading its content."""
    row = (
        await session.execute(
            select(
                ExportFile.id,
                ExportFile.job_id,
                ExportFile.user_id,
                ExportFile.filename,
                ExportFile.content_type,
                func.length(ExportFile.content).label("size"),
                ExportFile.created_at,
                ExportFile.expires_at,
            ).where(ExportFile.job_id == job_id, ExportFile.user_id == user_id)
        )
    ).first()
    if row is None:
        return None
    return ExportFileInfo(
        id=row.id,
        job_id=row.job_id,
        user_id=row.user_id,
        filename=row.filename,
        content_type=row.content_type,
        size=int(row.size),
        created_at=row.created_at,
        expires_at=row.expires_at,
    )


async def read_export_chunk(
    session: AsyncSession, *, file_id: int, offset: int, size: int
) -> bytes:
    """Return `size` bytes of a file's content from the 0-based `offset`, or fewer at its end.

    SUBSTR on PostgreSQL's bytea and on SQLite's blob counts bytes from 1, so a download
    reads the file piece by piece instead of holding all of it.
    """
    chunk = await session.scalar(
        select(func.substr(ExportFile.content, offset + 1, size, type_=LargeBinary)).where(
            ExportFile.id == file_id
        )
    )
    return bytes(chunk or b"")


async def delete_expired_export_files(session: AsyncSession, *, now: datetime) -> int:
    """Delete the files whose expiry time has passed and return how many there were."""
    result = await session.execute(delete(ExportFile).where(ExportFile.expires_at <= now))
    return int(result.rowcount)  # type: ignore[attr-defined]
