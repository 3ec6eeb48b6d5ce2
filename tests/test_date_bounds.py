"""Dates at the ends of the calendar: a 400 naming the field where UTC cannot hold them."""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest

from tests.helpers import register
from tests.workout_data import Client, count_rows, create_category

# Each is a valid ISO 8601 time whose UTC time falls outside the years 1 to 9999.
BEYOND_UTC = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"]


def make_cursor(data: dict[str, Any]) -> str:
    """Encode a cursor as the server does: unpadded URL-safe base64 of JSON."""
    return base64.urlsafe_b64encode(orjson.dumps(data)).rstrip(b"=").decode()


@pytest.mark.parametrize("value", BEYOND_UTC)
@pytest.mark.parametrize("field", ["startDate", "endDate"])
async def test_category_range_beyond_utc_rejected(client: Client, field: str, value: str) -> None:
    login = await register(client)
    category_id = await create_category(client, login)
    response = await client.get(
        f"/workouts/category/{category_id}", params={field: value}, headers=login["headers"]
    )
    assert response.status == 400
    reply = await response.json()
    assert reply["details"][0]["field"] == field
    assert "out of range" in reply["details"][0]["message"]


async def test_category_range_at_calendar_ends(client: Client) -> None:
    login = await register(client)
    category_id = await create_category(client, login)
    params = {"startDate": "0001-01-01T00:00:00Z", "endDate": "9999-12-31"}
    response = await client.get(
        f"/workouts/category/{category_id}", params=params, headers=login["headers"]
    )
    assert response.status == 200, await response.text()


@pytest.mark.parametrize("path", ["/analytics/daily", "/analytics/weekly"])
async def test_analytics_last_week_of_9999(client: Client, path: str) -> None:
    login = await register(client)
    params = {"from": "9999-12-25", "to": "9999-12-31"}
    response = await client.get(path, params=params, headers=login["headers"])
    assert response.status == 200, await response.text()
    reply = await response.json()
    if path == "/analytics/daily":
        assert [day["date"] for day in reply["days"]][-1] == "9999-12-31"
        assert len(reply["days"]) == 7
    else:
        # The week of 9999-12-31 starts on Monday 9999-12-27 and runs past the calendar.
        assert [week["weekStart"] for week in reply["weeks"]] == ["9999-12-20", "9999-12-27"]
        assert reply["weeks"][-1]["isoWeek"] == 52


@pytest.mark.parametrize("path", ["/analytics/daily", "/analytics/weekly"])
async def test_analytics_default_range_from_year_1(client: Client, path: str) -> None:
    login = await register(client)
    response = await client.get(path, params={"to": "0001-01-05"}, headers=login["headers"])
    assert response.status == 200, await response.text()
    reply = await response.json()
    assert reply["from"] == "0001-01-01"
    assert reply["to"] == "0001-01-05"


@pytest.mark.parametrize("value", BEYOND_UTC)
async def test_workout_cursor_beyond_utc_rejected(client: Client, value: str) -> None:
    login = await register(client)
    category_id = await create_category(client, login)
    before = await count_rows(client)
    created = make_cursor({"s": "createdAt", "o": "desc", "v": value, "i": "1"})
    updated = make_cursor({"s": "updatedAt", "o": "desc", "v": value, "i": "1"})
    calls = [
        ("/workouts", {"cursor": created}),
        ("/workouts", {"cursor": updated, "sortBy": "updatedAt"}),
        (f"/workouts/category/{category_id}", {"cursor": created, "limit": "5"}),
    ]
    for path, params in calls:
        response = await client.get(path, params=params, headers=login["headers"])
        assert response.status == 400, (path, params)
        reply = await response.json()
        assert reply["details"][0]["field"] == "cursor", (path, params)
        assert "invalid cursor" in reply["error"], (path, params)
    assert await count_rows(client) == before


@pytest.mark.parametrize("value", BEYOND_UTC)
async def test_notification_cursor_beyond_utc_rejected(client: Client, value: str) -> None:
    login = await register(client)
    cursor = make_cursor({"v": value, "i": "1"})
    response = await client.get(
        "/notifications", params={"cursor": cursor}, headers=login["headers"]
    )
    assert response.status == 400
    reply = await response.json()
    assert reply["details"][0]["field"] == "cursor"
    assert "invalid cursor" in reply["error"]


@pytest.mark.parametrize("value", BEYOND_UTC)
async def test_job_cursor_beyond_utc_rejected(client: Client, value: str) -> None:
    login = await register(client)
    job_id = "00000000-0000-0000-0000-000000000001"
    cursor = make_cursor({"s": "createdAt", "v": value, "i": job_id})
    response = await client.get("/jobs", params={"cursor": cursor}, headers=login["headers"])
    assert response.status == 400
    reply = await response.json()
    assert reply["details"][0]["field"] == "cursor"
    assert "invalid cursor" in reply["error"]
