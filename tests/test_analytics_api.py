"""The /analytics calls, and the rebuild task in process and on a worker."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import update

from server.app import SERVICES
from server.config import Settings
from storage import outbox
from storage.models import Category, User
from tasks.registry import REBUILD_ANALYTICS
from tests.analytics_data import add_workout, run_job, set_timezone
from tests.conftest import ClientFactory
from tests.helpers import register
from tests.workout_data import bench, create_category, create_workout, database

Client = TestClient[Any, Any]
# UTC+14: its local date is ahead of the UTC date for most of the day.
KIRITIMATI = ZoneInfo("Pacific/Kiritimati")


async def signed_in(client: Client, timezone: str = "Europe/Paris") -> tuple[dict[str, Any], int]:
    login = await register(client)
    user_id = int(login["userId"])
    await set_timezone(database(client), user_id, timezone)
    return login, user_id


async def get_json(client: Client, login: dict[str, Any], path: str) -> dict[str, Any]:
    response = await client.get(path, headers=login["headers"])
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def monday_workout(client: Client, user_id: int) -> int:
    """Add a workout at 00:30 on Monday 2026-03-30 in Paris and run the progress job."""
    db = database(client)
    category_id = await create_category_for(client, user_id)
    workout = await add_workout(db, user_id, category_id, datetime(2026, 3, 29, 22, 30, tzinfo=UTC))
    await run_job(db, user_id, [workout])
    return workout


async def create_category_for(client: Client, user_id: int) -> int:
    async with database(client).transaction() as session:
        category = Category(user_id=user_id, name="Gym")
        session.add(category)
        await session.flush()
        return category.id


async def test_daily_reply(client: Client) -> None:
    login, user_id = await signed_in(client)
    await monday_workout(client, user_id)

    body = await get_json(client, login, "/analytics/daily?from=2026-03-29&to=2026-03-30")
    assert body["timezone"] == "Europe/Paris"
    assert body["from"] == "2026-03-29"
    assert body["to"] == "2026-03-30"
    assert body["days"] == [
        {"date": "2026-03-29", "workouts": 0, "sets": 0, "reps": 0, "volume": 0.0},
        {"date": "2026-03-30", "workouts": 1, "sets": 2, "reps": 13, "volume": 1140.0},
    ]


async def test_weekly_reply(client: Client) -> None:
    login, user_id = await signed_in(client)
    await monday_workout(client, user_id)

    body = await get_json(client, login, "/analytics/weekly?from=2026-03-29&to=2026-03-30")
    assert [week["weekStart"] for week in body["weeks"]] == ["2026-03-23", "2026-03-30"]
    idle, active = body["weeks"]
    assert idle["workouts"] == 0
    assert idle["isoWeek"] == 13
    assert active == {
        "weekStart": "2026-03-30",
        "isoYear": 2026,
        "isoWeek": 14,
        "workouts": 1,
        "sets": 2,
        "reps": 13,
        "volume": 1140.0,
        "activeDays": 1,
    }


async def test_default_ranges(client: Client) -> None:
    login, _ = await signed_in(client, KIRITIMATI.key)
    today = datetime.now(UTC).astimezone(KIRITIMATI).date()
    daily = await get_json(client, login, "/analytics/daily")
    assert len(daily["days"]) == 30
    # The request may run just after local midnight.
    assert daily["to"] in {today.isoformat(), (today + timedelta(days=1)).isoformat()}
    weekly = await get_json(client, login, "/analytics/weekly")
    assert len(weekly["weeks"]) in {12, 13}


BAD_RANGES = [
    ("/analytics/daily?from=2026-13-01&to=2026-12-31", "from"),
    ("/analytics/daily?from=2026-02-30", "from"),
    ("/analytics/daily?from=yesterday", "from"),
    ("/analytics/daily?from=20260301&to=2026-03-02", "from"),
    ("/analytics/weekly?to=2026-3-1", "to"),
    ("/analytics/daily?from=2026-03-02&to=2026-03-01", "from"),
    ("/analytics/daily?from=2025-01-01&to=2026-01-02", "to"),
    ("/analytics/weekly?from=2020-01-01&to=2026-01-01", "to"),
]


@pytest.mark.parametrize(("path", "field"), BAD_RANGES)
async def test_bad_range_rejected(client: Client, path: str, field: str) -> None:
    login, _ = await signed_in(client)
    response = await client.get(path, headers=login["headers"])
    assert response.status == 400
    body = await response.json()
    assert [detail["field"] for detail in body["details"]] == [field]


async def test_longest_daily_range(client: Client) -> None:
    login, _ = await signed_in(client)
    body = await get_json(client, login, "/analytics/daily?from=2025-01-01&to=2026-01-01")
    assert len(body["days"]) == 366


@pytest.mark.parametrize("path", ["daily", "weekly", "streaks", "trends"])
async def test_requires_token(client: Client, path: str) -> None:
    response = await client.get(f"/analytics/{path}")
    assert response.status == 401


async def test_streaks_and_trends_replies(client: Client) -> None:
    login, user_id = await signed_in(client)
    db = database(client)
    category_id = await create_category_for(client, user_id)
    now = datetime.now(UTC)
    ids = []
    for days_ago, load in ((14, 50.0), (7, 52.0), (0, 54.0)):
        when = now - timedelta(days=days_ago, minutes=1)
        curl = [("Curl", "weight", [(load, 1)])]
        ids.append(await add_workout(db, user_id, category_id, when, curl))
    await run_job(db, user_id, ids)

    streaks = await get_json(client, login, "/analytics/streaks")
    # The last workout is today or, a minute after local midnight, yesterday.
    assert streaks["days"]["current"] == 1
    assert streaks["weeks"]["current"] >= 1
    assert streaks["weeks"]["longest"] >= streaks["weeks"]["current"]

    trends = await get_json(client, login, "/analytics/trends")
    assert len(trends["exercises"]) == 1
    curl = trends["exercises"][0]
    assert curl["name"] == "Curl"
    assert curl["nameKey"] == "curl"
    assert curl["points"] == 3
    assert curl["slopeKgPerWeek"] == pytest.approx(2.0, abs=1e-3)
    assert curl["since"].endswith("Z")


async def wait_for_daily(
    client: Client, login: dict[str, Any], query: str, day: str, workouts: int
) -> dict[str, Any]:
    """Poll the daily figures until `day` has `workouts`, for at most 20 seconds."""
    async with asyncio.timeout(20):
        while True:
            body = await get_json(client, login, f"/analytics/daily?{query}")
            found = [entry for entry in body["days"] if entry["date"] == day]
            if found and found[0]["workouts"] == workouts:
                return found[0]
            await asyncio.sleep(0.1)


async def test_rest_workout_counts_in_process(
    make_client: ClientFactory, sqlite_settings: Settings
) -> None:
    client = await make_client(sqlite_settings)
    login, _ = await signed_in(client, "UTC")
    category_id = await create_category(client, login)
    await create_workout(client, login, category_id, [bench()])
    today = datetime.now(UTC).date()
    query = f"from={(today - timedelta(days=1)).isoformat()}&to={today.isoformat()}"
    figures = await wait_for_daily(client, login, query, today.isoformat(), 1)
    assert figures["volume"] == 1527.5


async def check_rebuild_task(client: Client) -> None:
    login, user_id = await signed_in(client)
    await monday_workout(client, user_id)

    async with client.server.app[SERVICES].write() as session:
        await session.execute(
            update(User).where(User.id == user_id).values(timezone="America/New_York")
        )
        outbox.add_task(session, REBUILD_ANALYTICS, user_id=user_id)

    # 22:30 UTC on Sunday is 18:30 on Sunday in New York.
    query = "from=2026-03-29&to=2026-03-30"
    await wait_for_daily(client, login, query, "2026-03-29", 1)
    body = await get_json(client, login, f"/analytics/daily?{query}")
    assert body["days"][1]["workouts"] == 0


async def test_rebuild_task_on_worker(
    make_client: ClientFactory, pg_settings: Settings, worker: None
) -> None:
    await check_rebuild_task(await make_client(pg_settings))


async def test_rebuild_task_in_process(
    make_client: ClientFactory, sqlite_settings: Settings
) -> None:
    await check_rebuild_task(await make_client(sqlite_settings))
