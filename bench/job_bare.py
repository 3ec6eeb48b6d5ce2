"""A stock taskiq-redis stream broker that runs the no-op task, for bench/job_throughput.py.

    BENCH_REDIS_URL=redis://127.0.0.1:6379/0 BENCH_BARE_PREFIX=bench-x: \
        .venv/bin/taskiq worker job_bare:broker_from_env --app-dir bench

The broker keeps taskiq-redis's defaults except for its stream and consumer group names, which
start with the prefix.
"""

from __future__ import annotations

import os

from job_tasks import register_noop
from taskiq_redis import RedisStreamBroker


def create_bare_broker(redis_url: str, prefix: str) -> RedisStreamBroker:
    broker = RedisStreamBroker(
        redis_url, queue_name=f"{prefix}tasks", consumer_group_name=f"{prefix}workers"
    )
    register_noop(broker)
    return broker


def broker_from_env() -> RedisStreamBroker:
    """Create the broker from BENCH_REDIS_URL and BENCH_BARE_PREFIX, for `taskiq worker`."""
    return create_bare_broker(os.environ["BENCH_REDIS_URL"], os.environ["BENCH_BARE_PREFIX"])
