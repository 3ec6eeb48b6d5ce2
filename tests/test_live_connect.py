"""Socket.IO connections: tokens checked at connect, events reach the user's devices."""

from __future__ import annotations

from typing import Any

import pytest
import socketio
from aiohttp.test_utils import TestClient

from tests.helpers import register
from tests.live import LiveClient

Client = TestClient[Any, Any]


def url_of(client: Client) -> str:
    return str(client.make_url("/"))


async def test_connect_with_access_token(client: Client) -> None:
    login = await register(client)
    live = LiveClient()
    await live.connect(url_of(client), login["accessToken"])
    assert live.sio.connected
    await live.close()


@pytest.mark.parametrize("which", ["refreshToken", "garbage", "missing"])
async def test_connect_rejects_bad_token(client: Client, which: str) -> None:
    login = await register(client)
    token = {"refreshToken": login["refreshToken"], "garbage": "not.a.token", "missing": None}[
        which
    ]
    live = LiveClient()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await live.connect(url_of(client), token)
    assert len(live.connect_errors) == 1
    error = live.connect_errors[0]
    assert error["data"] == {"code": 401}
    assert "token" in error["message"]
    await live.sio.shutdown()


async def test_events_reach_every_device_of_user(client: Client) -> None:
    login = await register(client)
    other = await register(client)
    phone, tablet, stranger = LiveClient(), LiveClient(), LiveClient()
    await phone.connect(url_of(client), login["accessToken"])
    await tablet.connect(url_of(client), login["accessToken"])
    await stranger.connect(url_of(client), other["accessToken"])

    response = await client.post("/categories", json={"name": "Legs"}, headers=login["headers"])
    assert response.status == 201
    category_id = (await response.json())["id"]

    for device in (phone, tablet):
        name, data = await device.next_event("category:created")
        assert data["id"] == category_id
        assert data["eventId"]
        assert data["ts"].endswith("Z")
    assert stranger.events.empty()
    for device in (phone, tablet, stranger):
        await device.close()


async def test_event_ids_ordered_per_user(client: Client) -> None:
    login = await register(client)
    live = LiveClient()
    await live.connect(url_of(client), login["accessToken"])
    for name in ("A", "B", "C"):
        response = await client.post("/categories", json={"name": name}, headers=login["headers"])
        assert response.status == 201
    ids = []
    for _ in range(3):
        _, data = await live.next_event("category:created")
        ids.append(tuple(int(part) for part in data["eventId"].split("-")))
    assert ids == sorted(ids)
    assert len(set(ids)) == 3
    await live.close()
