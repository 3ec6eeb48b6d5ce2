"""Live sessions over Socket.IO: devices and watchers see each change once, in order."""

from __future__ import annotations

from typing import Any

from events import names
from server.app import SERVICES
from server.config import Settings
from tests.conftest import ClientFactory
from tests.helpers import register
from tests.live import LiveClient
from tests.session_data import (
    call,
    collect,
    connect,
    get_session,
    grant,
    post_set,
    received_within,
    set_body,
    start_session,
    users,
    watch,
)
from tests.workout_data import Client

# How long a test waits to show that an event does not arrive.
QUIET_SECONDS = 1.0


async def close_all(*devices: LiveClient) -> None:
    for device in devices:
        await device.close()


def event_key(data: dict[str, Any]) -> tuple[int, int]:
    first, second = data["eventId"].split("-")
    return int(first), int(second)


async def test_sets_reach_every_device_once(
    make_client: ClientFactory, pg_settings: Settings
) -> None:
    first, second = await make_client(pg_settings), await make_client(pg_settings)
    owner, watcher = await users(first, 2)
    session_id = await start_session(first, owner)
    await grant(first, owner, session_id, watcher)
    phone, tablet, viewer = (
        await connect(first, owner),
        await connect(second, owner),
        await connect(second, watcher),
    )
    try:
        ack = await watch(viewer, session_id)
        assert ack["ok"] is True
        assert ack["id"] == session_id
        assert "watchers" not in ack

        sent = []
        for number in range(6):
            client_id = f"set-{number}"
            body = set_body(client_id, 100 + number)
            if number % 3 == 0:
                ack = await call(phone, "session:log_set", {"sessionId": session_id, **body})
                assert ack["ok"] is True
                assert ack["status"] == 201
                assert ack["clientId"] == client_id
            elif number % 3 == 1:
                status, _ = await post_set(second, owner, session_id, body)
                assert status == 201
            else:
                ack = await call(tablet, "session:log_set", {"sessionId": session_id, **body})
                assert ack["status"] == 201
            sent.append(client_id)

        for device in (phone, tablet, viewer):
            events = await collect(device, names.SESSION_SET_LOGGED, len(sent))
            assert [e["set"]["clientId"] for e in events] == sent
            assert {e["sessionId"] for e in events} == {session_id}
            keys = [event_key(e) for e in events]
            assert keys == sorted(keys)
            assert await received_within(device, names.SESSION_SET_LOGGED, QUIET_SECONDS) == []
    finally:
        await close_all(phone, tablet, viewer)


async def test_start_reaches_owner_devices(client: Client) -> None:
    login = await register(client)
    phone = await connect(client, login)
    try:
        session_id = await start_session(client, login)
        events = await collect(phone, names.SESSION_STARTED, 1)
        assert events[0]["sessionId"] == session_id
        assert events[0]["session"]["status"] == "live"
        assert events[0]["eventId"]
    finally:
        await phone.close()


async def test_same_set_three_times_stored_once(client: Client) -> None:
    login = await register(client)
    session_id = await start_session(client, login)
    phone, tablet = await connect(client, login), await connect(client, login)
    try:
        body = {"sessionId": session_id, **set_body("retry-1", 90, 6)}
        first = await call(phone, "session:log_set", body)
        again = await call(phone, "session:log_set", body)
        status, by_rest = await post_set(client, login, session_id, set_body("retry-1", 90, 6))
        assert first["status"] == 201
        assert again["status"] == 200
        assert status == 200
        assert first["id"] == again["id"] == by_rest["id"]

        state = await get_session(client, login, session_id)
        assert len(state["exercises"][0]["setsDetail"]) == 1
        events = await collect(tablet, names.SESSION_SET_LOGGED, 1)
        assert events[0]["set"]["id"] == first["id"]
        assert await received_within(tablet, names.SESSION_SET_LOGGED, QUIET_SECONDS) == []
    finally:
        await close_all(phone, tablet)


async def test_watch_without_grant_rejected(client: Client) -> None:
    owner, stranger = await users(client, 2)
    session_id = await start_session(client, owner)
    device = await connect(client, stranger)
    try:
        ack = await watch(device, session_id)
        assert ack == {"ok": False, "error": "session not found", "status": 404}
        response = await client.get(f"/sessions/{session_id}", headers=stranger["headers"])
        assert response.status == 404

        status, _ = await post_set(client, owner, session_id, set_body("a"))
        assert status == 201
        assert await received_within(device, names.SESSION_SET_LOGGED, QUIET_SECONDS) == []
    finally:
        await device.close()


async def test_revoked_watcher_stops_receiving(
    make_client: ClientFactory, pg_settings: Settings
) -> None:
    first, second = await make_client(pg_settings), await make_client(pg_settings)
    owner, watcher = await users(first, 2)
    session_id = await start_session(first, owner)
    await grant(first, owner, session_id, watcher)
    phone, viewer = await connect(first, owner), await connect(second, watcher)
    try:
        assert (await watch(viewer, session_id))["ok"] is True
        await post_set(first, owner, session_id, set_body("before"))
        events = await collect(viewer, names.SESSION_SET_LOGGED, 1)
        assert events[0]["set"]["clientId"] == "before"

        response = await first.delete(
            f"/sessions/{session_id}/watchers/{watcher['userId']}", headers=owner["headers"]
        )
        assert response.status == 204
        revoked = await collect(viewer, names.SESSION_WATCHER_REVOKED, 1)
        assert revoked[0]["sessionId"] == session_id

        await post_set(first, owner, session_id, set_body("after"))
        # An event whose watcher list was read before the revoke reaches nobody either.
        await first.app[SERVICES].bus.publish(
            int(owner["userId"]),
            names.SESSION_SET_LOGGED,
            {"sessionId": session_id, "set": {"clientId": "stale"}},
            session_id=int(session_id),
            watchers=[int(watcher["userId"])],
        )
        owner_events = await collect(phone, names.SESSION_SET_LOGGED, 3)
        assert [e["set"]["clientId"] for e in owner_events] == ["before", "after", "stale"]
        assert await received_within(viewer, names.SESSION_SET_LOGGED, QUIET_SECONDS) == []

        ack = await watch(viewer, session_id)
        assert ack["status"] == 404
    finally:
        await close_all(phone, viewer)


async def test_socket_edits_reach_watcher(client: Client) -> None:
    owner, watcher = await users(client, 2)
    session_id = await start_session(client, owner)
    await grant(client, owner, session_id, watcher)
    phone, viewer = await connect(client, owner), await connect(client, watcher)
    try:
        assert (await watch(viewer, session_id))["ok"] is True
        ref = {"sessionId": session_id, "clientId": "e1"}
        ack = await call(phone, "session:log_set", {"sessionId": session_id, **set_body("e1")})
        assert ack["status"] == 201
        ack = await call(phone, "session:update_set", {**ref, "reps": 7})
        assert ack["ok"] is True
        assert ack["reps"] == 7
        timer = await call(phone, "session:start_timer", {"sessionId": session_id, "seconds": 30})
        assert timer["endsAt"] is not None
        ack = await call(phone, "session:stop_timer", {"sessionId": session_id})
        assert ack == {"ok": True, "status": 200, "endsAt": None}
        ack = await call(phone, "session:delete_set", ref)
        assert ack == {"ok": True, "status": 200, "success": True}
        ack = await call(phone, "session:delete_set", ref)
        assert ack["status"] == 404
        response = await client.post(f"/sessions/{session_id}/finish", headers=owner["headers"])
        assert response.status == 200

        expected = [
            names.SESSION_SET_LOGGED,
            names.SESSION_SET_UPDATED,
            names.SESSION_TIMER,
            names.SESSION_TIMER,
            names.SESSION_SET_DELETED,
            names.SESSION_FINISHED,
        ]
        seen = []
        while len(seen) < len(expected):
            name, data = await viewer.next_event()
            if name.startswith("session:"):
                seen.append((name, data))
        assert [name for name, _ in seen] == expected
        assert seen[1][1]["set"]["reps"] == 7
        assert seen[2][1]["timer"] == {"endsAt": timer["endsAt"]}
        assert seen[3][1]["timer"] is None
        assert seen[4][1]["clientId"] == "e1"
        assert seen[5][1]["session"]["status"] == "finished"
        assert all(data["sessionId"] == session_id for _, data in seen)
    finally:
        await close_all(phone, viewer)


async def test_leave_stops_watch_events(client: Client) -> None:
    owner, watcher = await users(client, 2)
    session_id = await start_session(client, owner)
    await grant(client, owner, session_id, watcher)
    viewer, own_device = await connect(client, watcher), await connect(client, owner)
    try:
        await post_set(client, owner, session_id, set_body("a"))
        state = await watch(viewer, session_id)
        assert [s["clientId"] for s in state["exercises"][0]["setsDetail"]] == ["a"]
        own_state = await watch(own_device, session_id)
        assert own_state["watchers"][0]["userId"] == watcher["userId"]

        ack = await call(viewer, "session:leave", {"sessionId": session_id})
        assert ack == {"ok": True, "status": 200, "success": True}
        await post_set(client, owner, session_id, set_body("b"))
        assert await received_within(viewer, names.SESSION_SET_LOGGED, QUIET_SECONDS) == []
        # The owner's device gets session events in the user room, once each.
        events = await collect(own_device, names.SESSION_SET_LOGGED, 2)
        assert [e["set"]["clientId"] for e in events] == ["a", "b"]
        assert await received_within(own_device, names.SESSION_SET_LOGGED, 0.3) == []
    finally:
        await close_all(viewer, own_device)
