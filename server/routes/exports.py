"""Export jobs that write a user's data to a file, and the download of that file."""

from __future__ import annotations

import logging
import uuid
from typing import Literal
from urllib.parse import quote

from aiohttp import web

from server.auth import current_user, services
from server.errors import NotFound, json_response
from server.validation import CamelModel, parse_body
from storage import exports, jobs
from storage.models import Job
from storage.types import utcnow
from tasks.registry import RUN_EXPORT

log = logging.getLogger(__name__)

routes = web.RouteTableDef()

# Bytes read from the database and sent per step of a download.
CHUNK_BYTES = 256 * 1024


class ExportRequest(CamelModel):
    format: Literal["csv", "json", "pdf"]


@routes.post("/exports")
async def create_export(request: web.Request) -> web.Response:
    """Start a job that writes the user's data as `format`: csv (Strong's layout), json or pdf.

    Follow it at /jobs/{jobId}; its result names the file to fetch from downloadUrl.
    """
    user_id = current_user(request)
    body = await parse_body(request, ExportRequest)
    async with services(request).write() as session:
        job = await exports.create_export_job(
            session, user_id=user_id, fmt=body.format, task=RUN_EXPORT
        )
    log.info(
        "export job %s queued (%s)",
        job.id,
        body.format,
        extra={"user_id": user_id, "job_id": job.id},
    )
    return json_response({"jobId": job.id, "state": job.state}, status=202)


@routes.get("/exports/{job_id}/download")
async def download_export(request: web.Request) -> web.StreamResponse:
    """Send the file of the user's finished export. Other users' exports are not found (404)."""
    user_id = current_user(request)
    job_id = request.match_info["job_id"]
    if not _is_uuid(job_id):
        raise NotFound(f"export {job_id!r} not found")
    db = services(request).db
    async with db.read() as session:
        info = await exports.get_export_file_info(session, job_id=job_id, user_id=user_id)
        job = None if info else await jobs.get_job(session, job_id=job_id, user_id=user_id)
    if info is None:
        raise NotFound(_missing_reason(job_id, job))
    if info.expires_at <= utcnow():
        raise NotFound(f"export {job_id!r} expired: start a new export with POST /exports")

    response = web.StreamResponse(
        headers={
            "Content-Type": info.content_type,
            "Content-Disposition": _attachment(info.filename),
            "Content-Length": str(info.size),
            "Cache-Control": "private, no-store",
        }
    )
    await response.prepare(request)
    for offset in range(0, info.size, CHUNK_BYTES):
        async with db.read() as session:
            chunk = await exports.read_export_chunk(
                session, file_id=info.id, offset=offset, size=CHUNK_BYTES
            )
        await response.write(chunk)
    await response.write_eof()
    return response


def _missing_reason(job_id: str, job: Job | None) -> str:
    if job is None or job.kind != exports.EXPORT_KIND:
        return f"export {job_id!r} not found"
    if job.state == jobs.SUCCEEDED:
        return f"export {job_id!r} expired: start a new export with POST /exports"
    if job.state == jobs.FAILED:
        return f"export {job_id!r} failed and has no file: {job.error}"
    return f"export {job_id!r} has no file yet: it is {job.state}, follow GET /jobs/{job_id}"


def _attachment(filename: str) -> str:
    """Return a Content-Disposition value with an ASCII fallback and the UTF-8 name (RFC 6266)."""
    fallback = filename.encode("ascii", "replace").decode().replace('"', "").replace("?", "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"


def _is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False
