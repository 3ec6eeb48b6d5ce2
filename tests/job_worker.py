"""A worker process that also runs the test-only tasks: `python -m tests.job_worker`.

It reads its settings from the environment, as `nappatzim worker` does, and stops on SIGTERM.
"""

from __future__ import annotations

import asyncio

from server.cli import configure_logging
from server.config import Settings
from tasks.worker import run_worker
from tests.job_tasks import register_test_tasks

if __name__ == "__main__":
    settings = Settings()
    configure_logging(settings.log_level)
    asyncio.run(run_worker(settings, register_test_tasks))
