"""Liveness and readiness, including a database that was never migrated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from server.config import Settings
from tests.conftest import FAST, JWT_SECRET, ClientFactory


async def test_ready_when_migrated(client: Any) -> None:
    response = await client.get("/ready")
    assert response.status == 200
    body = await response.json()
    assert body["checks"]["database"] == "ok"


async def test_not_ready_before_migrate(make_client: ClientFactory, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, jwt_secret=JWT_SECRET, **FAST)
    client = await make_client(settings)

    response = await client.get("/health")
    assert response.status == 200
    response = await client.get("/ready")
    assert response.status == 503
    body = await response.json()
    assert body["status"] == "unavailable"
    assert "nappatzim migrate" in body["checks"]["database"]
