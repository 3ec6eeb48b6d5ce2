"""The worker process: runs tasks from the Redis queue until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from taskiq import AsyncBroker
from taskiq.acks import AcknowledgeType
from taskiq.receiver import Receiver

from server.config import Settings
from server.services import Services

log = logging.getLogger(__name__)


async def run_worker(
    settings: Settings, register: Callable[[AsyncBroker], object] | None = None
) -> None:
    """Run tasks until SIGTERM or SIGINT; a second signal does not cut running tasks short.

    `register`, when given, adds tasks of the caller's own to the broker before it starts.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    services = Services(settings)
    if register is not None:
        register(services.broker)
    await work(settings, stop, services=services)


async def work(
    settings: Settings, stop: asyncio.Event, *, services: Services | None = None
) -> None:
    """Run tasks from the queue until `stop` is set.

    A caller may pass `services`, not started yet, to register tasks of its own on its broker.
    """
    assert settings.redis_url is not None, "a worker needs REDIS_URL"
    services = services or Services(settings)
    services.broker.is_worker_process = True
    await services.start(start_broker=False)
    try:
        with ThreadPoolExecutor(max_workers=2) as executor:
            receiver = Receiver(
                services.broker,
                executor=executor,
                max_async_tasks=settings.worker_concurrency,
                # Acknowledge only after the task returned: a worker killed mid-task leaves
                # the message pending, and another worker reclaims it after the redelivery time.
                ack_type=AcknowledgeType.WHEN_EXECUTED,
                wait_tasks_timeout=30,
            )
            log.info("worker started", extra={"concurrency": settings.worker_concurrency})
            await receiver.listen(stop)
    finally:
        await services.stop()
        log.info("worker stopped")
