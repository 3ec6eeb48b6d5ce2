"""The live sessions REST API, on both back ends."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

from tests.helpers import register
from tests.session_data import (
    get_session,
    grant,
    iso_at,
    parse_time,
    post_set,
    set_body,
    start_session,
    users,
)
from tests.workout_data import Client, bench, create_category, create_workout


async def test_start_session_reply(client: Client) -> None:
    login = await register(client)
    category_id = await create_category(client, login)
    before = datetime.now(UTC)
    response = await client.post(
        "/sessions", json={"categoryId": category_id, "notes": "easy"}, headers=login["headers"]
    )
    assert response.status == 201
    reply = await response.json()
    assert reply["status"] == "live"
    assert reply["notes"] == "easy"
    assert reply["categoryId"] == category_id
    assert reply["userId"] == login["userId"]
    assert reply["exercises"] == []
    assert reply["timer"] is None
    assert reply["finishedAt"] is None
    assert reply["watchers"] == []
    assert abs(parse_time(reply["createdAt"]) - before) < timedelta(seconds=5)


async def test_log_set_finds_exercise_by_name(client: Client) -> None:
    login = await register(client)
    session_id = await start_session(client, login)
    status, first = await post_set(client, login, session_id, set_body("a1"))
    assert status == 201
    assert first["clientId"] == "a1"
    assert first["exercise"]["name"] == "Bench Press"
    assert first["exerciseId"] == first["exercise"]["id"]
    assert first["order"] == 1
    assert first["performedAt"] is not None

    same = {"type": "weight", "name": "  bench   PRESS"}
    status, second = await post_set(client, login, session_id, set_body("a2", exercise=same))
    assert status == 201
    assert second["exerciseId"] == first["exerciseId"]
    assert second["order"] == 2
    assert second["exercise"]["unit"] == "kg"

    plank = {"type": "time", "name": "Plank"}
    status, third = await post_set(client, login, session_id, set_body("a3", 60, 1, plank))
    assert status == 201
    assert third["exercise"]["order"] == 2
    assert third["exercise"]["unit"] == "seconds"

    state = await get_session(client, login, session_id)
    assert [e["name"] for e in state["exercises"]] == ["Bench Press", "Plank"]
    assert [s["clientId"] for s in state["exercises"][0]["setsDetail"]] == ["a1", "a2"]


async def test_same_client_id_stored_once(client: Client) -> None:
    login = await register(client)
    session_id = await start_session(client, login)
    replies = []
    for _ in range(3):
        replies.append(await post_set(client, login, session_id, set_body("once", 80, 8)))
    assert [status for status, _ in replies] == [201, 200, 200]
    assert len({reply["id"] for _, reply in replies}) == 1
    # A retry with other values still returns the stored set unchanged.
    status, retry = await post_set(client, login, session_id, set_body("once", 999, 1))
    assert status == 200
    assert retry["value"] == 80
    state = await get_session(client, login, session_id)
    assert len(state["exercises"]) == 1
    assert len(state["exercises"][0]["setsDetail"]) == 1


async def test_concurrent_retries_stored_once(client: Client) -> None:
    login = await register(client)
    session_id = await start_session(client, login)
    replies = await asyncio.gather(
        *(post_set(client, login, session_id, set_body("race", 70, 10)) for _ in range(5))
    )
    statuses = sorted(status for status, _ in replies)
    assert statuses == [200, 200, 200, 200, 201]
    assert len({reply["id"] for _, reply in replies}) == 1
    state = await get_session(client, login, session_id)
    assert len(state["exercises"]) == 1
    assert len(state["exercises"][0]["setsDetail"]) == 1


async def test_replay_listed_in_performed_order(client: Client) -> None:
    login = await register(client)
    category_id = await create_category(client, login)
    session_id = await start_session(client, login, category_id)
    seconds = list(range(8))
    arrival = seconds[:]
    random.Random(7).shuffle(arrival)
    for second in arrival + arrival[:3]:
        body = set_body(f"s{second}", 100 + second, 5, performed_at=iso_at(second))
        status, _ = await post_set(client, login, session_id, body)
        assert status in (200, 201)

    state = await get_session(client, login, session_id)
    sets = state["exercises"][0]["setsDetail"]
    assert [s["clientId"] for s in sets] == [f"s{second}" for second in seconds]
    assert [s["order"] for s in sets] == list(range(1, 9))
    assert [s["performedAt"] for s in sets] == [iso_at(second) for second in seconds]

    response = await client.post(f"/sessions/{session_id}/finish", headers=login["headers"])
    assert response.status == 200
    response = await client.get("/workouts", headers=login["headers"])
    workouts = (await response.json())["workouts"]
    assert [w["id"] for w in workouts] == [session_id]
    values = [s["value"] for s in workouts[0]["exercises"][0]["setsDetail"]]
    assert values == [100 + second for second in seconds]


async def test_update_and_delete_set(client: Client) -> None:
    login = await register(client)
    session_id = await start_session(client, login)
    await post_set(client, login, session_id, set_body("x", 100, 5))
    await post_set(client, login, session_id, set_body("y", 110, 3))
    headers = login["headers"]

    response = await client.patch(
        f"/sessions/{session_id}/sets/x", json={"value": None, "reps": 6}, headers=headers
    )
    assert response.status == 200
    updated = await response.json()
    assert updated["value"] is None
    assert updated["reps"] == 6
    assert updated["restMinutes"] is None

    response = await client.delete(f"/sessions/{session_id}/sets/x", headers=headers)
    assert response.status == 200
    assert await response.json() == {"success": True}
    response = await client.delete(f"/sessions/{session_id}/sets/x", headers=headers)
    assert response.status == 404
    response = await client.patch(
        f"/sessions/{session_id}/sets/x", json={"reps": 1}, headers=headers
    )
    assert response.status == 404

    state = await get_session(client, login, session_id)
    sets = state["exercises"][0]["setsDetail"]
    assert [(s["clientId"], s["order"]) for s in sets] == [("y", 1)]
    response = await client.delete(f"/sessions/{session_id}/sets/y", headers=headers)
    assert response.status == 200
    # An exercise left without sets goes with its last set.
    assert (await get_session(client, login, session_id))["exercises"] == []


async def test_timer_ends_by_server_clock(client: Client) -> None:
    login = await register(client)
    session_id = await start_session(client, login)
    headers = login["headers"]
    before = datetime.now(UTC)
    response = await client.post(
        f"/sessions/{session_id}/timer", json={"seconds": 90}, headers=headers
    )
    assert response.status == 200
    ends_at = parse_time((await response.json())["endsAt"])
    assert abs(ends_at - (before + timedelta(seconds=90))) < timedelta(seconds=1)
    assert (await get_session(client, login, session_id))["timer"] == {
        "endsAt": (await response.json())["endsAt"]
    }

    response = await client.delete(f"/sessions/{session_id}/timer", headers=headers)
    assert response.status == 200
    assert await response.json() == {"endsAt": None}
    assert (await get_session(client, login, session_id))["timer"] is None


async def test_live_session_hidden_from_old_api(client: Client) -> None:
    login = await register(client)
    headers = login["headers"]
    category_id = await create_category(client, login)
    session_id = await start_session(client, login, category_id)
    await post_set(client, login, session_id, set_body("a"))

    response = await client.get("/workouts", headers=headers)
    assert (await response.json())["workouts"] == []
    response = await client.get(f"/workouts/category/{category_id}", headers=headers)
    assert (await response.json())["workouts"] == []
    response = await client.get(f"/workouts/category/{category_id}/check-previous", headers=headers)
    assert await response.json() == {"hasPrevious": False}
    response = await client.get("/categories", headers=headers)
    assert (await response.json())[0]["_count"] == {"workouts": 0}
    response = await client.get(f"/categories/{category_id}", headers=headers)
    assert (await response.json())["_count"] == {"workouts": 0}

    response = await client.put(f"/workouts/{session_id}", json={"notes": "x"}, headers=headers)
    assert response.status == 409
    assert "/sessions" in (await response.json())["error"]
    response = await client.delete(f"/workouts/{session_id}", headers=headers)
    assert response.status == 409


async def test_finished_session_joins_old_api(client: Client) -> None:
    login = await register(client)
    headers = login["headers"]
    category_id = await create_category(client, login)
    session_id = await start_session(client, login, category_id)
    await post_set(client, login, session_id, set_body("a", 100, 5))
    await client.post(f"/sessions/{session_id}/timer", json={"seconds": 60}, headers=headers)

    response = await client.post(f"/sessions/{session_id}/finish", headers=headers)
    assert response.status == 200
    finished = await response.json()
    assert finished["status"] == "finished"
    assert finished["finishedAt"] is not None
    assert finished["timer"] is None
    assert finished["exercises"][0]["setsDetail"][0]["value"] == 100

    response = await client.get(
        f"/workouts/category/{category_id}?includeProgress=true", headers=headers
    )
    listed = await response.json()
    assert [w["id"] for w in listed["workouts"]] == [session_id]
    assert listed["progress"]["Bench Press-weight"]["progress"][0]["volume"] == 500
    response = await client.get(f"/workouts/category/{category_id}/check-previous", headers=headers)
    assert await response.json() == {"hasPrevious": True}
    response = await client.get("/categories", headers=headers)
    assert (await response.json())[0]["_count"] == {"workouts": 1}

    for method, path, body in (
        ("POST", "sets", set_body("b")),
        ("PATCH", "sets/a", {"reps": 1}),
        ("DELETE", "sets/a", None),
        ("POST", "timer", {"seconds": 30}),
        ("DELETE", "timer", None),
        ("POST", "finish", None),
    ):
        response = await client.request(
            method, f"/sessions/{session_id}/{path}", json=body, headers=headers
        )
        assert response.status == 409, (method, path)
        assert "finished" in (await response.json())["error"]
    response = await client.put(f"/workouts/{session_id}", json={"notes": "ok"}, headers=headers)
    assert response.status == 200


async def test_list_sessions_owned_and_shared(client: Client) -> None:
    owner, watcher, stranger = await users(client, 3)
    category_id = await create_category(client, owner)
    session_id = await start_session(client, owner, category_id)
    finished_id = await start_session(client, owner, category_id)
    await client.post(f"/sessions/{finished_id}/finish", headers=owner["headers"])
    await grant(client, owner, session_id, watcher)

    response = await client.get("/sessions", headers=owner["headers"])
    owned = (await response.json())["sessions"]
    assert [(s["id"], s["role"]) for s in owned] == [(session_id, "owner")]
    response = await client.get("/sessions", headers=watcher["headers"])
    shared = (await response.json())["sessions"]
    assert [(s["id"], s["role"]) for s in shared] == [(session_id, "watcher")]
    response = await client.get("/sessions", headers=stranger["headers"])
    assert (await response.json())["sessions"] == []


async def test_watchers_grant_and_revoke(client: Client) -> None:
    owner, watcher, stranger = await users(client, 3)
    session_id = await start_session(client, owner)
    path = f"/sessions/{session_id}/watchers"

    response = await client.post(
        path, json={"email": watcher["email"].upper()}, headers=owner["headers"]
    )
    assert response.status == 201
    created = await response.json()
    assert created["userId"] == watcher["userId"]
    assert created["email"] == watcher["email"]
    response = await client.post(path, json={"email": watcher["email"]}, headers=owner["headers"])
    assert response.status == 409
    response = await client.post(
        path, json={"email": "nobody@example.com"}, headers=owner["headers"]
    )
    assert response.status == 404
    response = await client.post(path, json={"email": owner["email"]}, headers=owner["headers"])
    assert response.status == 400
    assert (await response.json())["details"][0]["field"] == "email"

    response = await client.get(path, headers=owner["headers"])
    assert [w["userId"] for w in (await response.json())["watchers"]] == [watcher["userId"]]
    state = await get_session(client, owner, session_id)
    assert [w["email"] for w in state["watchers"]] == [watcher["email"]]
    seen = await get_session(client, watcher, session_id)
    assert "watchers" not in seen
    response = await client.get(f"/sessions/{session_id}", headers=stranger["headers"])
    assert response.status == 404

    # A watcher reads but does not write; a stranger learns nothing.
    status, _ = await post_set(client, watcher, session_id, set_body("w"))
    assert status == 403
    status, _ = await post_set(client, stranger, session_id, set_body("w"))
    assert status == 404
    response = await client.get(path, headers=watcher["headers"])
    assert response.status == 403

    response = await client.delete(f"{path}/{watcher['userId']}", headers=owner["headers"])
    assert response.status == 204
    response = await client.get(f"/sessions/{session_id}", headers=watcher["headers"])
    assert response.status == 404
    response = await client.delete(f"{path}/{watcher['userId']}", headers=owner["headers"])
    assert response.status == 404


async def test_plain_workout_is_no_session(client: Client) -> None:
    login = await register(client)
    category_id = await create_category(client, login)
    workout = await create_workout(client, login, category_id, [bench()])
    response = await client.get(f"/sessions/{workout['id']}", headers=login["headers"])
    assert response.status == 404
    status, _ = await post_set(client, login, workout["id"], set_body("a"))
    assert status == 404
