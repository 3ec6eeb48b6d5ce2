"""Uploads of export files to import; follow the job they start at /jobs/{jobId}."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from pathlib import PurePosixPath, PureWindowsPath

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import BadHttpMessage, HttpProcessingError
from aiohttp.web import RequestPayloadError

from server.auth import current_user, services
from server.errors import PayloadTooLarge, ValidationFailed, json_response
from server.validation import invalid_body
from storage import jobs
from tasks.formats import FORMATS, LOAD_UNITS, UNIT_REQUIRED

log = logging.getLogger(__name__)

routes = web.RouteTableDef()

# Content types accepted for a file sent as the raw request body.
RAW_TYPES = ("text/csv", "application/csv", "text/plain", "application/octet-stream")
# Room for multipart boundaries and part headers around a file at the size limit.
MULTIPART_OVERHEAD = 64 * 1024
CHUNK_BYTES = 64 * 1024
DEFAULT_FILENAME = "upload.csv"
MAX_FILENAME = 255


@routes.post("/imports")
async def create_import(request: web.Request) -> web.Response:
    """Upload an export file and start a job that imports it; follow it at /jobs/{jobId}.

    Query: `format` (strong, hevy or fitnotes) and `unit` (kg or lb, the load unit chosen at
    export). Strong files need `unit`; Hevy and FitNotes files name their unit and use `unit`
    only where they do not. The file is a multipart/form-data field named `file`, or the raw
    body sent as text/csv.
    """
    user_id = current_user(request)
    fmt, unit = _import_options(request.query)
    filename, content = await _read_upload(request)
    if not content.strip():
        raise ValidationFailed.field("file", "empty: the uploaded file has no content")

    params = {"format": fmt, "unit": unit, "filename": filename}
    async with services(request).write() as session:
        job = await jobs.create_import_job(
            session, user_id=user_id, params=params, filename=filename, content=content
        )
    log.info(
        "import job %s queued (%d bytes)",
        job.id,
        len(content),
        extra={"user_id": user_id, "job_id": job.id},
    )
    return json_response({"jobId": job.id, "state": job.state}, status=202)


def _import_options(query: Mapping[str, str]) -> tuple[str, str | None]:
    fmt = query.get("format", "").strip().lower()
    if not fmt:
        raise ValidationFailed.field("format", f"missing: expected {', '.join(FORMATS)}")
    if fmt not in FORMATS:
        raise ValidationFailed.field(
            "format", f"unsupported {fmt!r}: expected {', '.join(FORMATS)}"
        )
    unit = query.get("unit", "").strip().lower() or None
    if unit not in LOAD_UNITS and (unit is not None or fmt in UNIT_REQUIRED):
        reason = f"invalid {unit!r}" if unit else "missing"
        raise ValidationFailed.field(
            "unit", f"{reason}: expected kg or lb, the load unit the file was exported in"
        )
    return fmt, unit


async def _read_upload(request: web.Request) -> tuple[str, bytes]:
    """Read the uploaded file without holding more than the size limit in memory."""
    limit = services(request).settings.max_upload_bytes
    if request.content_length is not None and request.content_length > limit + MULTIPART_OVERHEAD:
        raise _too_large(limit)

    if request.content_type == "multipart/form-data":
        try:
            upload = await _read_file_field(request, limit)
        except RequestPayloadError as error:
            raise invalid_body(error) from None
        except (ValueError, BadHttpMessage) as error:
            # aiohttp's multipart reader raises these for a missing boundary parameter, a
            # body without the boundary, malformed part headers and a truncated part.
            raise ValidationFailed.field(
                "body", f"invalid multipart/form-data body: {_reason(error)[:200]}"
            ) from None
        if upload is None:
            raise ValidationFailed.field(
                "file", "missing: send the export in a form field named file"
            )
        return upload

    if request.content_type in RAW_TYPES:
        try:
            content = await _read_limited(request.content.read, limit)
        except RequestPayloadError as error:
            raise invalid_body(error) from None
        return _clean_filename(request.query.get("filename")), content

    raise ValidationFailed.field(
        "Content-Type",
        f"unsupported {request.content_type!r}: send multipart/form-data with a file field, "
        "or the file itself as text/csv",
    )


async def _read_file_field(request: web.Request, limit: int) -> tuple[str, bytes] | None:
    """Return the name and content of the form field `file`, or None when there is none.

    The parts after the file are read and dropped, so that a body cut short before its
    closing boundary is rejected instead of importing what arrived.
    """
    reader = await request.multipart()
    upload = None
    async for part in reader:
        if upload is None and isinstance(part, BodyPartReader) and part.name == "file":
            content = await _read_limited(part.read_chunk, limit)
            upload = (_clean_filename(part.filename), content)
    return upload


async def _read_limited(read: Callable[[int], Awaitable[bytes]], limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := await read(CHUNK_BYTES):
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"file: too large, the limit is {limit} bytes")


def _reason(error: Exception) -> str:
    return error.message if isinstance(error, HttpProcessingError) else str(error)


def _clean_filename(name: str | None) -> str:
    """Return the file's base name, because some browsers send a full Windows path."""
    if not name:
        return DEFAULT_FILENAME
    base = PureWindowsPath(PurePosixPath(name).name).name.strip()
    return base[:MAX_FILENAME] or DEFAULT_FILENAME
