"""A worker process that also runs the test-only tasks: `python -m tests.job_worker`.

It reads its settings from the environment, as `nappatzim worker` does, and stops on SIGTERM.
"""

from __future__ import annotations

import asyncio
import signal

from server.cli import configure_logging
from server.config import Settings
from server.services import Services
from tasks.worker import work
from tests.job_tasks import register_test_tasks


async def main() -> None:
    settings = Settings()
    configure_logging(settings.log_level)
    services = Services(settings)
    register_test_tasks(services.broker)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await work(settings, stop, services=services)


if __name__ == "__main__":
    asyncio.run(main())
