"""Account preferences over REST: defaults, partial updates and field-level errors."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.helpers import register

Client = TestClient[Any, Any]

DEFAULTS = {
    "timezone": "UTC",
    "unit": "kg",
    "reminderDays": [],
    "reminderTime": None,
    "notifyAchievements": True,
    "notifyReminders": True,
    "notifyWeeklySummary": True,
    "notifyEmail": True,
}


async def test_preferences_defaults(client: Client) -> None:
    login = await register(client)
    response = await client.get("/me/preferences", headers=login["headers"])
    assert response.status == 200
    assert await response.json() == DEFAULTS


async def test_preferences_update_all(client: Client) -> None:
    login = await register(client)
    changes = {
        "timezone": "Europe/Paris",
        "unit": "lb",
        "reminderDays": [4, 2, 2],
        "reminderTime": "18:00",
        "notifyAchievements": False,
        "notifyReminders": False,
        "notifyWeeklySummary": False,
        "notifyEmail": False,
    }
    response = await client.patch("/me/preferences", json=changes, headers=login["headers"])
    assert response.status == 200, await response.text()
    expected = {**changes, "reminderDays": [2, 4]}
    assert await response.json() == expected

    response = await client.get("/me/preferences", headers=login["headers"])
    assert await response.json() == expected


async def test_preferences_partial_update(client: Client) -> None:
    login = await register(client)
    headers = login["headers"]
    await client.patch("/me/preferences", json={"reminderTime": "07:30"}, headers=headers)
    response = await client.patch("/me/preferences", json={"unit": "lb"}, headers=headers)
    reply = await response.json()
    assert reply["unit"] == "lb"
    assert reply["reminderTime"] == "07:30"
    assert reply["timezone"] == "UTC"


async def test_preferences_clear_reminder_time(client: Client) -> None:
    login = await register(client)
    headers = login["headers"]
    await client.patch("/me/preferences", json={"reminderTime": "07:30"}, headers=headers)
    response = await client.patch("/me/preferences", json={"reminderTime": None}, headers=headers)
    assert response.status == 200
    assert (await response.json())["reminderTime"] is None


async def test_preferences_only_own(client: Client) -> None:
    first = await register(client)
    second = await register(client)
    await client.patch("/me/preferences", json={"unit": "lb"}, headers=first["headers"])
    response = await client.get("/me/preferences", headers=second["headers"])
    assert (await response.json())["unit"] == "kg"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "europe/paris"}, "timezone"),
        ({"timezone": "../../etc/passwd"}, "timezone"),
        ({"timezone": "localtime"}, "timezone"),
        ({"timezone": ""}, "timezone"),
        ({"timezone": "x" * 65}, "timezone"),
        ({"timezone": 5}, "timezone"),
        ({"timezone": None}, "timezone"),
        ({"unit": "stone"}, "unit"),
        ({"unit": None}, "unit"),
        ({"reminderDays": [0]}, "reminderDays.0"),
        ({"reminderDays": [1, 8]}, "reminderDays.1"),
        ({"reminderDays": ["1"]}, "reminderDays.0"),
        ({"reminderDays": [1.5]}, "reminderDays.0"),
        ({"reminderDays": "1,2"}, "reminderDays"),
        ({"reminderDays": None}, "reminderDays"),
        ({"reminderTime": "24:00"}, "reminderTime"),
        ({"reminderTime": "7:30"}, "reminderTime"),
        ({"reminderTime": "07:60"}, "reminderTime"),
        ({"reminderTime": "07:30:00"}, "reminderTime"),
        ({"reminderTime": 730}, "reminderTime"),
        ({"notifyAchievements": "yes"}, "notifyAchievements"),
        ({"notifyReminders": 1}, "notifyReminders"),
        ({"notifyWeeklySummary": None}, "notifyWeeklySummary"),
        ({"notifyEmail": "false"}, "notifyEmail"),
        ({"timeZone": "Europe/Paris"}, "timeZone"),
        ({"reminder_days": [1]}, "reminder_days"),
    ],
)
async def test_preferences_bad_value(client: Client, body: dict[str, Any], field: str) -> None:
    login = await register(client)
    response = await client.patch("/me/preferences", json=body, headers=login["headers"])
    assert response.status == 400
    reply = await response.json()
    assert [detail["field"] for detail in reply["details"]] == [field]

    response = await client.get("/me/preferences", headers=login["headers"])
    assert await response.json() == DEFAULTS


async def test_preferences_bad_body(client: Client) -> None:
    login = await register(client)
    response = await client.patch("/me/preferences", json=[1], headers=login["headers"])
    assert response.status == 400
    assert (await response.json())["details"][0]["field"] == "body"


async def test_preferences_need_token(client: Client) -> None:
    response = await client.get("/me/preferences")
    assert response.status == 401
    response = await client.patch("/me/preferences", json={"unit": "lb"})
    assert response.status == 401
