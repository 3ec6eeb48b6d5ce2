"""The live-session client events of Socket.IO, handled by the same actions as REST.

Each event returns an acknowledgement: `{ok: true, status, ...reply}` with the status and body
the matching REST call would return, or `{ok: false, error, status, details?}`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from events.names import watch_room
from events.socket import LiveNamespace
from server import live_sessions
from server.errors import AppError, ValidationFailed, is_database_unavailable
from server.schemas import body_id
from server.services import Services
from server.session_schemas import (
    SessionRef,
    SetRef,
    SocketSetLog,
    SocketSetUpdate,
    SocketTimerStart,
)
from server.validation import Model, validate

log = logging.getLogger(__name__)

Reply = tuple[int, dict[str, Any]]


class SessionSocketEvents:
    """Handle `session:*` client events for the user of the socket that sent them."""

    def __init__(self, services: Services):
        self._services = services
        self._handlers: dict[str, Callable[[LiveNamespace, str, int, Any], Awaitable[Reply]]] = {
            "session:log_set": self._log_set,
            "session:update_set": self._update_set,
            "session:delete_set": self._delete_set,
            "session:start_timer": self._start_timer,
            "session:stop_timer": self._stop_timer,
            "session:watch": self._watch,
            "session:leave": self._leave,
        }

    async def __call__(
        self, namespace: LiveNamespace, sid: str, user_id: int, event: str, data: Any
    ) -> dict[str, Any]:
        handler = self._handlers.get(event)
        if handler is None:
            return _error_ack(ValidationFailed(f"unknown event {event!r}"))
        try:
            status, reply = await handler(namespace, sid, user_id, data)
        except AppError as error:
            return _error_ack(error)
        except Exception as error:
            if is_database_unavailable(error):
                log.warning("database unavailable for %s of user %s: %r", event, user_id, error)
                message = "database unavailable, try again shortly"
                return {"ok": False, "error": message, "status": 503}
            log.exception("unhandled error in %s of user %s", event, user_id)
            return {"ok": False, "error": "internal server error", "status": 500}
        return {"ok": True, "status": status, **reply}

    async def _log_set(self, _ns: LiveNamespace, _sid: str, user_id: int, data: Any) -> Reply:
        body = _parse(data, SocketSetLog)
        reply, created = await live_sessions.log_set(
            self._services, user_id=user_id, session_id=_session_id(body), body=body
        )
        return (201 if created else 200), reply

    async def _update_set(self, _ns: LiveNamespace, _sid: str, user_id: int, data: Any) -> Reply:
        body = _parse(data, SocketSetUpdate)
        reply = await live_sessions.update_set(
            self._services,
            user_id=user_id,
            session_id=_session_id(body),
            client_id=body.client_id,
            body=body,
        )
        return 200, reply

    async def _delete_set(self, _ns: LiveNamespace, _sid: str, user_id: int, data: Any) -> Reply:
        body = _parse(data, SetRef)
        reply = await live_sessions.delete_set(
            self._services, user_id=user_id, session_id=_session_id(body), client_id=body.client_id
        )
        return 200, reply

    async def _start_timer(self, _ns: LiveNamespace, _sid: str, user_id: int, data: Any) -> Reply:
        body = _parse(data, SocketTimerStart)
        reply = await live_sessions.start_timer(
            self._services, user_id=user_id, session_id=_session_id(body), seconds=body.seconds
        )
        return 200, reply

    async def _stop_timer(self, _ns: LiveNamespace, _sid: str, user_id: int, data: Any) -> Reply:
        session_id = _session_id(_parse(data, SessionRef))
        reply = await live_sessions.stop_timer(
            self._services, user_id=user_id, session_id=session_id
        )
        return 200, reply

    async def _watch(self, ns: LiveNamespace, sid: str, user_id: int, data: Any) -> Reply:
        """Join the session's watch room after checking the grant, and return its state.

        The socket enters the room before the grant is read. A revoke that commits after that
        read closes the room after the socket joined it, so no revoked socket stays inside.
        """
        session_id = _session_id(_parse(data, SessionRef))
        room = watch_room(session_id, user_id)
        await ns.enter_room(sid, room)
        try:
            reply = await live_sessions.get_session(
                self._services, user_id=user_id, session_id=session_id
            )
        except BaseException:
            await ns.leave_room(sid, room)
            raise
        if reply["userId"] == str(user_id):
            # The owner's devices get every event of the session in the user's own room.
            await ns.leave_room(sid, room)
        return 200, reply

    async def _leave(self, ns: LiveNamespace, sid: str, user_id: int, data: Any) -> Reply:
        session_id = _session_id(_parse(data, SessionRef))
        await ns.leave_room(sid, watch_room(session_id, user_id))
        return 200, {"success": True}


def _parse(data: Any, model: type[Model]) -> Model:
    if not isinstance(data, dict):
        raise ValidationFailed.field("body", "invalid: send the event data as a JSON object")
    return validate(model, data)


def _session_id(body: SessionRef) -> int:
    return body_id(body.session_id, resource="session")


def _error_ack(error: AppError) -> dict[str, Any]:
    ack: dict[str, Any] = {"ok": False, "error": error.message, "status": error.status}
    if error.details:
        ack["details"] = error.details
    return ack
