"""Login rate limiting per account and per client address.

With Redis the counters are shared by every instance; without it they live in this process.
An account allows `attempts` failures in a fixed window of `window_seconds`, and a client
address allows `address_attempts`: more, because many users can share one address.
"""

from __future__ import annotations

import logging
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

from server.errors import RateLimited

log = logging.getLogger(__name__)


class LoginLimiter:
    def __init__(
        self,
        redis: Redis | None,
        *,
        prefix: str,
        attempts: int,
        address_attempts: int = 100,
        window_seconds: int,
    ):
        self._redis = redis
        self._prefix = f"{prefix}login:"
        self._attempts = attempts
        self._address_attempts = address_attempts
        self._window = window_seconds
        # key -> (window end as a monotonic time, failures in the window)
        self._local: dict[str, tuple[float, int]] = {}

    async def check(self, *, email: str, address: str) -> None:
        """Raise RateLimited if the account or the address used up its failed attempts."""
        account, client = self._keys(email, address)
        for key, limit in ((account, self._attempts), (client, self._address_attempts)):
            failures, retry_after = await self._read(key)
            if failures >= limit:
                raise RateLimited(
                    f"too many failed logins, try again in {retry_after} seconds",
                    retry_after=retry_after,
                )

    async def record_failure(self, *, email: str, address: str) -> None:
        for key in self._keys(email, address):
            await self._increment(key)

    async def reset(self, *, email: str) -> None:
        """Clear the account's counter after a successful login; the address keeps its count."""
        key = f"{self._prefix}account:{email}"
        self._local.pop(key, None)
        if self._redis is not None:
            try:
                await self._redis.delete(key)
            except RedisError as error:
                log.warning("login limiter reset failed: %r", error)

    def _keys(self, email: str, address: str) -> tuple[str, str]:
        return f"{self._prefix}account:{email}", f"{self._prefix}address:{address}"

    async def _read(self, key: str) -> tuple[int, int]:
        if self._redis is None:
            return self._read_local(key)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.get(key)
                pipe.ttl(key)
                value, ttl = await pipe.execute()
        except RedisError as error:
            # NOTE: with Redis down the limit falls back to this process's own counters.
            log.warning("login limiter unavailable, counting in process: %r", error)
            return self._read_local(key)
        return int(value or 0), max(int(ttl), 1)

    async def _increment(self, key: str) -> None:
        if self._redis is not None:
            try:
                async with self._redis.pipeline(transaction=True) as pipe:
                    pipe.incr(key)
                    pipe.expire(key, self._window, nx=True)
                    await pipe.execute()
                return
            except RedisError as error:
                log.warning("login limiter unavailable, counting in process: %r", error)
        now = time.monotonic()
        window_end, failures = self._local.get(key, (now + self._window, 0))
        if window_end <= now:
            window_end, failures = now + self._window, 0
        self._local[key] = (window_end, failures + 1)

    def _read_local(self, key: str) -> tuple[int, int]:
        now = time.monotonic()
        window_end, failures = self._local.get(key, (now, 0))
        if window_end <= now:
            return 0, 0
        return failures, max(int(window_end - now), 1)
