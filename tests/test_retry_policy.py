"""Backoff delays and the classification of real errors as transient or permanent."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from storage.db import create_engine
from tasks.retry import (
    PermanentError,
    RetryPolicy,
    TransientError,
    is_transient,
    owner_message,
)
from tests.processes import free_port

POLICY = RetryPolicy(max_attempts=12, base_seconds=1.0, factor=2.0, max_seconds=300.0)


def test_ceiling_doubles_then_caps() -> None:
    ceilings = [POLICY.ceiling(attempt) for attempt in range(1, 12)]
    assert ceilings[:9] == [1, 2, 4, 8, 16, 32, 64, 128, 256]
    assert ceilings[9:] == [300, 300]


def test_ceiling_of_huge_attempt_is_cap() -> None:
    assert POLICY.ceiling(10_000) == 300


def test_delays_stay_within_ceiling() -> None:
    rng = random.Random(7)
    for attempt in range(1, 11):
        delays = [POLICY.delay(attempt, rng) for _ in range(500)]
        assert min(delays) >= 0
        assert max(delays) <= POLICY.ceiling(attempt)


def test_delays_grow_with_attempts() -> None:
    rng = random.Random(11)
    means = []
    for attempt in range(1, 7):
        delays = [POLICY.delay(attempt, rng) for _ in range(2000)]
        means.append(sum(delays) / len(delays))
    # Full jitter draws uniformly from [0, ceiling], so the mean is half the ceiling.
    for attempt, mean in enumerate(means, start=1):
        assert mean == pytest.approx(POLICY.ceiling(attempt) / 2, rel=0.1)
    assert means == sorted(means)


async def refused_connection() -> OSError:
    try:
        await asyncio.open_connection("127.0.0.1", free_port())
    except OSError as error:
        return error
    raise AssertionError("a connection to a closed port succeeded")


async def test_refused_connection_is_transient() -> None:
    error = await refused_connection()
    assert isinstance(error, ConnectionRefusedError)
    assert is_transient(error)
    assert owner_message(error) == "a connection failed"


async def test_timeout_is_transient() -> None:
    with pytest.raises(TimeoutError) as caught:
        await asyncio.wait_for(asyncio.sleep(1), timeout=0.01)
    assert is_transient(caught.value)
    assert owner_message(caught.value) == "an operation timed out"


async def test_redis_down_is_transient() -> None:
    redis = Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=1)
    try:
        with pytest.raises(Exception) as caught:
            await redis.ping()
    finally:
        await redis.aclose()
    assert is_transient(caught.value)
    assert owner_message(caught.value) == "Redis was unavailable"


async def test_database_down_is_transient() -> None:
    engine = create_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nowhere")
    try:
        with pytest.raises(Exception) as caught:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    finally:
        await engine.dispose()
    assert is_transient(caught.value)


async def test_constraint_violation_is_permanent(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'unique.sqlite3'}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE item (name TEXT UNIQUE)"))
            await connection.execute(text("INSERT INTO item VALUES ('a')"))
        with pytest.raises(IntegrityError) as caught:
            async with engine.begin() as connection:
                await connection.execute(text("INSERT INTO item VALUES ('a')"))
    finally:
        await engine.dispose()
    assert not is_transient(caught.value)
    assert owner_message(caught.value) == "internal error (IntegrityError)"


def test_bug_is_permanent() -> None:
    with pytest.raises(KeyError) as caught:
        _ = {"a": 1}["b"]
    assert not is_transient(caught.value)


def test_declared_errors_keep_their_kind() -> None:
    assert is_transient(TransientError("mail server busy"))
    assert not is_transient(PermanentError("file is empty"))
    assert owner_message(PermanentError("file is empty")) == "file is empty"
