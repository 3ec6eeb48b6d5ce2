"""Periodic clean-up of data that has outlived its use."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import delete, or_, select
from taskiq import Context, TaskiqDepends

from storage.exports import delete_expired_export_files
from storage.models import Job, RefreshToken, Upload
from storage.types import utcnow
from tasks.context import services_of

log = logging.getLogger(__name__)

# Finished jobs keep their uploaded file this long, for a retry or a look at the input.
UPLOAD_RETENTION = timedelta(days=1)


async def purge_expired(context: Context = TaskiqDepends()) -> dict[str, int]:
    """Delete expired or revoked refresh tokens, uploads of old finished jobs, expired exports."""
    services = services_of(context)
    now = utcnow()
    async with services.write() as session:
        tokens = await session.execute(
            delete(RefreshToken).where(
                or_(
                    RefreshToken.expires_at < now, RefreshToken.revoked_at < now - timedelta(days=1)
                )
            )
        )
        finished = select(Job.id).where(
            Job.state.in_(("succeeded", "failed")), Job.updated_at < now - UPLOAD_RETENTION
        )
        uploads = await session.execute(delete(Upload).where(Upload.job_id.in_(finished)))
        export_files = await delete_expired_export_files(session, now=now)
    counts = {"refreshTokens": tokens.rowcount, "uploads": uploads.rowcount}  # type: ignore[attr-defined]
    counts["exportFiles"] = export_files
    log.info(
        "purged %(refreshTokens)d refresh tokens, %(uploads)d uploads "
        "and %(exportFiles)d export files",
        counts,
    )
    return counts
