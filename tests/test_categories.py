"""The categories API of the mobile client, on both back ends."""

from __future__ import annotations

import re

from tests.helpers import register
from tests.workout_data import Client, count_rows, create_category, create_workout

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


async def test_category_create_read_update_delete(client: Client) -> None:
    login = await register(client)
    headers = login["headers"]

    response = await client.post(
        "/categories", json={"name": "  Push  ", "color": "#123456"}, headers=headers
    )
    assert response.status == 201
    created = await response.json()
    category_id = created["id"]
    assert isinstance(category_id, str)

    response = await client.get(f"/categories/{category_id}", headers=headers)
    assert response.status == 200
    category = await response.json()
    assert category["name"] == "Push"
    assert category["color"] == "#123456"
    assert category["userId"] == login["userId"]
    assert ISO_UTC.match(category["createdAt"])
    assert ISO_UTC.match(category["updatedAt"])
    assert category["_count"] == {"workouts": 0}

    response = await client.put(
        f"/categories/{category_id}", json={"name": "Pull"}, headers=headers
    )
    assert response.status == 200
    updated = await response.json()
    assert updated["name"] == "Pull"
    assert updated["color"] == "#123456"
    assert updated["updatedAt"] >= category["updatedAt"]

    response = await client.put(f"/categories/{category_id}", json={"color": None}, headers=headers)
    assert response.status == 200
    assert (await response.json())["color"] is None

    response = await client.delete(f"/categories/{category_id}", headers=headers)
    assert response.status == 204
    response = await client.get(f"/categories/{category_id}", headers=headers)
    assert response.status == 404


async def test_category_list_sorted_by_name(client: Client) -> None:
    login = await register(client)
    for name in ("legs", "Push", "arms", "Core"):
        await create_category(client, login, name)

    response = await client.get("/categories", headers=login["headers"])
    assert response.status == 200
    names = [item["name"] for item in await response.json()]
    assert names == ["arms", "Core", "legs", "Push"]


async def test_category_count_follows_writes(client: Client) -> None:
    login = await register(client)
    headers = login["headers"]
    category_id = await create_category(client, login)
    other_id = await create_category(client, login, "Legs")
    first = await create_workout(client, login, category_id)
    await create_workout(client, login, category_id)

    async def counts() -> dict[str, int]:
        response = await client.get("/categories", headers=headers)
        return {item["id"]: item["_count"]["workouts"] for item in await response.json()}

    assert await counts() == {category_id: 2, other_id: 0}

    response = await client.put(
        f"/workouts/{first['id']}", json={"categoryId": other_id}, headers=headers
    )
    assert response.status == 200
    assert await counts() == {category_id: 1, other_id: 1}

    response = await client.delete(f"/workouts/{first['id']}", headers=headers)
    assert response.status == 200
    assert await counts() == {category_id: 1, other_id: 0}

    response = await client.get(f"/categories/{category_id}", headers=headers)
    assert (await response.json())["_count"] == {"workouts": 1}


async def test_category_duplicate_name_conflicts(client: Client) -> None:
    login = await register(client)
    headers = login["headers"]
    await create_category(client, login, "Push")
    legs_id = await create_category(client, login, "Legs")

    response = await client.post("/categories", json={"name": " Push "}, headers=headers)
    assert response.status == 409
    assert "already exists" in (await response.json())["error"]

    response = await client.put(f"/categories/{legs_id}", json={"name": "Push"}, headers=headers)
    assert response.status == 409
    response = await client.get(f"/categories/{legs_id}", headers=headers)
    assert (await response.json())["name"] == "Legs"


async def test_category_same_name_two_users(client: Client) -> None:
    first = await register(client)
    second = await register(client)
    await create_category(client, first, "Push")
    await create_category(client, second, "Push")

    response = await client.get("/categories", headers=second["headers"])
    assert [item["name"] for item in await response.json()] == ["Push"]


async def test_category_delete_removes_workouts(client: Client) -> None:
    login = await register(client)
    headers = login["headers"]
    category_id = await create_category(client, login)
    kept_id = await create_category(client, login, "Legs")
    await create_workout(client, login, category_id)
    await create_workout(client, login, category_id)
    kept = await create_workout(client, login, kept_id)

    response = await client.delete(f"/categories/{category_id}", headers=headers)
    assert response.status == 204

    response = await client.get("/workouts", headers=headers)
    assert [item["id"] for item in (await response.json())["workouts"]] == [kept["id"]]
    rows = await count_rows(client)
    assert rows["workouts"] == 1
    assert rows["exercises"] == 1
    assert rows["sets"] == 4


async def test_category_with_live_session_not_deleted(client: Client) -> None:
    login = await register(client)
    headers = login["headers"]
    category_id = await create_category(client, login)
    await create_workout(client, login, category_id)
    response = await client.post("/sessions", json={"categoryId": category_id}, headers=headers)
    assert response.status == 201, await response.text()
    session_id = (await response.json())["id"]

    response = await client.delete(f"/categories/{category_id}", headers=headers)
    assert response.status == 409
    assert f"/sessions/{session_id}/finish" in (await response.json())["error"]
    rows = await count_rows(client)
    assert rows["workouts"] == 2

    response = await client.post(f"/sessions/{session_id}/finish", headers=headers)
    assert response.status == 200
    response = await client.delete(f"/categories/{category_id}", headers=headers)
    assert response.status == 204
    assert (await count_rows(client))["workouts"] == 0


async def test_category_other_user_not_found(client: Client) -> None:
    owner = await register(client)
    intruder = await register(client)
    category_id = await create_category(client, owner, "Push")
    headers = intruder["headers"]
    before = await count_rows(client)

    response = await client.get(f"/categories/{category_id}", headers=headers)
    assert response.status == 404
    response = await client.put(f"/categories/{category_id}", json={"name": "X"}, headers=headers)
    assert response.status == 404
    response = await client.delete(f"/categories/{category_id}", headers=headers)
    assert response.status == 404
    response = await client.get("/categories", headers=headers)
    assert await response.json() == []

    response = await client.get(f"/categories/{category_id}", headers=owner["headers"])
    assert (await response.json())["name"] == "Push"
    after = await count_rows(client)
    assert after["categories"] == before["categories"]
