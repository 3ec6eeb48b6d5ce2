"""Personal records found while a session goes on reach the owner and the watchers."""

from __future__ import annotations

from typing import Any

from events import names
from server.config import Settings
from tests.conftest import ClientFactory
from tests.live import LiveClient
from tests.session_data import connect, grant, post_set, set_body, start_session, users, watch
from tests.workout_data import Client, bench, create_category, create_workout

# Progress runs in a task, so its events may take a moment longer than the request.
EVENT_TIMEOUT = 20


async def next_record(device: LiveClient, name: str, kind: str) -> dict[str, Any]:
    """Return the next `name` event of record kind `kind`, skipping other events."""
    while True:
        _, data = await device.next_event(name, timeout=EVENT_TIMEOUT)
        if data["kind"] == kind:
            return data


async def next_progress(device: LiveClient, workout_id: str) -> dict[str, Any]:
    while True:
        _, data = await device.next_event(names.PROGRESS_UPDATED, timeout=EVENT_TIMEOUT)
        if data["workoutIds"] == [workout_id]:
            return data


async def check_records_live(client: Client) -> None:
    owner, watcher = await users(client, 2)
    phone = await connect(client, owner)
    viewer = await connect(client, watcher)
    try:
        category_id = await create_category(client, owner)
        earlier = await create_workout(
            client, owner, category_id, [bench([{"order": 1, "value": 100, "reps": 5}])]
        )
        await next_progress(phone, earlier["id"])
        first = await next_record(phone, names.RECORD_ACHIEVED, "max_load")
        assert first["workoutId"] == earlier["id"]

        session_id = await start_session(client, owner, category_id)
        await grant(client, owner, session_id, watcher)
        assert (await watch(viewer, session_id))["ok"] is True

        status, heavy = await post_set(client, owner, session_id, set_body("h1", 110, 5))
        assert status == 201
        for device in (phone, viewer):
            # A new set's records leave with the set, and the progress job's totals follow.
            record = await next_record(device, names.RECORD_ACHIEVED, "max_load")
            assert record["value"] == 110
            assert record["previousValue"] == 100
            assert record["workoutId"] == session_id
            assert record["setId"] == heavy["id"]
            progress = await next_progress(device, session_id)
            assert progress["exercises"][0]["maxLoad"] == 110

        response = await client.patch(
            f"/sessions/{session_id}/sets/h1", json={"value": 90}, headers=owner["headers"]
        )
        assert response.status == 200
        for device in (phone, viewer):
            # An edit's progress and records are updated in the edit's own transaction.
            withdrawn = await next_record(device, names.RECORD_WITHDRAWN, "max_load")
            assert withdrawn["value"] == 100
            assert withdrawn["previousValue"] == 110
            assert withdrawn["workoutId"] == earlier["id"]

        await post_set(client, owner, session_id, set_body("h2", 120, 3))
        for device in (phone, viewer):
            record = await next_record(device, names.RECORD_ACHIEVED, "max_load")
            assert record["value"] == 120
            progress = await next_progress(device, session_id)
            assert progress["exercises"][0]["maxLoad"] == 120
        response = await client.delete(f"/sessions/{session_id}/sets/h2", headers=owner["headers"])
        assert response.status == 200
        for device in (phone, viewer):
            progress = await next_progress(device, session_id)
            assert progress["exercises"][0]["maxLoad"] == 100
            withdrawn = await next_record(device, names.RECORD_WITHDRAWN, "max_load")
            assert withdrawn["value"] == 100
    finally:
        await phone.close()
        await viewer.close()


async def test_records_live_on_worker(
    make_client: ClientFactory, pg_settings: Settings, worker: None
) -> None:
    await check_records_live(await make_client(pg_settings))


async def test_records_live_embedded(make_client: ClientFactory, sqlite_settings: Settings) -> None:
    await check_records_live(await make_client(sqlite_settings))


async def test_records_of_other_sessions_not_shared(
    make_client: ClientFactory, sqlite_settings: Settings
) -> None:
    client = await make_client(sqlite_settings)
    owner, watcher = await users(client, 2)
    category_id = await create_category(client, owner)
    shared_id = await start_session(client, owner, category_id)
    private_id = await start_session(client, owner, category_id)
    await grant(client, owner, shared_id, watcher)
    phone, viewer = await connect(client, owner), await connect(client, watcher)
    try:
        assert (await watch(viewer, shared_id))["ok"] is True
        await post_set(client, owner, private_id, set_body("p1", 50, 5))
        await next_record(phone, names.RECORD_ACHIEVED, "max_load")
        await post_set(client, owner, shared_id, set_body("s1", 60, 5))
        record = await next_record(viewer, names.RECORD_ACHIEVED, "max_load")
        # The first record the watcher sees is the shared session's, not the private one's.
        assert record["workoutId"] == shared_id
        assert record["value"] == 60
    finally:
        await phone.close()
        await viewer.close()
