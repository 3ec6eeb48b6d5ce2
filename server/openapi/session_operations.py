"""The REST operations of live sessions and their watchers, for the OpenAPI document."""

from __future__ import annotations

from server.openapi import replies as r
from server.openapi import workout_replies as w
from server.openapi.operation import Operation, Reply
from server.openapi.workout_operations import NO_CATEGORY
from server.session_schemas import SessionCreate, SetLog, SetUpdate, TimerStart, WatcherCreate

WATCHER_FORBIDDEN = "The caller watches the session: only its owner may change it"
SESSION_FINISHED = "The session is finished and can no longer change"

SESSION_OPERATIONS = (
    Operation(
        "POST",
        "/sessions",
        "startSession",
        "sessions",
        "Start a live session in a category",
        body=SessionCreate,
        replies={201: Reply("The new session", w.Session)},
        errors={404: NO_CATEGORY},
    ),
    Operation(
        "GET",
        "/sessions",
        "listSessions",
        "sessions",
        "List the live sessions the user owns or watches, newest first",
        replies={200: Reply("The sessions", w.SessionList)},
    ),
    Operation(
        "GET",
        "/sessions/{id}",
        "getSession",
        "sessions",
        "Return a session with its exercises, sets, timer and, for its owner, watchers",
        replies={200: Reply("The session", w.Session)},
    ),
    Operation(
        "POST",
        "/sessions/{id}/sets",
        "logSet",
        "sessions",
        "Log a set",
        description="Sending a known `clientId` again changes nothing, so retries are safe. "
        "A set that names a session exercise with another type or unit is 400.",
        body=SetLog,
        replies={
            201: Reply("The set was stored", w.LoggedSet),
            200: Reply("A set with this clientId was stored before: that set", w.LoggedSet),
        },
        errors={403: WATCHER_FORBIDDEN, 409: SESSION_FINISHED},
    ),
    Operation(
        "PATCH",
        "/sessions/{id}/sets/{clientId}",
        "updateSet",
        "sessions",
        "Change a set's value, reps or rest",
        body=SetUpdate,
        replies={200: Reply("The changed set", w.LoggedSet)},
        errors={403: WATCHER_FORBIDDEN, 409: SESSION_FINISHED},
    ),
    Operation(
        "DELETE",
        "/sessions/{id}/sets/{clientId}",
        "deleteSet",
        "sessions",
        "Delete a set",
        replies={200: Reply("Deleted", r.Success)},
        errors={403: WATCHER_FORBIDDEN, 409: SESSION_FINISHED},
    ),
    Operation(
        "POST",
        "/sessions/{id}/timer",
        "startTimer",
        "sessions",
        "Start the rest timer and return its end by the server's clock",
        body=TimerStart,
        replies={200: Reply("The timer's end", w.TimerState)},
        errors={403: WATCHER_FORBIDDEN, 409: SESSION_FINISHED},
    ),
    Operation(
        "DELETE",
        "/sessions/{id}/timer",
        "stopTimer",
        "sessions",
        "Stop the rest timer",
        replies={200: Reply("Stopped: `endsAt` is null", w.TimerState)},
        errors={403: WATCHER_FORBIDDEN, 409: SESSION_FINISHED},
    ),
    Operation(
        "POST",
        "/sessions/{id}/finish",
        "finishSession",
        "sessions",
        "Finish the session, which from then on is an ordinary workout",
        replies={200: Reply("The finished session", w.Session)},
        errors={403: WATCHER_FORBIDDEN, 409: SESSION_FINISHED},
    ),
    Operation(
        "GET",
        "/sessions/{id}/watchers",
        "listWatchers",
        "sessions",
        "List the users who may watch the session",
        replies={200: Reply("The watchers, oldest grant first", w.WatcherList)},
        errors={403: WATCHER_FORBIDDEN},
    ),
    Operation(
        "POST",
        "/sessions/{id}/watchers",
        "addWatcher",
        "sessions",
        "Let the user with the given email watch this live session",
        body=WatcherCreate,
        replies={201: Reply("The new watcher", w.Watcher)},
        errors={
            400: "Invalid email, or the owner's own",
            403: WATCHER_FORBIDDEN,
            404: "No such session, or no account has the email",
            409: "The user already watches the session, or the session is finished",
        },
    ),
    Operation(
        "DELETE",
        "/sessions/{id}/watchers/{userId}",
        "removeWatcher",
        "sessions",
        "Revoke a watcher; their sockets leave the session's room on every instance",
        replies={204: Reply("Revoked")},
        errors={403: WATCHER_FORBIDDEN},
    ),
)
