"""Liveness and readiness checks."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import text

from server.auth import services
from server.errors import json_response

routes = web.RouteTableDef()


@routes.get("/health")
async def health(_request: web.Request) -> web.Response:
    """Report that the process is up."""
    return json_response({"status": "ok"})


@routes.get("/ready")
async def ready(request: web.Request) -> web.Response:
    """Report whether the database and Redis answer; 503 when one does not."""
    svc = services(request)
    checks: dict[str, str] = {}
    try:
        async with svc.db.read(primary=True) as session:
            await session.execute(text("SELECT 1"))
        checks["database"] = "ok"
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
