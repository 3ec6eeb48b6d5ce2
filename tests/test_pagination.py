"""Keyset pagination of workout lists, on both back ends."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.helpers import register
from tests.workout_data import Client, Login, create_category, insert_workouts

SAME_TIME = datetime(2026, 3, 2, 18, 0, 0, 123456, tzinfo=UTC)
SORTS = [(by, order) for by in ("createdAt", "updatedAt", "id") for order in ("asc", "desc")]


def make_cursor(data: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


async def walk(
    client: Client, login: Login, path: str, params: dict[str, str]
) -> tuple[list[str], int]:
    """Follow nextCursor to the end, and return the ids in order and the number of pages."""
    ids: list[str] = []
    cursor = None
    for pages in range(1, 100):
        query = dict(params, cursor=cursor) if cursor else params
        response = await client.get(path, params=query, headers=login["headers"])
        assert response.status == 200, await response.text()
        body = await response.json()
        ids += [workout["id"] for workout in body["workouts"]]
        cursor = body["pagination"]["nextCursor"]
        assert body["pagination"]["hasMore"] == (cursor is not None)
        if cursor is None:
            return ids, pages
    raise AssertionError("pagination did not end")


@pytest.mark.parametrize(("sort_by", "sort_order"), SORTS)
async def test_shared_timestamp_pages_each_once(
    client: Client, sort_by: str, sort_order: str
) -> None:
    login = await register(client)
    category_id = await create_category(client, login)
    inserted = await insert_workouts(client, login, category_id, 50, created_at=SAME_TIME)

    params = {"sortBy": sort_by, "sortOrder": sort_order, "limit": "7"}
    ids, pages = await walk(client, login, "/workouts", params)

    assert len(ids) == 50
    assert set(ids) == set(inserted)
    assert pages == 8
    expected = sorted(inserted, key=int, reverse=sort_order == "desc")
    assert ids == expected


async def test_pages_follow_timestamps(client: Client) -> None:
    login = await register(client)
    category_id = await create_category(client, login)
    early = await insert_workouts(client, login, category_id, 3, created_at=SAME_TIME)
    late = await insert_workouts(
        client, login, category_id, 3, created_at=SAME_TIME.replace(microsecond=123457)
    )

    ids, _ = await walk(client, login, "/workouts", {"limit": "2"})
    assert ids == late[::-1] + early[::-1]
    ids, _ = await walk(client, login, "/workouts", {"limit": "4", "sortOrder": "asc"})
    assert ids == early + late


async def test_default_limit_is_twenty(client: Client) -> None:
    login = await register(client)
    category_id = await create_category(client, login)
    await insert_workouts(client, login, category_id, 21)

    response = await client.get("/workouts", headers=login["headers"])
    body = await response.json()
    assert len(body["workouts"]) == 20
    assert body["pagination"]["hasMore"] is True

    response = await client.get("/workouts", params={"limit": "100"}, headers=login["headers"])
    body = await response.json()
    assert len(body["workouts"]) == 21
    assert body["pagination"] == {"hasMore": False, "nextCursor": None}


async def test_cursor_is_url_safe(client: Client) -> None:
    login = await register(client)
    category_id = await create_category(client, login)
    await insert_workouts(client, login, category_id, 3, created_at=SAME_TIME)

    response = await client.get("/workouts", params={"limit": "1"}, headers=login["headers"])
    cursor = (await response.json())["pagination"]["nextCursor"]
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    response = await client.get(f"/workouts?limit=1&cursor={cursor}", headers=login["headers"])
    assert response.status == 200


async def test_category_list_pages(client: Client) -> None:
    login = await register(client)
    category_id = await create_category(client, login)
    other_id = await create_category(client, login, "Legs")
    inserted = await insert_workouts(client, login, category_id, 12, created_at=SAME_TIME)
    await insert_workouts(client, login, other_id, 5, created_at=SAME_TIME)
    path = f"/workouts/category/{category_id}"

    ids, pages = await walk(client, login, path, {"limit": "5", "includeProgress": "true"})
    assert ids == sorted(inserted, key=int, reverse=True)
    assert pages == 3

    response = await client.get(
        path, params={"limit": "5", "includeProgress": "true"}, headers=login["headers"]
    )
    body = await response.json()
    entries = body["progress"]["Squat-weight"]["progress"]
    assert len(entries) == 5
    assert entries[0]["volume"] == 1000.0
    assert entries[0]["sets"] == 2


async def test_category_list_pages_within_dates(client: Client) -> None:
    login = await register(client)
    category_id = await create_category(client, login)
    inside = await insert_workouts(client, login, category_id, 6, created_at=SAME_TIME)
    await insert_workouts(client, login, category_id, 4, created_at=SAME_TIME.replace(day=5))

    params = {"limit": "4", "startDate": "2026-03-01", "endDate": "2026-03-03"}
    ids, _ = await walk(client, login, f"/workouts/category/{category_id}", params)
    assert ids == sorted(inside, key=int, reverse=True)


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor",
        "!!!!",
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        make_cursor([1, 2]),
        make_cursor({"s": "createdAt", "o": "desc"}),
        make_cursor({"s": "createdAt", "o": "desc", "v": "yesterday", "i": "1"}),
        make_cursor({"s": "createdAt", "o": "desc", "v": "2026-03-02T18:00:00", "i": "1"}),
        make_cursor({"s": "createdAt", "o": "desc", "v": "2026-03-02T18:00:00Z", "i": "x"}),
        make_cursor({"s": "createdAt", "o": "desc", "v": "2026-03-02T18:00:00Z", "i": "-4"}),
        make_cursor({"s": "createdAt", "o": "desc", "v": "2026-03-02T18:00:00Z", "i": "9" * 30}),
        make_cursor({"s": "createdAt", "o": "desc", "v": None, "i": "1"}),
        make_cursor({"s": "createdAt", "o": "asc", "v": "2026-03-02T18:00:00Z", "i": "1"}),
        make_cursor({"s": "id", "o": "desc", "v": None, "i": "1"}),
    ],
)
async def test_malformed_cursor_rejected(client: Client, cursor: str) -> None:
    login = await register(client)
    category_id = await create_category(client, login)
    for path in ("/workouts", f"/workouts/category/{category_id}"):
        response = await client.get(
            path, params={"cursor": cursor, "limit": "5"}, headers=login["headers"]
        )
        assert response.status == 400, path
        assert (await response.json())["details"][0]["field"] == "cursor"


async def test_cursor_for_other_sort_rejected(client: Client) -> None:
    login = await register(client)
    category_id = await create_category(client, login)
    await insert_workouts(client, login, category_id, 3)
    response = await client.get(
        "/workouts", params={"limit": "1", "sortBy": "updatedAt"}, headers=login["headers"]
    )
    cursor = (await response.json())["pagination"]["nextCursor"]

    for params in ({"sortBy": "createdAt"}, {"sortBy": "updatedAt", "sortOrder": "asc"}):
        response = await client.get(
            "/workouts", params={"cursor": cursor, **params}, headers=login["headers"]
        )
        assert response.status == 400
        body = await response.json()
        assert body["details"][0]["field"] == "cursor"
        assert "made for sortBy=updatedAt" in body["details"][0]["message"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "2.5"}, "limit"),
        ({"sortBy": "name"}, "sortBy"),
        ({"sortOrder": "up"}, "sortOrder"),
    ],
)
async def test_bad_list_parameters(client: Client, params: dict[str, str], field: str) -> None:
    login = await register(client)
    category_id = await create_category(client, login)
    for path in ("/workouts", f"/workouts/category/{category_id}"):
        if path != "/workouts" and field != "limit":
            continue
        response = await client.get(path, params=params, headers=login["headers"])
        assert response.status == 400
        assert (await response.json())["details"][0]["field"] == field
