"""Small helpers shared by the API tests."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp.test_utils import TestClient

PASSWORD = "correct horse battery"


def random_email() -> str:
    return f"user-{uuid.uuid4().hex[:10]}@example.com"


async def register(client: TestClient[Any, Any], email: str | None = None) -> dict[str, Any]:
    """Register and log in a new user; return the login reply with `email` and an auth header."""
    email = email or random_email()
    response = await client.post("/auth/register", json={"email": email, "password": PASSWORD})
    assert response.status == 201, await response.text()
    response = await client.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status == 200, await response.text()
    login: dict[str, Any] = await response.json()
    login["headers"] = {"Authorization": f"Bearer {login['accessToken']}"}
    return login
