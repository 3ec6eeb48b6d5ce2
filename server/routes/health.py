"""Liveness and readiness checks."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import services
from server.errors import is_database_unavailable, json_response
from storage.migrate import schema_problem

routes = web.RouteTableDef()


@routes.get("/health")
async def health(_request: web.Request) -> web.Response:
    """Report that the process is up."""
    return json_response({"status": "ok"})


@routes.get("/ready")
async def ready(request: web.Request) -> web.Response:
    """Report whether the database and Redis respond; 503 when one does not.

    The database also counts as not ready while its schema is older than this release.
    """
    svc = services(request)
    checks: dict[str, str] = {}
    try:
        async with svc.db.read(primary=True) as session:
            version = await _schema_version(session)
        checks["database"] = schema_problem(version) or "ok"
    except Exception as error:  # a readiness probe reports any failure
        checks["database"] = f"unavailable: {type(error).__name__}"
    if svc.redis is not None:
        try:
            await svc.redis.ping()
            checks["redis"] = "ok"
        except Exception as error:
            checks["redis"] = f"unavailable: {type(error).__name__}"
    ok = all(value == "ok" for value in checks.values())
    return json_response(
        {"status": "ok" if ok else "unavailable", "checks": checks}, status=200 if ok else 503
    )


async def _schema_version(session: AsyncSession) -> str | None:
    """Return the database's migration revision, or None when it was never migrated."""
    try:
        version = await session.scalar(text("SELECT version_num FROM alembic_version"))
    except DBAPIError as error:
        if is_database_unavailable(error):
            raise
        return None  # no alembic_version table
    return None if version is None else str(version)
