"""The JSON export contains everything the user owns, nothing secret and nothing of others."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import func, select

from server.app import SERVICES
from storage.models import Notification, User
from tasks.export_json import write_json
from tests.export_helpers import (
    Client,
    Sample,
    download,
    export,
    measured,
    set_preferences,
    store_workouts,
    tasks_run,
    wait_for_tasks,
    weight,
)
from tests.helpers import register
from tests.session_data import grant, start_session
from tests.workout_data import create_category

__all__ = ["tasks_run"]


def history(days: int) -> list[Sample]:
    return [
        Sample(
            "Push" if day % 2 else "Pull",
            datetime(2024, 2, 1, 18, tzinfo=UTC) + timedelta(days=day),
            [
                weight("Bench Press", "kg", [(60.0 + day, 8, 2), (65.0 + day, 5, None)]),
                measured("time", "Plank", "seconds", [60]),
            ],
            notes=f"day {day}",
        )
        for day in range(days)
    ]


async def add_notification(client: Client, user_id: int, title: str) -> None:
    async with client.server.app[SERVICES].db.transaction() as session:
        session.add(
            Notification(user_id=user_id, kind="achievement", title=title, body="", dedup_key=title)
        )


async def count_notifications(client: Client, user_id: int) -> int:
    async with client.server.app[SERVICES].db.read() as session:
        count = await session.scalar(
            select(func.count()).select_from(Notification).where(Notification.user_id == user_id)
        )
    return int(count or 0)


async def test_json_holds_account_data(client: Client, tasks_run: None) -> None:
    owner = await register(client)
    owner_id = int(owner["userId"])
    watcher = await register(client)
    stranger = await register(client)
    await set_preferences(client, owner_id, timezone="Asia/Jerusalem", unit="lb")
    await store_workouts(client, owner_id, history(3))
    await store_workouts(
        client,
        int(stranger["userId"]),
        [Sample("Secret", datetime(2024, 2, 2, tzinfo=UTC), [weight("Stranger Lift", "kg", [])])],
    )
    today = await create_category(client, owner, name="Today")
    session_id = await start_session(client, owner, today)
    await grant(client, owner, session_id, watcher)
    await add_notification(client, owner_id, "New record: Bench Press")
    await wait_for_tasks(client)
    earlier = await export(client, owner["headers"], "csv")

    job = await export(client, owner["headers"], "json")
    raw = await download(client, owner["headers"], job)
    data = orjson.loads(raw)

    async with client.server.app[SERVICES].db.read() as session:
        password_hash = await session.scalar(select(User.password_hash).where(User.id == owner_id))
    assert password_hash is not None
    assert password_hash.encode() not in raw
    assert b"Stranger Lift" not in raw
    assert b"Secret" not in raw
    assert data["account"]["email"] == owner["email"]
    assert set(data["account"]) == {"id", "email", "role", "createdAt", "updatedAt"}
    assert data["preferences"]["timezone"] == "Asia/Jerusalem"
    assert data["preferences"]["unit"] == "lb"
    assert sorted(category["name"] for category in data["categories"]) == ["Pull", "Push", "Today"]

    workouts = data["workouts"]
    assert [workout["status"] for workout in workouts] == ["finished"] * 3 + ["live"]
    assert [workout["notes"] for workout in workouts[:3]] == ["day 0", "day 1", "day 2"]
    bench = workouts[1]["exercises"][0]
    assert bench["name"] == "Bench Press"
    assert [(s["value"], s["reps"], s["restMinutes"]) for s in bench["sets"]] == [
        (61.0, 8, 2.0),
        (66.0, 5, None),
    ]
    assert workouts[1]["exercises"][1]["type"] == "time"
    assert workouts[3]["id"] == session_id
    assert data["grants"]["given"][0]["sessionId"] == session_id
    assert data["grants"]["given"][0]["watcherEmail"] == watcher["email"]
    assert data["grants"]["received"] == []

    progress = {row["name"]: row for row in data["exerciseProgress"]}
    assert progress["Bench Press"]["workouts"] == 3
    assert progress["Bench Press"]["maxLoad"] == 67.0
    assert {row["kind"] for row in data["records"]} >= {"max_load", "best_e1rm", "max_reps"}
    assert len(data["exerciseHistory"]) == 6
    titles = [note["title"] for note in data["notifications"]]
    assert "New record: Bench Press" in titles
    assert len(titles) == await count_notifications(client, owner_id)
    jobs = {row["id"]: row for row in data["jobs"]}
    assert jobs[earlier["id"]]["result"] == earlier["result"]
    assert jobs[job["id"]]["kind"] == "export"
    assert b'"content"' not in raw


async def test_json_watcher_sees_grant(client: Client, tasks_run: None) -> None:
    owner = await register(client)
    watcher = await register(client)
    session_id = await start_session(client, owner)
    await grant(client, owner, session_id, watcher)

    job = await export(client, watcher["headers"], "json")
    data = orjson.loads(await download(client, watcher["headers"], job))

    assert data["workouts"] == []
    assert data["grants"]["given"] == []
    assert data["grants"]["received"][0]["sessionId"] == session_id
    assert data["grants"]["received"][0]["ownerId"] == owner["userId"]


async def test_json_pages_keep_order(client: Client, tasks_run: None) -> None:
    login = await register(client)
    user_id = int(login["userId"])
    # Three workouts share a start time, so the pages split inside a run of equal times.
    samples = history(5) + [
        Sample("Push", datetime(2024, 2, 3, 18, tzinfo=UTC), [weight("Row", "kg", [(50, 5, None)])])
        for _ in range(2)
    ]
    ids = await store_workouts(client, user_id, samples)
    for index in range(5):
        await add_notification(client, user_id, f"note {index}")
    await wait_for_tasks(client)
    services = client.server.app[SERVICES]
    async with services.db.read() as session:
        user = await session.get(User, user_id)
    assert user is not None
    fractions: list[float] = []

    async def on_progress(fraction: float) -> None:
        fractions.append(fraction)

    out = io.BytesIO()
    await write_json(services.db, user, out, page_workouts=2, page_rows=2, on_progress=on_progress)
    data: dict[str, Any] = orjson.loads(out.getvalue())

    starts = [workout["createdAt"] for workout in data["workouts"]]
    assert sorted(int(workout["id"]) for workout in data["workouts"]) == sorted(ids)
    assert starts == sorted(starts)
    assert len(data["exerciseHistory"]) == 12
    assert len({(h["workoutId"], h["nameKey"]) for h in data["exerciseHistory"]}) == 12
    notes = data["notifications"]
    note_ids = [int(note["id"]) for note in notes]
    assert note_ids == sorted(set(note_ids))
    assert len(notes) == await count_notifications(client, user_id)
    mine = [note["title"] for note in notes if note["title"].startswith("note ")]
    assert mine == [f"note {i}" for i in range(5)]
    assert fractions == sorted(fractions)
    assert len(fractions) == 4
