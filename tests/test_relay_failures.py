"""The outbox relay keeps running on a database it cannot use, and backs off."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import Path

import pytest
from taskiq import InMemoryBroker

from events.bus import DroppingPublisher, EventBus
from storage.db import Database
from tasks.relay import OutboxRelay


async def test_relay_backs_off_when_unmigrated(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    relay = OutboxRelay(
        db,
        EventBus(DroppingPublisher()),
        InMemoryBroker(),
        poll_seconds=0.05,
        task_lease=timedelta(minutes=5),
        max_attempts=3,
    )
    stop = asyncio.Event()
    caplog.set_level(logging.WARNING, logger="tasks.relay")
    running = asyncio.create_task(relay.run(stop))
    try:
        await asyncio.sleep(1.0)
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=5)
        await db.dispose()
    failures = [r for r in caplog.records if "outbox relay failed" in r.getMessage()]
    # A fixed 0.05 s wait would fail about 20 times in a second; doubling waits fail 4 times.
    assert 1 <= len(failures) <= 6
    assert "no such table" in failures[0].getMessage()
