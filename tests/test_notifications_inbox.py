"""The in-app inbox over REST: paging, unread filter and count, marking read, owner only."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from server.app import SERVICES
from storage.notifications import NewNotification, insert_notifications
from tests.helpers import register

Client = TestClient[Any, Any]


async def add_notifications(client: Client, user_id: str, count: int, prefix: str = "n") -> None:
    items = [
        NewNotification(
            user_id=int(user_id),
            kind="reminder",
            title=f"{prefix} {index}",
            body="body",
            dedup_key=f"{prefix}:{user_id}:{index}",
        )
        for index in range(count)
    ]
    async with client.app[SERVICES].write() as session:
        await insert_notifications(session, items)


async def user_id_of(client: Client, login: dict[str, Any]) -> str:
    response = await client.get("/auth/me", headers=login["headers"])
    user_id: str = (await response.json())["id"]
    return user_id


async def list_all(client: Client, login: dict[str, Any], query: str = "") -> list[dict[str, Any]]:
    """Follow nextCursor through every page of 7."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(20):
        url = f"/notifications?limit=7{query}" + (f"&cursor={cursor}" if cursor else "")
        response = await client.get(url, headers=login["headers"])
        assert response.status == 200, await response.text()
        page = await response.json()
        items += page["notifications"]
        cursor = page["pagination"]["nextCursor"]
        if not page["pagination"]["hasMore"]:
            return items
    raise AssertionError("pagination did not end")


async def unread(client: Client, login: dict[str, Any]) -> int:
    response = await client.get("/notifications/unread-count", headers=login["headers"])
    assert response.status == 200
    count: int = (await response.json())["unread"]
    return count


async def test_inbox_pages_newest_first(client: Client) -> None:
    login = await register(client)
    user_id = await user_id_of(client, login)
    await add_notifications(client, user_id, 10, "a")
    await add_notifications(client, user_id, 10, "b")

    items = await list_all(client, login)
    ids = [int(item["id"]) for item in items]
    assert len(ids) == 20
    assert len(set(ids)) == 20
    assert ids == sorted(ids, reverse=True)
    assert items[0]["title"] == "b 9"
    assert items[0]["kind"] == "reminder"
    assert items[0]["read"] is False
    assert items[0]["readAt"] is None


async def test_inbox_duplicate_key_ignored(client: Client) -> None:
    login = await register(client)
    user_id = await user_id_of(client, login)
    await add_notifications(client, user_id, 3)
    await add_notifications(client, user_id, 3)
    assert len(await list_all(client, login)) == 3
    assert await unread(client, login) == 3


async def test_inbox_unread_filter_and_count(client: Client) -> None:
    login = await register(client)
    user_id = await user_id_of(client, login)
    await add_notifications(client, user_id, 9)
    items = await list_all(client, login)
    for item in items[:4]:
        response = await client.post(f"/notifications/{item['id']}/read", headers=login["headers"])
        assert response.status == 200
        reply = await response.json()
        assert reply["read"] is True
        assert reply["readAt"] is not None

    assert await unread(client, login) == 5
    unread_items = await list_all(client, login, "&unread=true")
    assert [item["id"] for item in unread_items] == [item["id"] for item in items[4:]]
    assert len(await list_all(client, login, "&unread=false")) == 9


async def test_inbox_read_twice_keeps_time(client: Client) -> None:
    login = await register(client)
    user_id = await user_id_of(client, login)
    await add_notifications(client, user_id, 1)
    (item,) = await list_all(client, login)
    first = await client.post(f"/notifications/{item['id']}/read", headers=login["headers"])
    second = await client.post(f"/notifications/{item['id']}/read", headers=login["headers"])
    assert (await first.json())["readAt"] == (await second.json())["readAt"]


async def test_inbox_read_all(client: Client) -> None:
    owner = await register(client)
    other = await register(client)
    await add_notifications(client, await user_id_of(client, owner), 4)
    await add_notifications(client, await user_id_of(client, other), 2)

    response = await client.post("/notifications/read-all", headers=owner["headers"])
    assert response.status == 200
    assert (await response.json())["marked"] == 4
    assert await unread(client, owner) == 0
    assert await unread(client, other) == 2


async def test_inbox_owner_only(client: Client) -> None:
    owner = await register(client)
    other = await register(client)
    await add_notifications(client, await user_id_of(client, owner), 2)
    items = await list_all(client, owner)

    assert await list_all(client, other) == []
    assert await unread(client, other) == 0
    response = await client.post(f"/notifications/{items[0]['id']}/read", headers=other["headers"])
    assert response.status == 404
    assert await unread(client, owner) == 2


async def test_inbox_unknown_ids(client: Client) -> None:
    login = await register(client)
    for value in ("999999", "abc", "0", "99999999999999999999"):
        response = await client.post(f"/notifications/{value}/read", headers=login["headers"])
        assert response.status == 404, value


async def test_inbox_bad_query(client: Client) -> None:
    login = await register(client)
    cases = {
        "limit=0": "limit",
        "limit=101": "limit",
        "limit=ten": "limit",
        "unread=maybe": "unread",
        "cursor=not-a-cursor": "cursor",
        "cursor=eyJ2IjoxfQ": "cursor",
    }
    for query, field in cases.items():
        response = await client.get(f"/notifications?{query}", headers=login["headers"])
        assert response.status == 400, query
        details = (await response.json())["details"]
        assert [detail["field"] for detail in details] == [field], query


async def test_inbox_needs_token(client: Client) -> None:
    for method, path in (
        ("GET", "/notifications"),
        ("GET", "/notifications/unread-count"),
        ("POST", "/notifications/read-all"),
        ("POST", "/notifications/1/read"),
    ):
        response = await client.request(method, path)
        assert response.status == 401, path
