"""The workouts API of the mobile client, on both back ends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, select, update

from server.config import Settings
from storage import categories, workouts
from storage.db import Database
from storage.models import OutboxMessage, User, Workout
from storage.workouts import NewExercise, NewSet
from tests.helpers import register
from tests.live import LiveClient
from tests.workout_data import (
    Client,
    bench,
    count_rows,
    create_category,
    create_workout,
    database,
    insert_workouts,
)


def plank(order: int = 2) -> dict[str, Any]:
    return {
        "type": "time",
        "name": "Plank",
        "unit": "seconds",
        "order": order,
        "setsDetail": [{"order": 1, "value": 60, "reps": 1}, {"order": 2, "value": 90, "reps": 1}],
    }


async def set_created_at(client: Client, workout_id: str, when: datetime) -> None:
    async with database(client).transaction() as session:
        await session.execute(
            update(Workout).where(Workout.id == int(workout_id)).values(created_at=when)
        )


async def test_mobile_client_call_sequence(client: Client) -> None:
    login = await register(client)
    headers = login["headers"]

    response = await client.post("/categories", json={"name": "Push"}, headers=headers)
    assert response.status == 201
    category_id = (await response.json())["id"]

    response = await client.get(f"/workouts/category/{category_id}/check-previous", headers=headers)
    assert response.status == 200
    assert await response.json() == {"hasPrevious": False}

    body = {"categoryId": category_id, "notes": "heavy day", "exercises": [bench(), plank()]}
    response = await client.post("/workouts", json=body, headers=headers)
    assert response.status == 201
    created = await response.json()
    assert set(created) == {
        "id",
        "notes",
        "categoryId",
        "userId",
        "createdAt",
        "updatedAt",
        "category",
        "exercises",
    }
    assert created["notes"] == "heavy day"
    assert created["categoryId"] == category_id
    assert created["userId"] == login["userId"]
    assert created["category"]["name"] == "Push"
    assert [e["name"] for e in created["exercises"]] == ["Bench Press", "Plank"]
    first = created["exercises"][0]
    assert set(first) == {"id", "workoutId", "type", "name", "unit", "notes", "order", "setsDetail"}
    assert first["workoutId"] == created["id"]
    assert [s["order"] for s in first["setsDetail"]] == [1, 2, 3, 4]
    assert set(first["setsDetail"][0]) == {
        "id",
        "exerciseId",
        "order",
        "value",
        "reps",
        "restMinutes",
    }
    assert first["setsDetail"][1]["value"] == 102.5
    assert first["setsDetail"][3]["value"] is None

    response = await client.get(f"/workouts/category/{category_id}/check-previous", headers=headers)
    assert await response.json() == {"hasPrevious": True}

    for sort_by in ("createdAt", "updatedAt", "id"):
        for sort_order in ("asc", "desc"):
            response = await client.get(
                "/workouts",
                params={"sortBy": sort_by, "sortOrder": sort_order, "limit": "1"},
                headers=headers,
            )
            assert response.status == 200
            page = await response.json()
            assert [w["id"] for w in page["workouts"]] == [created["id"]]
            assert page["pagination"] == {"hasMore": False, "nextCursor": None}

    response = await client.get(
        f"/workouts/category/{category_id}", params={"includeProgress": "true"}, headers=headers
    )
    assert response.status == 200
    listed = await response.json()
    assert listed["workouts"] == [created]
    assert "pagination" not in listed
    assert set(listed["progress"]) == {"Bench Press-weight", "Plank-time"}

    update_body = {"notes": "lighter", "oldCategoryId": category_id, "exercises": [plank(1)]}
    response = await client.put(f"/workouts/{created['id']}", json=update_body, headers=headers)
    assert response.status == 200
    updated = await response.json()
    assert updated["notes"] == "lighter"
    assert [e["name"] for e in updated["exercises"]] == ["Plank"]
    assert updated["createdAt"] == created["createdAt"]
    assert updated["updatedAt"] > created["updatedAt"]

    response = await client.delete(
        f"/workouts/{created['id']}", json={"categoryId": category_id}, headers=headers
    )
    assert response.status == 200
    assert await response.json() == {"success": True}
    response = await client.get("/workouts", headers=headers)
    assert (await response.json())["workouts"] == []
    response = await client.get(f"/workouts/category/{category_id}/check-previous", headers=headers)
    assert await response.json() == {"hasPrevious": False}


async def test_progress_matches_worked_example(client: Client) -> None:
    login = await register(client)
    category_id = await create_category(client, login)
    first = await create_workout(client, login, category_id, [bench(), plank()])
    second_bench = bench(
        [{"order": 1, "value": 105, "reps": 3}, {"order": 2, "value": 80, "reps": 8}],
        name=" bench   PRESS ",
    )
    second = await create_workout(client, login, category_id, [second_bench])
    await set_created_at(client, first["id"], datetime(2026, 3, 2, 18, 0, tzinfo=UTC))
    await set_created_at(client, second["id"], datetime(2026, 3, 5, 18, 0, tzinfo=UTC))

    response = await client.get(
        f"/workouts/category/{category_id}?includeProgress=true", headers=login["headers"]
    )
    assert response.status == 200
    progress = (await response.json())["progress"]

    assert set(progress) == {"bench   PRESS-weight", "Plank-time"}
    bench_history = progress["bench   PRESS-weight"]
    assert bench_history["name"] == "bench   PRESS"
    assert bench_history["type"] == "weight"
    assert bench_history["progress"] == [
        {
            "date": "2026-03-02T18:00:00.000Z",
            "volume": 1527.5,
            "sets": 4,
            "reps": 30,
            "maxWeight": 102.5,
            "unit": "kg",
        },
        {
            "date": "2026-03-05T18:00:00.000Z",
            "volume": 955.0,
            "sets": 2,
            "reps": 11,
            "maxWeight": 105.0,
            "unit": "kg",
        },
    ]
    assert progress["Plank-time"]["progress"] == [
        {
            "date": "2026-03-02T18:00:00.000Z",
            "volume": 150.0,
            "sets": 2,
            "reps": 2,
            "maxWeight": 90.0,
            "unit": "seconds",
        }
    ]


async def test_progress_null_unless_requested(client: Client) -> None:
    login = await register(client)
    category_id = await create_category(client, login)
    await create_workout(client, login, category_id)

    for params in ({}, {"includeProgress": "false"}):
        response = await client.get(
            f"/workouts/category/{category_id}", params=params, headers=login["headers"]
        )
        assert response.status == 200
        assert (await response.json())["progress"] is None


async def test_exercise_without_sets_gets_default(client: Client) -> None:
    login = await register(client)
    category_id = await create_category(client, login)
    exercises = [
        {"type": "weight", "name": "Curl", "order": 1},
        {"type": "time", "name": "Run", "order": 2, "setsDetail": []},
        {"type": "distance", "name": "Row", "order": 3},
    ]
    workout = await create_workout(client, login, category_id, exercises)

    assert [e["unit"] for e in workout["exercises"]] == ["kg", "seconds", "km"]
    for exercise in workout["exercises"]:
        sets = exercise["setsDetail"]
        assert len(sets) == 1
        assert sets[0]["order"] == 1
        assert sets[0]["reps"] == 1
        assert sets[0]["value"] == 0
        assert sets[0]["restMinutes"] == 1


async def test_exercises_and_sets_sorted_by_order(client: Client) -> None:
    login = await register(client)
    category_id = await create_category(client, login)
    sets = [{"order": 3, "reps": 1}, {"order": 1, "reps": 2}, {"order": 2, "reps": 3}]
    exercises = [
        {"type": "weight", "name": "Second", "order": 2, "setsDetail": sets},
        {"type": "weight", "name": "First", "order": 1},
    ]
    created = await create_workout(client, login, category_id, exercises)
    response = await client.get("/workouts", headers=login["headers"])
    listed = (await response.json())["workouts"][0]

    for workout in (created, listed):
        assert [e["name"] for e in workout["exercises"]] == ["First", "Second"]
        assert [s["reps"] for s in workout["exercises"][1]["setsDetail"]] == [2, 3, 1]


async def test_update_notes_keeps_exercises(client: Client) -> None:
    login = await register(client)
    category_id = await create_category(client, login)
    created = await create_workout(client, login, category_id, notes="first")

    response = await client.put(
        f"/workouts/{created['id']}", json={"notes": None}, headers=login["headers"]
    )
    assert response.status == 200
    updated = await response.json()
    assert updated["notes"] is None
    assert updated["exercises"] == created["exercises"]

    response = await client.put(f"/workouts/{created['id']}", json={}, headers=login["headers"])
    assert response.status == 200
    assert (await response.json())["exercises"] == created["exercises"]


async def test_update_replaces_exercises_wholesale(client: Client) -> None:
    login = await register(client)
    category_id = await create_category(client, login)
    created = await create_workout(client, login, category_id, [bench(), plank()])
    replacement = [
        {
            "type": "distance",
            "name": "Run",
            "unit": "mi",
            "order": 1,
            "setsDetail": [{"order": 1, "value": 3.1, "reps": 1}],
        }
    ]

    response = await client.put(
        f"/workouts/{created['id']}", json={"exercises": replacement}, headers=login["headers"]
    )
    assert response.status == 200
    updated = await response.json()
    assert [e["name"] for e in updated["exercises"]] == ["Run"]
    assert updated["exercises"][0]["unit"] == "mi"
    assert [s["value"] for s in updated["exercises"][0]["setsDetail"]] == [3.1]
    rows = await count_rows(client)
    assert rows["exercises"] == 1
    assert rows["sets"] == 1


async def test_update_moves_workout_to_category(client: Client) -> None:
    login = await register(client)
    push_id = await create_category(client, login, "Push")
    legs_id = await create_category(client, login, "Legs")
    created = await create_workout(client, login, push_id)

    response = await client.put(
        f"/workouts/{created['id']}",
        json={"categoryId": legs_id, "oldCategoryId": push_id},
        headers=login["headers"],
    )
    assert response.status == 200
    moved = await response.json()
    assert moved["categoryId"] == legs_id
    assert moved["category"]["name"] == "Legs"
    response = await client.get(f"/workouts/category/{push_id}", headers=login["headers"])
    assert (await response.json())["workouts"] == []


async def test_category_list_date_filter(client: Client) -> None:
    login = await register(client)
    category_id = await create_category(client, login)
    days = {}
    for day in (1, 2, 3):
        workout = await create_workout(client, login, category_id)
        await set_created_at(client, workout["id"], datetime(2026, 3, day, 23, 30, tzinfo=UTC))
        days[day] = workout["id"]

    async def listed(**params: str) -> list[str]:
        response = await client.get(
            f"/workouts/category/{category_id}", params=params, headers=login["headers"]
        )
        assert response.status == 200, await response.text()
        return [w["id"] for w in (await response.json())["workouts"]]

    assert await listed() == [days[3], days[2], days[1]]
    assert await listed(startDate="2026-03-02") == [days[3], days[2]]
    assert await listed(endDate="2026-03-02") == [days[2], days[1]]
    assert await listed(startDate="2026-03-02", endDate="2026-03-02") == [days[2]]
    window = {"startDate": "2026-03-02T23:30:00Z", "endDate": "2026-03-03T01:30:00+02:00"}
    assert await listed(**window) == [days[2]]
    assert await listed(startDate="2026-03-01T23:30:00.000Z") == [days[3], days[2], days[1]]


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01", "2026-03-01T25:00", "01/03/2026"])
async def test_category_list_bad_date(client: Client, value: str) -> None:
    login = await register(client)
    category_id = await create_category(client, login)
    for field in ("startDate", "endDate"):
        response = await client.get(
            f"/workouts/category/{category_id}", params={field: value}, headers=login["headers"]
        )
        assert response.status == 400
        assert (await response.json())["details"][0]["field"] == field


async def test_category_list_unknown_category(client: Client) -> None:
    login = await register(client)
    for path in ("/workouts/category/999999", "/workouts/category/abc"):
        response = await client.get(path, headers=login["headers"])
        assert response.status == 404
        response = await client.get(f"{path}/check-previous", headers=login["headers"])
        assert response.status == 404


async def test_field_selection(client: Client) -> None:
    login = await register(client)
    category_id = await create_category(client, login)
    created = await create_workout(client, login, category_id, notes="n")

    response = await client.get(
        "/workouts", params={"fields": "id,notes,createdAt"}, headers=login["headers"]
    )
    assert response.status == 200
    assert (await response.json())["workouts"] == [
        {"id": created["id"], "notes": "n", "createdAt": created["createdAt"]}
    ]

    response = await client.get(
        f"/workouts/category/{category_id}",
        params={"fields": "category, exercises", "includeProgress": "true"},
        headers=login["headers"],
    )
    assert response.status == 200
    body = await response.json()
    assert body["workouts"] == [
        {"category": created["category"], "exercises": created["exercises"]}
    ]
    assert "Bench Press-weight" in body["progress"]


async def test_field_selection_reads_only_those_columns(client: Client) -> None:
    login = await register(client)
    category_id = await create_category(client, login)
    await insert_workouts(client, login, category_id, 2)
    statements = record_statements(database(client))

    response = await client.get("/workouts", params={"fields": "notes"}, headers=login["headers"])
    assert response.status == 200
    selects = [s for s in statements if "FROM workouts" in s]
    assert len(selects) == 1
    selected = selects[0].split("FROM")[0]
    assert "workouts.notes" in selected
    assert "workouts.user_id" not in selected
    assert "workouts.category_id" not in selected
    assert not [s for s in statements if "FROM exercises" in s or "FROM sets" in s]


async def test_field_selection_unknown_field(client: Client) -> None:
    login = await register(client)
    category_id = await create_category(client, login)
    for path in ("/workouts", f"/workouts/category/{category_id}"):
        response = await client.get(
            path, params={"fields": "id,password"}, headers=login["headers"]
        )
        assert response.status == 400
        body = await response.json()
        assert body["details"][0]["field"] == "fields"
        assert "password" in body["details"][0]["message"]


async def test_list_loads_page_in_three_queries(client: Client) -> None:
    login = await register(client)
    push_id = await create_category(client, login, "Push")
    legs_id = await create_category(client, login, "Legs")
    await insert_workouts(client, login, push_id, 3)
    await insert_workouts(client, login, legs_id, 3)
    statements = record_statements(database(client))

    response = await client.get("/workouts", params={"limit": "5"}, headers=login["headers"])
    assert response.status == 200
    page = await response.json()
    assert len(page["workouts"]) == 5
    assert all(len(w["exercises"]) == 2 for w in page["workouts"])
    reads = [
        s for s in statements if "FROM workouts" in s or "FROM exercises" in s or "FROM sets" in s
    ]
    assert len(reads) == 3


async def test_get_workout_by_id(client: Client) -> None:
    login = await register(client)
    category_id = await create_category(client, login)
    created = await create_workout(client, login, category_id)

    response = await client.get(f"/workouts/{created['id']}", headers=login["headers"])
    assert response.status == 200
    assert await response.json() == created


async def test_other_user_ids_not_found(client: Client) -> None:
    owner = await register(client)
    intruder = await register(client)
    category_id = await create_category(client, owner)
    workout = await create_workout(client, owner, category_id)
    intruder_category = await create_category(client, intruder, "Mine")
    headers = intruder["headers"]
    before = await count_rows(client)

    calls: list[tuple[str, str, Any]] = [
        ("GET", f"/workouts/{workout['id']}", None),
        ("PUT", f"/workouts/{workout['id']}", {"notes": "mine now"}),
        ("DELETE", f"/workouts/{workout['id']}", None),
        ("GET", f"/workouts/category/{category_id}", None),
        ("GET", f"/workouts/category/{category_id}/check-previous", None),
        ("POST", "/workouts", {"categoryId": category_id, "exercises": [bench()]}),
        ("PUT", f"/workouts/{workout['id']}", {"categoryId": intruder_category}),
    ]
    for method, path, body in calls:
        response = await client.request(method, path, json=body, headers=headers)
        assert response.status == 404, (method, path)

    # The owner's workout cannot be moved into a category of another user either.
    response = await client.put(
        f"/workouts/{workout['id']}",
        json={"categoryId": intruder_category},
        headers=owner["headers"],
    )
    assert response.status == 404

    response = await client.get("/workouts", headers=headers)
    assert (await response.json())["workouts"] == []
    response = await client.get(f"/workouts/{workout['id']}", headers=owner["headers"])
    assert await response.json() == workout
    after = await count_rows(client)
    for table in ("categories", "workouts", "exercises", "sets"):
        assert after[table] == before[table], table


async def test_write_events_reach_devices(client: Client) -> None:
    login = await register(client)
    headers = login["headers"]
    live = LiveClient()
    await live.connect(str(client.make_url("/")), login["accessToken"])
    try:
        category_id = await create_category(client, login)
        _, data = await live.next_event("category:created")
        assert data["id"] == category_id

        created = await create_workout(client, login, category_id)
        _, data = await live.next_event("workout:created")
        assert data["id"] == created["id"]
        assert data["exercises"] == created["exercises"]

        await client.put(f"/workouts/{created['id']}", json={"notes": "x"}, headers=headers)
        _, data = await live.next_event("workout:updated")
        assert data["notes"] == "x"

        await client.delete(f"/workouts/{created['id']}", headers=headers)
        _, data = await live.next_event("workout:deleted")
        assert data["id"] == created["id"]
        assert data["categoryId"] == category_id

        await client.put(f"/categories/{category_id}", json={"name": "P"}, headers=headers)
        _, data = await live.next_event("category:updated")
        assert data["name"] == "P"

        await client.delete(f"/categories/{category_id}", headers=headers)
        _, data = await live.next_event("category:deleted")
        assert data["id"] == category_id
    finally:
        await live.close()


# ---- storage layer -------------------------------------------------------------------------


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    """A database without a server, so no relay takes outbox rows away during the test."""
    database = Database(settings.sqlalchemy_url, schema=settings.database_schema)
    yield database
    await database.dispose()


async def make_user(db: Database) -> tuple[int, int]:
    async with db.transaction() as session:
        user = User(email="storage@example.com", password_hash="x")
        session.add(user)
        await session.flush()
        category = await categories.create_category(
            session, user_id=user.id, name="Push", color=None
        )
        return user.id, category.id


async def tasks_in_outbox(db: Database) -> list[dict[str, Any]]:
    async with db.read() as session:
        rows = await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        return [row.payload for row in rows if row.kind == "task"]


NEW_BENCH = NewExercise(
    type="weight",
    name="  Bench\u00a0 Press ",
    unit="kg",
    notes=None,
    order=1,
    sets=[NewSet(order=1, value=100.0, reps=5, rest_minutes=None)],
)


async def test_writes_queue_progress_tasks(db: Database) -> None:
    user_id, category_id = await make_user(db)
    async with db.transaction() as session:
        first = await workouts.create_workout(
            session, user_id=user_id, category_id=category_id, notes=None, exercises=[NEW_BENCH]
        )
        second = await workouts.create_workout(
            session, user_id=user_id, category_id=category_id, notes=None, exercises=[NEW_BENCH]
        )
    first_id = first.workout.id
    second_id = second.workout.id
    assert first.exercises is not None
    assert first.exercises[0].exercise.name_key == "bench press"
    assert first.exercises[0].exercise.user_id == user_id

    async with db.transaction() as session:
        await workouts.update_workout(session, user_id=user_id, workout_id=first_id, notes="x")
    async with db.transaction() as session:
        await workouts.delete_workout(session, user_id=user_id, workout_id=first_id)
    async with db.transaction() as session:
        await categories.delete_category(session, user_id=user_id, category_id=category_id)

    def task(ids: list[int]) -> dict[str, Any]:
        return {
            "task": "progress.recompute",
            "kwargs": {"user_id": user_id, "workout_ids": ids},
        }

    assert await tasks_in_outbox(db) == [
        task([first_id]),
        task([second_id]),
        task([first_id]),
        task([first_id]),
        task([second_id]),
    ]


async def test_failed_write_leaves_nothing(db: Database) -> None:
    user_id, category_id = await make_user(db)
    with pytest.raises(LookupError):
        async with db.transaction() as session:
            await workouts.create_workout(
                session, user_id=user_id, category_id=category_id, notes=None, exercises=[NEW_BENCH]
            )
            await workouts.get_workout(session, user_id=user_id, workout_id=10**12)
    async with db.read() as session:
        assert (await session.scalars(select(Workout))).all() == []
    assert await tasks_in_outbox(db) == []


def record_statements(db: Database) -> list[str]:
    """Collect every SQL statement the engines run from now on, for the rest of the test.

    SQLAlchemy's events report the statements it runs. A hot read also runs statements on the
    asyncpg driver itself, and the driver's query loggers report those.
    """
    statements: list[str] = []
    key = f"record-statements-{id(statements)}"

    def _record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    def _log_driver(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        driver = getattr(dbapi_connection, "driver_connection", None)
        if hasattr(driver, "add_query_logger") and key not in record.info:
            record.info[key] = True
            driver.add_query_logger(lambda query: statements.append(query.query))

    for engine in db.engines:
        event.listen(engine.sync_engine, "before_cursor_execute", _record)
        event.listen(engine.sync_engine, "checkout", _log_driver)
    return statements
