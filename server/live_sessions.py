"""Live-session actions, shared by the REST routes and the Socket.IO client events.

Each write runs in one transaction that also queues its event for the owner's devices and for
the watchers whose grant exists in that transaction. A set write also updates the records in
that transaction, so `record:achieved` leaves with the set's own event instead of waiting for
a worker.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from events import names
from server.schemas import body_id, workout_reply
from server.services import Services
from server.session_schemas import (
    SessionCreate,
    SetLog,
    SetUpdate,
    logged_set_reply,
    session_reply,
    timer_reply,
)
from storage import grants, outbox, session_sets, sessions
from storage.categories import RECOMPUTE_PROGRESS
from storage.live_records import records_of_new_set
from storage.models import Workout
from storage.progress import announce_records, apply_workout_changes
from storage.session_sets import LoggedSet
from storage.workout_rows import WorkoutDetail


async def start_session(services: Services, *, user_id: int, body: SessionCreate) -> dict[str, Any]:
    category_id = body_id(body.category_id, resource="category")
    async with services.write() as session:
        state = await sessions.create_session(
            session, user_id=user_id, category_id=category_id, notes=body.notes
        )
        reply = session_reply(state, watchers=[])
        data = {"sessionId": reply["id"], "session": reply}
        outbox.add_event(session, user_id=user_id, name=names.SESSION_STARTED, data=data)
    return reply


async def get_session(services: Services, *, user_id: int, session_id: int) -> dict[str, Any]:
    """Return the full state of a session the user owns or watches."""
    async with services.db.read(primary=True) as session:
        state = await sessions.get_session_state(session, user_id=user_id, session_id=session_id)
        watchers = None
        if state.workout.user_id == user_id:
            watchers = await grants.list_session_watchers(session, session_id=session_id)
    return session_reply(state, watchers)


async def log_set(
    services: Services, *, user_id: int, session_id: int, body: SetLog
) -> tuple[dict[str, Any], bool]:
    """Store a set, or find the one stored under its client id; tell whether it is new."""
    async with services.write() as session:
        logged = await session_sets.log_set(
            session,
            user_id=user_id,
            session_id=session_id,
            client_id=body.client_id,
            exercise=body.exercise.to_storage(),
            value=body.value,
            reps=body.reps,
            rest_minutes=body.rest_minutes,
            performed_at=body.performed_at,
        )
        reply = logged_set_reply(logged)
        if logged.created:
            await _set_changed(session, user_id, session_id, names.SESSION_SET_LOGGED, logged)
    return reply, logged.created


async def update_set(
    services: Services, *, user_id: int, session_id: int, client_id: str, body: SetUpdate
) -> dict[str, Any]:
    async with services.write() as session:
        logged = await session_sets.update_set(
            session,
            user_id=user_id,
            session_id=session_id,
            client_id=client_id,
            value=body.new_value(),
            reps=body.reps,
            rest_minutes=body.new_rest_minutes(),
        )
        reply = logged_set_reply(logged)
        await _set_changed(session, user_id, session_id, names.SESSION_SET_UPDATED, logged)
    return reply


async def delete_set(
    services: Services, *, user_id: int, session_id: int, client_id: str
) -> dict[str, Any]:
    async with services.write() as session:
        logged = await session_sets.delete_set(
            session, user_id=user_id, session_id=session_id, client_id=client_id
        )
        await _set_changed(session, user_id, session_id, names.SESSION_SET_DELETED, logged)
    return {"success": True}


async def start_timer(
    services: Services, *, user_id: int, session_id: int, seconds: int
) -> dict[str, Any]:
    """Start the rest timer; its end is computed by the server's clock."""
    async with services.write() as session:
        workout = await sessions.start_timer(
            session, user_id=user_id, session_id=session_id, seconds=seconds
        )
        timer = timer_reply(workout)
        await _notify(session, workout, names.SESSION_TIMER, {"timer": timer})
    return {"endsAt": None if timer is None else timer["endsAt"]}


async def stop_timer(services: Services, *, user_id: int, session_id: int) -> dict[str, Any]:
    async with services.write() as session:
        workout = await sessions.stop_timer(session, user_id=user_id, session_id=session_id)
        await _notify(session, workout, names.SESSION_TIMER, {"timer": None})
    return {"endsAt": None}


async def finish_session(services: Services, *, user_id: int, session_id: int) -> dict[str, Any]:
    """Finish the session, which the old client's lists show from then on.

    The owner's devices also get `workout:created`, since for the old client's lists the
    workout appears only now.
    """
    async with services.write() as session:
        state = await sessions.finish_session(session, user_id=user_id, session_id=session_id)
        watchers = await grants.list_session_watchers(session, session_id=session_id)
        reply = session_reply(state, watchers)
        await _notify(session, state.workout, names.SESSION_FINISHED, {"session": reply})
        detail = WorkoutDetail(state.workout, state.category, state.exercises)
        outbox.add_event(
            session, user_id=user_id, name=names.WORKOUT_CREATED, data=workout_reply(detail)
        )
    return reply


async def _set_changed(
    session: AsyncSession, user_id: int, session_id: int, name: str, logged: LoggedSet
) -> None:
    """Queue the event of a set write, then the record events it calls for.

    A new set's records are found against the stored records (see storage.live_records), and
    the progress job updates the totals after the commit. An edited or deleted set may have
    held a record, so its session's progress and records are updated here, which costs a few
    milliseconds whatever the user's history (see storage.progress).
    """
    workout = await session.get_one(Workout, session_id)
    data: dict[str, Any] = {"set": logged_set_reply(logged)}
    if name == names.SESSION_SET_DELETED:
        data = {
            "clientId": logged.set.client_id,
            "setId": str(logged.set.id),
            "exerciseId": str(logged.exercise.id),
        }
    watchers = await _notify(session, workout, name, data)
    sessions = {session_id: watchers}
    if name != names.SESSION_SET_LOGGED:
        await apply_workout_changes(
            session, user_id=user_id, workout_ids=[session_id], live_sessions=sessions
        )
        return
    changes = await records_of_new_set(
        session, workout=workout, exercise=logged.exercise, exercise_sets=logged.exercise_sets
    )
    announce_records(session, user_id=user_id, changes=changes, sessions=sessions)
    outbox.add_task(session, RECOMPUTE_PROGRESS, user_id=user_id, workout_ids=[session_id])


async def _notify(
    session: AsyncSession, workout: Workout, name: str, data: dict[str, Any]
) -> list[int]:
    """Queue an event for the owner's devices and the session's current watchers; return them."""
    watchers = await grants.list_watcher_ids(session, session_id=workout.id)
    outbox.add_event(
        session,
        user_id=workout.user_id,
        name=name,
        data={"sessionId": str(workout.id), **data},
        session_id=workout.id,
        watchers=watchers,
    )
    return watchers
