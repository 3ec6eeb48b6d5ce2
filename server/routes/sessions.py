"""The live sessions API: a workout performed right now, shared live with chosen watchers."""

from __future__ import annotations

import logging

import socketio
from aiohttp import web

from events import names
from server import live_sessions
from server.auth import current_user, services
from server.errors import json_response
from server.schemas import path_id
from server.session_schemas import (
    SessionCreate,
    SetLog,
    SetUpdate,
    TimerStart,
    WatcherCreate,
    session_summary_reply,
    watcher_reply,
)
from server.validation import parse_body
from storage import grants, outbox, sessions

log = logging.getLogger(__name__)

routes = web.RouteTableDef()


@routes.post("/sessions")
async def start_session(request: web.Request) -> web.Response:
    """Start a live session in a category."""
    user_id = current_user(request)
    body = await parse_body(request, SessionCreate)
    reply = await live_sessions.start_session(services(request), user_id=user_id, body=body)
    return json_response(reply, status=201)


@routes.get("/sessions")
async def list_sessions(request: web.Request) -> web.Response:
    """List the live sessions the user owns or was given to watch, newest first."""
    user_id = current_user(request)
    async with services(request).db.read(primary=True) as session:
        rows = await sessions.list_sessions(session, user_id=user_id)
    items = [
        session_summary_reply(workout, category, user_id=user_id) for workout, category in rows
    ]
    return json_response({"sessions": items})


@routes.get("/sessions/{id}")
async def get_session(request: web.Request) -> web.Response:
    """Return a session with its exercises, sets, timer and, for its owner, watchers."""
    user_id = current_user(request)
    session_id = path_id(request, "id", resource="session")
    reply = await live_sessions.get_session(
        services(request), user_id=user_id, session_id=session_id
    )
    return json_response(reply)


@routes.post("/sessions/{id}/sets")
async def log_set(request: web.Request) -> web.Response:
    """Log a set: 201 when stored, 200 with the stored set when its clientId is known."""
    user_id = current_user(request)
    session_id = path_id(request, "id", resource="session")
    body = await parse_body(request, SetLog)
    reply, created = await live_sessions.log_set(
        services(request), user_id=user_id, session_id=session_id, body=body
    )
    return json_response(reply, status=201 if created else 200)


@routes.patch("/sessions/{id}/sets/{clientId}")
async def update_set(request: web.Request) -> web.Response:
    user_id = current_user(request)
    session_id = path_id(request, "id", resource="session")
    client_id = request.match_info["clientId"]
    body = await parse_body(request, SetUpdate)
    reply = await live_sessions.update_set(
        services(request), user_id=user_id, session_id=session_id, client_id=client_id, body=body
    )
    return json_response(reply)


@routes.delete("/sessions/{id}/sets/{clientId}")
async def delete_set(request: web.Request) -> web.Response:
    user_id = current_user(request)
    session_id = path_id(request, "id", resource="session")
    client_id = request.match_info["clientId"]
    reply = await live_sessions.delete_set(
        services(request), user_id=user_id, session_id=session_id, client_id=client_id
    )
    return json_response(reply)


@routes.post("/sessions/{id}/timer")
async def start_timer(request: web.Request) -> web.Response:
    """Start the rest timer for `seconds` and return its end by the server's clock."""
    user_id = current_user(request)
    session_id = path_id(request, "id", resource="session")
    body = await parse_body(request, TimerStart)
    reply = await live_sessions.start_timer(
        services(request), user_id=user_id, session_id=session_id, seconds=body.seconds
    )
    return json_response(reply)


@routes.delete("/sessions/{id}/timer")
async def stop_timer(request: web.Request) -> web.Response:
    user_id = current_user(request)
    session_id = path_id(request, "id", resource="session")
    reply = await live_sessions.stop_timer(
        services(request), user_id=user_id, session_id=session_id
    )
    return json_response(reply)


@routes.post("/sessions/{id}/finish")
async def finish_session(request: web.Request) -> web.Response:
    """Finish the session; from now on it is an ordinary workout of the old API."""
    user_id = current_user(request)
    session_id = path_id(request, "id", resource="session")
    reply = await live_sessions.finish_session(
        services(request), user_id=user_id, session_id=session_id
    )
    return json_response(reply)


@routes.get("/sessions/{id}/watchers")
async def list_watchers(request: web.Request) -> web.Response:
    user_id = current_user(request)
    session_id = path_id(request, "id", resource="session")
    async with services(request).db.read(primary=True) as session:
        watchers = await grants.list_watchers(session, user_id=user_id, session_id=session_id)
    return json_response({"watchers": [watcher_reply(watcher) for watcher in watchers]})


@routes.post("/sessions/{id}/watchers")
async def add_watcher(request: web.Request) -> web.Response:
    """Let the user with `email` watch this live session."""
    user_id = current_user(request)
    session_id = path_id(request, "id", resource="session")
    body = await parse_body(request, WatcherCreate)
    async with services(request).write() as session:
        watcher = await grants.add_watcher(
            session, user_id=user_id, session_id=session_id, email=body.email
        )
    return json_response(watcher_reply(watcher), status=201)


@routes.delete("/sessions/{id}/watchers/{userId}")
async def remove_watcher(request: web.Request) -> web.Response:
    """Revoke a watcher and remove their sockets from the session's room on every instance."""
    user_id = current_user(request)
    session_id = path_id(request, "id", resource="session")
    watcher_id = path_id(request, "userId", resource="watcher")
    async with services(request).write() as session:
        await grants.remove_watcher(
            session, user_id=user_id, session_id=session_id, watcher_id=watcher_id
        )
        outbox.add_event(
            session,
            user_id=watcher_id,
            name=names.SESSION_WATCHER_REVOKED,
            data={"sessionId": str(session_id)},
        )
    # Events queued before the revoke may still name this watcher. Once the room is closed
    # on every instance, they reach no socket.
    await _sockets(request).close_room(names.watch_room(session_id, watcher_id))
    log.info("watcher %s removed from session %s", watcher_id, session_id)
    return web.Response(status=204)


def _sockets(request: web.Request) -> socketio.AsyncServer:
    from server.app import SOCKETS

    return request.app[SOCKETS]
