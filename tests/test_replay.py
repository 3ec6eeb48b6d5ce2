"""Ordered events with replay: reconnecting devices get exactly what they missed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from server.config import Settings
from tests.conftest import REDIS_URL
from tests.helpers import register
from tests.live import LiveClient
from tests.proxy import Proxy

Client = TestClient[Any, Any]


def url_of(client: Client) -> str:
    return str(client.make_url("/"))


async def create_categories(client: Client, login: dict[str, Any], names: list[str]) -> None:
    for name in names:
        response = await client.post("/categories", json={"name": name}, headers=login["headers"])
        assert response.status == 201, await response.text()


async def collect(
    live: LiveClient, count: int, timeout: float = 15
) -> list[tuple[str, dict[str, Any]]]:
    return [await live.next_event(timeout=timeout) for _ in range(count)]


async def no_more_events(live: LiveClient, wait: float = 0.5) -> bool:
    try:
        await live.next_event(timeout=wait)
    except TimeoutError:
        return True
    return False


async def test_reconnect_replays_missed_events_on_other_instance(
    make_client: Any, pg_settings: Settings
) -> None:
    first = await make_client(pg_settings)
    second = await make_client(pg_settings)
    login = await register(first)

    device = LiveClient()
    await device.connect(url_of(first), login["accessToken"])
    await create_categories(first, login, ["warm-up"])
    _, seen = await device.next_event("category:created")
    await device.close()

    names = [f"c{i:02d}" for i in range(50)]
    await create_categories(first, login, names)

    again = LiveClient()
    await again.connect(url_of(second), login["accessToken"], lastEventId=seen["eventId"])
    missed = await collect(again, 50)
    assert [data["name"] for _, data in missed] == names
    assert all(name == "category:created" for name, _ in missed)

    await create_categories(second, login, ["live"])
    name, live = await again.next_event()
    assert name == "category:created"
    assert live["name"] == "live"
    assert await no_more_events(again)
    await again.close()


async def test_replay_in_embedded_mode(make_client: Any, sqlite_settings: Settings) -> None:
    client = await make_client(sqlite_settings)
    login = await register(client)
    device = LiveClient()
    await device.connect(url_of(client), login["accessToken"])
    await create_categories(client, login, ["first"])
    _, seen = await device.next_event("category:created")
    await device.close()
    await create_categories(client, login, ["second", "third"])

    again = LiveClient()
    await again.connect(url_of(client), login["accessToken"], lastEventId=seen["eventId"])
    missed = await collect(again, 2)
    assert [data["name"] for _, data in missed] == ["second", "third"]
    assert await no_more_events(again)
    await again.close()


@pytest.mark.parametrize("last_event_id", ["garbage", "99999999999999-0"])
async def test_unknown_position_gets_resync(client: Client, last_event_id: str) -> None:
    login = await register(client)
    await create_categories(client, login, ["a"])
    device = LiveClient()
    await device.connect(url_of(client), login["accessToken"], lastEventId=last_event_id)
    name, _ = await device.next_event()
    assert name == "resync"
    await device.close()


async def test_trimmed_position_gets_resync(make_client: Any, pg_settings: Settings) -> None:
    client = await make_client(pg_settings)
    login = await register(client)
    await create_categories(client, login, ["a", "b"])
    # Trim the stream as retention would, so the events after 1-0 are gone.
    redis = Redis.from_url(REDIS_URL)
    stream = f"{pg_settings.redis_prefix}events:{login['userId']}"
    await redis.xtrim(stream, maxlen=1, approximate=False)
    await redis.aclose()
    device = LiveClient()
    await device.connect(url_of(client), login["accessToken"], lastEventId="1-0")
    name, _ = await device.next_event()
    assert name == "resync"
    await device.close()


async def test_replay_holds_live_events_until_done(make_client: Any, pg_settings: Settings) -> None:
    client = await make_client(pg_settings)
    login = await register(client)
    device = LiveClient()
    await device.connect(url_of(client), login["accessToken"])
    await create_categories(client, login, ["start"])
    _, seen = await device.next_event("category:created")
    await device.close()
    await create_categories(client, login, [f"m{i}" for i in range(20)])

    again = LiveClient()
    writer = asyncio.create_task(create_categories(client, login, [f"n{i}" for i in range(10)]))
    await again.connect(url_of(client), login["accessToken"], lastEventId=seen["eventId"])
    await writer
    events = await collect(again, 30)
    names = [data["name"] for _, data in events]
    assert names == [f"m{i}" for i in range(20)] + [f"n{i}" for i in range(10)]
    ids = [tuple(int(p) for p in data["eventId"].split("-")) for _, data in events]
    assert ids == sorted(ids)
    assert await no_more_events(again)
    await again.close()


async def test_events_lost_while_redis_down_bring_resync(
    make_client: Any, pg_settings: Settings
) -> None:
    proxy = Proxy("127.0.0.1", 6379)
    await proxy.start()
    try:
        settings = pg_settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{proxy.port}/0"})
        client = await make_client(settings)
        login = await register(client)
        device = LiveClient()
        await device.connect(url_of(client), login["accessToken"])

        await proxy.cut()
        response = await client.post(
            "/categories", json={"name": "offline"}, headers=login["headers"]
        )
        assert response.status == 201
        await proxy.restore()

        name, _ = await device.next_event("resync", timeout=20)
        assert name == "resync"
        await device.close()
    finally:
        await proxy.close()


async def test_instance_subscribes_only_to_its_rooms(
    make_client: Any, pg_settings: Settings
) -> None:
    first = await make_client(pg_settings)
    second = await make_client(pg_settings)
    login = await register(first)
    channel = f"{pg_settings.redis_prefix}socketio#user:{login['userId']}"
    redis = Redis.from_url(REDIS_URL)
    try:
        device = LiveClient()
        await device.connect(url_of(first), login["accessToken"])
        assert dict(await redis.pubsub_numsub(channel))[channel.encode()] == 1
        other = LiveClient()
        await other.connect(url_of(second), login["accessToken"])
        assert dict(await redis.pubsub_numsub(channel))[channel.encode()] == 2
        await device.close()
        await other.close()
        async with asyncio.timeout(5):
            while dict(await redis.pubsub_numsub(channel))[channel.encode()] != 0:
                await asyncio.sleep(0.05)
    finally:
        await redis.aclose()
