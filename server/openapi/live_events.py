"""The Socket.IO live channel, described in the OpenAPI document's text and `x-socket-io`."""

from __future__ import annotations

from pydantic import BaseModel

from events import names
from server.session_schemas import (
    SessionRef,
    SetRef,
    SocketSetLog,
    SocketSetUpdate,
    SocketTimerStart,
)

SOCKET_PATH = "/socket.io/"

# Events the server sends, each with the payload it carries besides `eventId` and `ts`.
SERVER_EVENTS: dict[str, str] = {
    names.WORKOUT_CREATED: "The workout as GET /workouts/{id} returns it; also sent to the "
    "owner when a live session finishes",
    names.WORKOUT_UPDATED: "The full workout",
    names.WORKOUT_DELETED: "`{id, categoryId}`",
    names.CATEGORY_CREATED: "The category, as POST /categories returns it",
    names.CATEGORY_UPDATED: "The category, as PUT /categories/{id} returns it",
    names.CATEGORY_DELETED: "`{id}`",
    names.PROGRESS_UPDATED: "`{workoutIds, exercises: [{name, nameKey, type, categoryId, "
    "category, volume, reps, sets, workouts, maxLoad, bestE1rm, unit}]}`: the running totals "
    "of each exercise the change touched, in kilograms, seconds or metres",
    names.RECORD_ACHIEVED: "`{exercise, nameKey, kind, value, previousValue, unit, setId, "
    "workoutId}`, where `kind` is max_load, best_e1rm, max_set_volume, max_workout_volume or "
    "max_reps (with `load`)",
    names.RECORD_WITHDRAWN: "A record that a change took back, shaped as `record:achieved`",
    names.JOB_PROGRESS: "`{jobId, state, progress}`; while the job waits for a retry also "
    "`attempts`, `error` and `retryAt`",
    names.JOB_COMPLETED: "`{jobId, state, progress, result}`",
    names.JOB_FAILED: "`{jobId, state, error}`",
    names.NOTIFICATION: "A new inbox entry, shaped as GET /notifications lists it",
    names.RESYNC: "Events were lost, or the gap since `lastEventId` is older than the kept "
    "history: reload over REST",
    names.SESSION_STARTED: "`{sessionId, session}`",
    names.SESSION_SET_LOGGED: "`{sessionId, set}`, the set as POST /sessions/{id}/sets returns it",
    names.SESSION_SET_UPDATED: "`{sessionId, set}`",
    names.SESSION_SET_DELETED: "`{sessionId, clientId, setId, exerciseId}`",
    names.SESSION_TIMER: "`{sessionId, timer}`, where `timer` is `{endsAt}` or null",
    names.SESSION_FINISHED: "`{sessionId, session}`",
    names.SESSION_WATCHER_REVOKED: "`{sessionId}`, to a watcher whose grant was removed",
}

# Events a client sends, each with its payload model and the REST call it matches.
CLIENT_EVENTS: dict[str, tuple[type[BaseModel], str]] = {
    "session:log_set": (SocketSetLog, "POST /sessions/{id}/sets"),
    "session:update_set": (SocketSetUpdate, "PATCH /sessions/{id}/sets/{clientId}"),
    "session:delete_set": (SetRef, "DELETE /sessions/{id}/sets/{clientId}"),
    "session:start_timer": (SocketTimerStart, "POST /sessions/{id}/timer"),
    "session:stop_timer": (SessionRef, "DELETE /sessions/{id}/timer"),
    "session:watch": (SessionRef, "GET /sessions/{id}, and join the session's events"),
    "session:leave": (SessionRef, "stop receiving the session's events"),
}

CONNECTION = (
    f"Connect a Socket.IO client to this server at path `{SOCKET_PATH}` with "
    '`auth={"token": accessToken}`. A missing, invalid or expired token is rejected with a '
    "`connect_error` that says why. Every event carries `eventId`, ordered per user, and `ts` "
    'in UTC. Reconnect with `auth={"token": accessToken, "lastEventId": id}` to receive the '
    "missed events first, in order."
)
ACKNOWLEDGEMENT = (
    "Each client event is acknowledged with `{ok: true, status, ...body}`, the status and body "
    "of the matching REST call, or with `{ok: false, error, status, details?}`."
)


def live_channel_markdown() -> str:
    """Describe the live channel in Markdown, for the document's description."""
    lines = ["## Live events (Socket.IO)", "", CONNECTION, "", "Server events:", ""]
    lines += [f"- `{name}`: {payload}" for name, payload in SERVER_EVENTS.items()]
    lines += ["", f"Client events. {ACKNOWLEDGEMENT}", ""]
    for name, (model, matches) in CLIENT_EVENTS.items():
        lines.append(f"- `{name}` with `{model.__name__}`: {matches}")
    return "\n".join(lines)


def live_channel_extension(schema_ref: str) -> dict[str, object]:
    """Describe the live channel as the `x-socket-io` extension.

    `schema_ref` is a template with `{model}` for the reference to a payload's schema.
    """
    return {
        "path": SOCKET_PATH,
        "auth": {"token": "accessToken", "lastEventId": "optional: the last eventId received"},
        "serverEvents": SERVER_EVENTS,
        "clientEvents": {
            name: {
                "payload": {"$ref": schema_ref.format(model=model.__name__)},
                "matches": matches,
            }
            for name, (model, matches) in CLIENT_EVENTS.items()
        },
        "acknowledgement": ACKNOWLEDGEMENT,
    }
