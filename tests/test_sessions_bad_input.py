"""Invalid requests to live sessions over REST and Socket.IO: each gets the right 4xx."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.helpers import register
from tests.session_data import (
    BENCH,
    call,
    connect,
    get_session,
    parse_time,
    post_set,
    set_body,
    start_session,
    users,
)
from tests.workout_data import Client, create_category

# A week after the test run, further ahead of the server clock than a set may be dated.
NEXT_WEEK = (datetime.now(UTC) + timedelta(days=7)).isoformat()

# (name, change to a valid set body, status, field named in details)
BAD_SETS: list[tuple[str, dict[str, Any], int, str]] = [
    ("no client id", {"clientId": None}, 400, "clientId"),
    ("numeric client id", {"clientId": 12}, 400, "clientId"),
    ("client id with slash", {"clientId": "a/b"}, 400, "clientId"),
    ("long client id", {"clientId": "x" * 65}, 400, "clientId"),
    ("reps as text", {"reps": "5"}, 400, "reps"),
    ("no reps", {"reps": None}, 400, "reps"),
    ("negative value", {"value": -1}, 400, "value"),
    ("value as text", {"value": "heavy"}, 400, "value"),
    ("bad performedAt", {"performedAt": "yesterday"}, 400, "performedAt"),
    ("performedAt before year 1", {"performedAt": "0001-01-01T00:00:00+14:00"}, 400, "performedAt"),
    ("performedAt after 9999", {"performedAt": "9999-12-31T23:59:59-14:00"}, 400, "performedAt"),
    ("performedAt next week", {"performedAt": NEXT_WEEK}, 400, "performedAt"),
    ("no exercise", {"exercise": None}, 400, "exercise"),
    ("bad type", {"exercise": {"type": "speed", "name": "Run"}}, 400, "exercise.type"),
    ("empty name", {"exercise": {"type": "weight", "name": "  "}}, 400, "exercise.name"),
    ("bad unit", {"exercise": {**BENCH, "unit": "seconds"}}, 400, "exercise.unit"),
]


def bad_set(change: dict[str, Any]) -> dict[str, Any]:
    body = set_body("c1")
    for key, value in change.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return body


@pytest.mark.parametrize(
    ("case", "change", "status", "field"), BAD_SETS, ids=[c[0] for c in BAD_SETS]
)
async def test_log_set_rejects_rest(
    client: Client, case: str, change: dict[str, Any], status: int, field: str
) -> None:
    login = await register(client)
    session_id = await start_session(client, login)
    got, reply = await post_set(client, login, session_id, bad_set(change))
    assert got == status
    assert field in [item["field"] for item in reply["details"]]
    state = await get_session(client, login, session_id)
    assert state["exercises"] == []


async def test_performed_at_ahead_or_offset_accepted(client: Client) -> None:
    login = await register(client)
    session_id = await start_session(client, login)
    soon = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    status, reply = await post_set(
        client, login, session_id, set_body("a", performed_at=soon.isoformat())
    )
    assert status == 201, reply
    assert parse_time(reply["performedAt"]) == soon
    offset = "2026-03-02T20:00:00+02:00"
    status, reply = await post_set(client, login, session_id, set_body("b", performed_at=offset))
    assert status == 201, reply
    assert reply["performedAt"] == "2026-03-02T18:00:00.000Z"


async def test_log_set_rejects_socket(client: Client) -> None:
    login = await register(client)
    session_id = await start_session(client, login)
    live = await connect(client, login)
    try:
        for case, change, status, field in BAD_SETS:
            ack = await call(live, "session:log_set", {"sessionId": session_id, **bad_set(change)})
            assert ack["ok"] is False, case
            assert ack["status"] == status, case
            assert field in [item["field"] for item in ack["details"]], case
        ack = await call(live, "session:log_set", set_body("c1"))
        assert ack["status"] == 400
        assert ack["details"][0]["field"] == "sessionId"
        ack = await call(live, "session:log_set", ["not", "an", "object"])
        assert ack["status"] == 400
        assert ack["details"][0]["field"] == "body"
    finally:
        await live.close()
    state = await get_session(client, login, session_id)
    assert state["exercises"] == []


async def test_other_exercise_type_rejected(client: Client) -> None:
    login = await register(client)
    session_id = await start_session(client, login)
    await post_set(client, login, session_id, set_body("a"))
    body = set_body("b", 60, 1, {"type": "time", "name": "bench press"})
    status, reply = await post_set(client, login, session_id, body)
    assert status == 400
    assert reply["details"][0]["field"] == "exercise.type"
    body = set_body("c", exercise={**BENCH, "unit": "lb"})
    status, reply = await post_set(client, login, session_id, body)
    assert status == 400
    assert reply["details"][0]["field"] == "exercise.unit"


async def test_unknown_and_foreign_sessions(client: Client) -> None:
    owner, other = await users(client, 2)
    session_id = await start_session(client, owner)
    for path in ("/sessions/999999", "/sessions/abc", f"/sessions/{session_id}"):
        response = await client.get(path, headers=other["headers"])
        assert response.status == 404, path
        response = await client.post(f"{path}/sets", json=set_body("a"), headers=other["headers"])
        assert response.status == 404, path
        response = await client.post(f"{path}/finish", headers=other["headers"])
        assert response.status == 404, path
    live = await connect(client, other)
    try:
        for sid in ("999999", session_id):
            ack = await call(live, "session:log_set", {"sessionId": sid, **set_body("a")})
            assert ack == {"ok": False, "error": "session not found", "status": 404}
    finally:
        await live.close()


async def test_finished_session_rejected_socket(client: Client) -> None:
    login = await register(client)
    session_id = await start_session(client, login)
    await client.post(f"/sessions/{session_id}/finish", headers=login["headers"])
    live = await connect(client, login)
    try:
        ack = await call(live, "session:log_set", {"sessionId": session_id, **set_body("a")})
        assert ack["ok"] is False
        assert ack["status"] == 409
        assert "finished" in ack["error"]
        ack = await call(live, "session:start_timer", {"sessionId": session_id, "seconds": 5})
        assert ack["status"] == 409
    finally:
        await live.close()


@pytest.mark.parametrize("seconds", [0, 3601, "60", 1.5, None])
async def test_timer_rejects_seconds(client: Client, seconds: Any) -> None:
    login = await register(client)
    session_id = await start_session(client, login)
    response = await client.post(
        f"/sessions/{session_id}/timer", json={"seconds": seconds}, headers=login["headers"]
    )
    assert response.status == 400
    assert (await response.json())["details"][0]["field"] == "seconds"


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "body"), ({"reps": None}, "reps"), ({"reps": -1}, "reps"), ({"value": "x"}, "value")],
)
async def test_update_set_rejects(client: Client, body: dict[str, Any], field: str) -> None:
    login = await register(client)
    session_id = await start_session(client, login)
    await post_set(client, login, session_id, set_body("a"))
    response = await client.patch(
        f"/sessions/{session_id}/sets/a", json=body, headers=login["headers"]
    )
    assert response.status == 400
    assert field in [item["field"] for item in (await response.json())["details"]]


@pytest.mark.parametrize(
    ("body", "status"), [({}, 400), ({"categoryId": "abc"}, 404), ({"categoryId": "99999"}, 404)]
)
async def test_start_rejects_category(client: Client, body: dict[str, Any], status: int) -> None:
    login = await register(client)
    await create_category(client, login)
    response = await client.post("/sessions", json=body, headers=login["headers"])
    assert response.status == status


async def test_watcher_email_invalid(client: Client) -> None:
    login = await register(client)
    session_id = await start_session(client, login)
    response = await client.post(
        f"/sessions/{session_id}/watchers", json={"email": "not-an-email"}, headers=login["headers"]
    )
    assert response.status == 400
    assert (await response.json())["details"][0]["field"] == "email"


async def test_sessions_need_login(client: Client) -> None:
    response = await client.get("/sessions")
    assert response.status == 401
