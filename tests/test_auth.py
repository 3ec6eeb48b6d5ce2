"""Registration, login, refresh and revocation, on both back ends."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from server.config import Settings
from server.tokens import ACCESS, REFRESH, TokenSigner
from tests.conftest import JWT_SECRET
from tests.helpers import PASSWORD, random_email, register

Client = TestClient[Any, Any]


async def test_register_login_and_me(client: Client) -> None:
    email = random_email()
    response = await client.post("/auth/register", json={"email": email, "password": PASSWORD})
    assert response.status == 201
    user_id = (await response.json())["id"]
    assert isinstance(user_id, str)

    response = await client.post("/auth/login", json={"email": email.upper(), "password": PASSWORD})
    assert response.status == 200
    login = await response.json()
    assert set(login) == {"accessToken", "refreshToken", "userId", "email", "role"}
    assert login["userId"] == user_id
    assert login["email"] == email
    assert login["role"] == "user"

    response = await client.get(
        "/auth/me", headers={"Authorization": f"Bearer {login['accessToken']}"}
    )
    assert response.status == 200
    assert (await response.json())["email"] == email


async def test_register_duplicate_email_conflicts(client: Client) -> None:
    email = random_email()
    await register(client, email)
    response = await client.post("/auth/register", json={"email": email, "password": PASSWORD})
    assert response.status == 409
    assert "already registered" in (await response.json())["error"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email", "password": PASSWORD}, "email"),
        ({"email": "a@example.com", "password": "short"}, "password"),
        ({"email": "a@example.com"}, "password"),
        ({"password": PASSWORD}, "email"),
        ({"email": 12, "password": PASSWORD}, "email"),
    ],
)
async def test_register_invalid_names_field(
    client: Client, body: dict[str, Any], field: str
) -> None:
    response = await client.post("/auth/register", json=body)
    assert response.status == 400
    details = (await response.json())["details"]
    assert [d["field"] for d in details] == [field]


async def test_login_unknown_user_and_wrong_password_match(client: Client) -> None:
    login = await register(client)
    wrong = await client.post(
        "/auth/login", json={"email": login["email"], "password": "wrong password"}
    )
    unknown = await client.post("/auth/login", json={"email": random_email(), "password": PASSWORD})
    assert wrong.status == 401
    assert unknown.status == 401
    assert await wrong.json() == await unknown.json()


async def test_refresh_token_rejected_as_bearer(client: Client) -> None:
    login = await register(client)
    response = await client.get(
        "/categories", headers={"Authorization": f"Bearer {login['refreshToken']}"}
    )
    assert response.status == 401
    response = await client.get(
        "/auth/me", headers={"Authorization": f"Bearer {login['refreshToken']}"}
    )
    assert response.status == 401


async def test_access_token_rejected_at_refresh(client: Client) -> None:
    login = await register(client)
    response = await client.post("/auth/refresh", json={"refreshToken": login["accessToken"]})
    assert response.status == 401


async def test_refresh_after_access_token_expired(make_client: Any, settings: Settings) -> None:
    short = settings.model_copy(update={"access_token_seconds": 1})
    client = await make_client(short)
    login = await register(client)
    # An access token issued 20 minutes ago has expired however long this test takes.
    signer = TokenSigner(JWT_SECRET, access_seconds=900, refresh_seconds=3600)
    from datetime import UTC, datetime, timedelta

    expired, _ = signer.issue(
        int(login["userId"]), ACCESS, now=datetime.now(UTC) - timedelta(minutes=20)
    )
    response = await client.get("/auth/me", headers={"Authorization": f"Bearer {expired}"})
    assert response.status == 401
    assert "expired" in (await response.json())["error"]

    response = await client.post("/auth/refresh", json={"refreshToken": login["refreshToken"]})
    assert response.status == 200
    refreshed = await response.json()
    response = await client.get(
        "/auth/me", headers={"Authorization": f"Bearer {refreshed['accessToken']}"}
    )
    assert response.status == 200
    # The client keeps its first refresh token, so it must keep working.
    response = await client.post("/auth/refresh", json={"refreshToken": login["refreshToken"]})
    assert response.status == 200


async def test_logout_revokes_refresh_token(client: Client) -> None:
    login = await register(client)
    response = await client.post("/auth/logout", json={"refreshToken": login["refreshToken"]})
    assert response.status == 204
    response = await client.post("/auth/refresh", json={"refreshToken": login["refreshToken"]})
    assert response.status == 401


async def test_password_change_revokes_refresh_tokens(client: Client) -> None:
    login = await register(client)
    response = await client.post(
        "/auth/password",
        json={"currentPassword": PASSWORD, "newPassword": "another good password"},
        headers=login["headers"],
    )
    assert response.status == 204
    response = await client.post("/auth/refresh", json={"refreshToken": login["refreshToken"]})
    assert response.status == 401
    response = await client.post(
        "/auth/login", json={"email": login["email"], "password": "another good password"}
    )
    assert response.status == 200


async def test_forged_refresh_token_rejected(client: Client) -> None:
    login = await register(client)
    signer = TokenSigner(JWT_SECRET, access_seconds=900, refresh_seconds=3600)
    forged, _ = signer.issue(int(login["userId"]), REFRESH)
    response = await client.post("/auth/refresh", json={"refreshToken": forged})
    assert response.status == 401


async def test_login_rate_limited_per_account(make_client: Any, settings: Settings) -> None:
    client = await make_client(settings.model_copy(update={"login_attempts": 3}))
    login = await register(client)
    for _ in range(3):
        response = await client.post(
            "/auth/login", json={"email": login["email"], "password": "wrong password"}
        )
        assert response.status == 401
    response = await client.post(
        "/auth/login", json={"email": login["email"], "password": PASSWORD}
    )
    assert response.status == 429
    assert int(response.headers["Retry-After"]) > 0


async def test_login_limit_shared_across_instances(make_client: Any, pg_settings: Settings) -> None:
    limited = pg_settings.model_copy(update={"login_attempts": 2})
    first = await make_client(limited)
    second = await make_client(limited)
    login = await register(first)
    for client in (first, second):
        response = await client.post(
            "/auth/login", json={"email": login["email"], "password": "wrong password"}
        )
        assert response.status == 401
    response = await second.post(
        "/auth/login", json={"email": login["email"], "password": PASSWORD}
    )
    assert response.status == 429


async def test_forwarded_address_uses_proxy_entry(make_client: Any, settings: Settings) -> None:
    client = await make_client(settings.model_copy(update={"login_address_attempts": 2}))
    login = await register(client)
    other = await register(client)
    # The proxy appends the real address; a client-supplied first entry must not count.
    for spoofed in ("10.0.0.1", "10.0.0.2"):
        response = await client.post(
            "/auth/login",
            json={"email": login["email"], "password": "wrong password"},
            headers={"X-Forwarded-For": f"{spoofed}, 203.0.113.7"},
        )
        assert response.status == 401
    response = await client.post(
        "/auth/login",
        json={"email": other["email"], "password": PASSWORD},
        headers={"X-Forwarded-For": "10.0.0.3, 203.0.113.7"},
    )
    assert response.status == 429
    response = await client.post(
        "/auth/login",
        json={"email": other["email"], "password": PASSWORD},
        headers={"X-Forwarded-For": "203.0.113.8"},
    )
    assert response.status == 200
