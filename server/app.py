"""The aiohttp application: REST routes and Socket.IO on one port."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import socketio
from aiohttp import web

from events.manager import LiveRedisManager
from events.socket import create_socket_server
from server.config import Settings
from server.errors import error_middleware
from server.routes import (
    admin,
    admin_page,
    analytics,
    auth,
    categories,
    docs,
    exports,
    health,
    imports,
    jobs,
    notifications,
    pages,
    preferences,
    sessions,
    workouts,
)
from server.services import Services
from server.session_socket import SessionSocketEvents

log = logging.getLogger(__name__)

SERVICES = web.AppKey("services", Services)
SOCKETS = web.AppKey("sockets", socketio.AsyncServer)


def create_app(settings: Settings) -> web.Application:
    app = web.Application(
        client_max_size=settings.max_upload_bytes,
        middlewares=[error_middleware],
    )
    services = Services(settings)
    sockets = create_socket_server(
        services.tokens.verify_access,
        redis_url=settings.redis_url,
        channel=f"{settings.redis_prefix}socketio",
        prefix=settings.redis_prefix,
        session_events=SessionSocketEvents(services),
    )
    sockets.attach(app)
    app[SERVICES] = services
    app[SOCKETS] = sockets

    for module in (
        health,
        auth,
        categories,
        workouts,
        imports,
        sessions,
        pages,
        analytics,
        exports,
        notifications,
        preferences,
        jobs,
        admin,
        admin_page,
        docs,
    ):
        app.add_routes(module.routes)
    app.cleanup_ctx.append(_run_services)
    app.on_shutdown.append(_close_sockets)
    return app


async def _run_services(app: web.Application) -> AsyncIterator[None]:
    services = app[SERVICES]
    await services.start(app[SOCKETS].manager, run_schedules=True)
    log.info("server started", extra={"embedded": services.settings.embedded})
    yield
    await services.stop()


async def _close_sockets(app: web.Application) -> None:
    # Close every client's connection first: an open websocket otherwise delays the shutdown
    # until aiohttp's timeouts, and a closed one makes the client reconnect to another server.
    sockets = app[SOCKETS]
    if sockets.eio.sockets:  # engine.io's disconnect-all fails on an empty set
        await sockets.eio.disconnect()
    await sockets.shutdown()
    if isinstance(sockets.manager, LiveRedisManager):
        await sockets.manager.close()
