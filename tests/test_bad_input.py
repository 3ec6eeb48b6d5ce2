"""Bad input to the categories and workouts API: a 4xx naming the field, and no write."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.helpers import register
from tests.workout_data import (
    Client,
    Login,
    bench,
    count_rows,
    create_category,
    create_workout,
)

ONE_SET = {"order": 1, "value": 50, "reps": 5}
CATEGORY = "<category>"


def exercise(**changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"type": "weight", "name": "Squat", "order": 1, "setsDetail": [ONE_SET]}
    item.update(changes)
    return item


def with_set(**changes: Any) -> dict[str, Any]:
    return exercise(setsDetail=[ONE_SET, {**ONE_SET, "order": 2, **changes}])


def workout(*exercises: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"categoryId": CATEGORY, "exercises": list(exercises) or [exercise()]}
    body.update(changes)
    return body


BAD_WORKOUTS: list[tuple[str, dict[str, Any], str]] = [
    ("no category", {"exercises": [exercise()]}, "categoryId"),
    ("no exercises", {"categoryId": CATEGORY}, "exercises"),
    ("empty exercises", workout(exercises=[]), "exercises"),
    ("exercises not a list", workout(exercises="squat"), "exercises"),
    ("too many exercises", workout(exercises=[exercise()] * 101), "exercises"),
    ("category null", workout(categoryId=None), "categoryId"),
    ("category boolean", workout(categoryId=True), "categoryId"),
    ("category list", workout(categoryId=["1"]), "categoryId"),
    ("notes number", workout(notes=5), "notes"),
    ("notes too long", workout(notes="n" * 10_001), "notes"),
    ("exercise empty", workout({}), "exercises.0.type"),
    ("exercise not object", workout(exercises=["squat"]), "exercises.0"),
    ("type unknown", workout(exercise(type="cardio")), "exercises.0.type"),
    ("type missing", workout({"name": "Squat", "order": 1}), "exercises.0.type"),
    ("unit of other type", workout(exercise(unit="km")), "exercises.0.unit"),
    ("unit unknown", workout(exercise(type="time", unit="hours")), "exercises.0.unit"),
    ("name missing", workout({"type": "weight", "order": 1}), "exercises.0.name"),
    ("name empty", workout(exercise(name="")), "exercises.0.name"),
    ("name blank", workout(exercise(name="   ")), "exercises.0.name"),
    ("name too long", workout(exercise(name="x" * 201)), "exercises.0.name"),
    ("name number", workout(exercise(name=5)), "exercises.0.name"),
    ("exercise notes too long", workout(exercise(notes="n" * 10_001)), "exercises.0.notes"),
    ("order string", workout(exercise(order="1")), "exercises.0.order"),
    ("order fraction", workout(exercise(order=1.5)), "exercises.0.order"),
    ("order huge", workout(exercise(order=10**12)), "exercises.0.order"),
    ("sets not a list", workout(exercise(setsDetail="3x5")), "exercises.0.setsDetail"),
    ("too many sets", workout(exercise(setsDetail=[ONE_SET] * 101)), "exercises.0.setsDetail"),
    ("reps missing", workout(exercise(setsDetail=[{"order": 1}])), "exercises.0.setsDetail.0.reps"),
    ("reps negative", workout(with_set(reps=-1)), "exercises.0.setsDetail.1.reps"),
    ("reps fraction", workout(with_set(reps=2.5)), "exercises.0.setsDetail.1.reps"),
    ("reps string", workout(with_set(reps="5")), "exercises.0.setsDetail.1.reps"),
    ("reps boolean", workout(with_set(reps=True)), "exercises.0.setsDetail.1.reps"),
    ("reps huge", workout(with_set(reps=10**10)), "exercises.0.setsDetail.1.reps"),
    ("value negative", workout(with_set(value=-5)), "exercises.0.setsDetail.1.value"),
    ("value string", workout(with_set(value="heavy")), "exercises.0.setsDetail.1.value"),
    ("value huge", workout(with_set(value=1e300)), "exercises.0.setsDetail.1.value"),
    ("set order string", workout(with_set(order="2")), "exercises.0.setsDetail.1.order"),
    ("rest negative", workout(with_set(restMinutes=-1)), "exercises.0.setsDetail.1.restMinutes"),
    ("third exercise bad", workout(exercise(), exercise(), exercise(type="x")), "exercises.2.type"),
]


async def setup(client: Client) -> tuple[Login, str]:
    login = await register(client)
    category_id = await create_category(client, login)
    await create_workout(client, login, category_id)
    return login, category_id


def fill_category(body: Any, category_id: str) -> Any:
    if isinstance(body, dict):
        return {key: fill_category(value, category_id) for key, value in body.items()}
    return category_id if body == CATEGORY else body


async def assert_nothing_written(client: Client, before: dict[str, int]) -> None:
    after = await count_rows(client)
    for table in ("categories", "workouts", "exercises", "sets"):
        assert after[table] == before[table], table
    # Outbox rows of earlier writes may leave meanwhile, but no new one may appear.
    assert after["outbox"] <= before["outbox"]


async def test_bad_workouts_rejected(client: Client) -> None:
    login, category_id = await setup(client)
    before = await count_rows(client)

    for case, body, field in BAD_WORKOUTS:
        response = await client.post(
            "/workouts", json=fill_category(body, category_id), headers=login["headers"]
        )
        assert response.status == 400, case
        reply = await response.json()
        assert field in [item["field"] for item in reply["details"]], case
        assert field in reply["error"], case
    await assert_nothing_written(client, before)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"exercises": []}, "exercises"),
        ({"exercises": [exercise(type="yoga")]}, "exercises.0.type"),
        ({"notes": ["a"]}, "notes"),
        ({"categoryId": False}, "categoryId"),
        ({"exercises": [with_set(reps=-3)]}, "exercises.0.setsDetail.1.reps"),
    ],
)
async def test_bad_workout_update_rejected(
    client: Client, body: dict[str, Any], field: str
) -> None:
    login, category_id = await setup(client)
    created = await create_workout(client, login, category_id, [bench()], notes="keep")
    before = await count_rows(client)

    response = await client.put(f"/workouts/{created['id']}", json=body, headers=login["headers"])
    assert response.status == 400
    assert field in [item["field"] for item in (await response.json())["details"]]

    response = await client.get(f"/workouts/{created['id']}", headers=login["headers"])
    assert await response.json() == created
    await assert_nothing_written(client, before)


@pytest.mark.parametrize("category_id", ["999999999", "abc", "1e3", "", "99999999999999999999"])
async def test_unknown_category_not_found(client: Client, category_id: str) -> None:
    login, _ = await setup(client)
    before = await count_rows(client)

    response = await client.post(
        "/workouts",
        json={"categoryId": category_id, "exercises": [exercise()]},
        headers=login["headers"],
    )
    assert response.status == 404
    assert "category not found" in (await response.json())["error"]
    await assert_nothing_written(client, before)


async def test_other_users_category_not_found(client: Client) -> None:
    login, _ = await setup(client)
    other = await register(client)
    other_category = await create_category(client, other, "Theirs")
    before = await count_rows(client)

    response = await client.post(
        "/workouts",
        json={"categoryId": other_category, "exercises": [exercise()]},
        headers=login["headers"],
    )
    assert response.status == 404
    await assert_nothing_written(client, before)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/workouts"),
        ("PUT", "/workouts/<workout>"),
        ("POST", "/categories"),
        ("PUT", "/categories/<category>"),
    ],
)
async def test_non_json_body_rejected(client: Client, method: str, path: str) -> None:
    login, category_id = await setup(client)
    created = await create_workout(client, login, category_id)
    path = path.replace("<workout>", created["id"]).replace("<category>", category_id)
    headers = {**login["headers"], "Content-Type": "application/json"}
    before = await count_rows(client)

    for data in (b"not json", b'{"name": ', b"[1, 2]", b"null", b"", b'"text"', b"\xff\xfe"):
        response = await client.request(method, path, data=data, headers=headers)
        assert response.status == 400, data
        assert (await response.json())["details"][0]["field"] == "body"
    await assert_nothing_written(client, before)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/workouts"),
        ("PUT", "/workouts/<workout>"),
        ("POST", "/categories"),
        ("PUT", "/categories/<category>"),
    ],
)
async def test_huge_body_too_large(client: Client, method: str, path: str) -> None:
    login, category_id = await setup(client)
    created = await create_workout(client, login, category_id)
    path = path.replace("<workout>", created["id"]).replace("<category>", category_id)
    body = {
        "categoryId": category_id,
        "name": "Big",
        "notes": "x" * (1024 * 1024),
        "exercises": [exercise()],
    }
    before = await count_rows(client)

    response = await client.request(method, path, json=body, headers=login["headers"])
    assert response.status == 413
    assert "too large" in (await response.json())["error"]
    await assert_nothing_written(client, before)


BAD_CATEGORIES: list[tuple[dict[str, Any], str]] = [
    ({}, "name"),
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "x" * 101}, "name"),
    ({"name": 5}, "name"),
    ({"name": None}, "name"),
    ({"name": "Ok", "color": "c" * 33}, "color"),
    ({"name": "Ok", "color": 255}, "color"),
]


async def test_bad_categories_rejected(client: Client) -> None:
    login, category_id = await setup(client)
    before = await count_rows(client)

    for body, field in BAD_CATEGORIES:
        response = await client.post("/categories", json=body, headers=login["headers"])
        assert response.status == 400, body
        assert field in [item["field"] for item in (await response.json())["details"]], body
        if not body:
            continue  # an update without fields is valid
        response = await client.put(
            f"/categories/{category_id}", json=body, headers=login["headers"]
        )
        assert response.status == 400, body
        assert field in [item["field"] for item in (await response.json())["details"]], body

    response = await client.get(f"/categories/{category_id}", headers=login["headers"])
    assert (await response.json())["name"] == "Push"
    await assert_nothing_written(client, before)


@pytest.mark.parametrize("bad_id", ["abc", "1.5", "-1", "0", "99999999999999999999", "١"])
async def test_impossible_ids_not_found(client: Client, bad_id: str) -> None:
    login, _ = await setup(client)
    headers = login["headers"]
    before = await count_rows(client)
    calls: list[tuple[str, str, Any]] = [
        ("GET", f"/categories/{bad_id}", None),
        ("PUT", f"/categories/{bad_id}", {"name": "X"}),
        ("DELETE", f"/categories/{bad_id}", None),
        ("GET", f"/workouts/{bad_id}", None),
        ("PUT", f"/workouts/{bad_id}", {"notes": "x"}),
        ("DELETE", f"/workouts/{bad_id}", None),
        ("GET", f"/workouts/category/{bad_id}", None),
        ("GET", f"/workouts/category/{bad_id}/check-previous", None),
    ]
    for method, path, body in calls:
        response = await client.request(method, path, json=body, headers=headers)
        assert response.status == 404, (method, path)
    await assert_nothing_written(client, before)


async def test_bad_progress_flag_rejected(client: Client) -> None:
    login, category_id = await setup(client)
    response = await client.get(
        f"/workouts/category/{category_id}",
        params={"includeProgress": "maybe"},
        headers=login["headers"],
    )
    assert response.status == 400
    assert (await response.json())["details"][0]["field"] == "includeProgress"


async def test_every_route_needs_token(client: Client) -> None:
    login, category_id = await setup(client)
    created = await create_workout(client, login, category_id)
    before = await count_rows(client)
    calls = [
        ("GET", "/categories"),
        ("POST", "/categories"),
        ("GET", f"/categories/{category_id}"),
        ("PUT", f"/categories/{category_id}"),
        ("DELETE", f"/categories/{category_id}"),
        ("GET", "/workouts"),
        ("POST", "/workouts"),
        ("GET", f"/workouts/{created['id']}"),
        ("PUT", f"/workouts/{created['id']}"),
        ("DELETE", f"/workouts/{created['id']}"),
        ("GET", f"/workouts/category/{category_id}"),
        ("GET", f"/workouts/category/{category_id}/check-previous"),
    ]
    for method, path in calls:
        for headers in ({}, {"Authorization": "Bearer nonsense"}):
            response = await client.request(method, path, json={"name": "x"}, headers=headers)
            assert response.status == 401, (method, path)
    await assert_nothing_written(client, before)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/categories", {"name": "a\u0000b"}, "name"),
        ("/categories", {"name": "ok", "color": "\u0000"}, "color"),
    ],
)
async def test_nul_character_rejected(
    client: TestClient[Any, Any], path: str, body: dict[str, Any], field: str
) -> None:
    login = await register(client)
    response = await client.post(path, json=body, headers=login["headers"])
    assert response.status == 400
    details = (await response.json())["details"]
    assert details[0]["field"] == field
    assert "NUL" in details[0]["message"]


async def test_nul_in_workout_notes_rejected(client: TestClient[Any, Any]) -> None:
    login = await register(client)
    response = await client.post("/categories", json={"name": "Push"}, headers=login["headers"])
    category_id = (await response.json())["id"]
    body = {
        "categoryId": category_id,
        "exercises": [{"type": "weight", "name": "Row\u0000", "order": 1}],
    }
    response = await client.post("/workouts", json=body, headers=login["headers"])
    assert response.status == 400
    assert (await response.json())["details"][0]["field"] == "exercises.0.name"


async def test_nul_in_login_email_rejected(client: TestClient[Any, Any]) -> None:
    response = await client.post(
        "/auth/login", json={"email": "a\u0000@example.com", "password": "whatever"}
    )
    assert response.status == 400


async def test_malformed_job_id_not_found(client: TestClient[Any, Any]) -> None:
    login = await register(client)
    response = await client.get("/jobs/%00", headers=login["headers"])
    assert response.status == 404
