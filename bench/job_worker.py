"""A `nappatzim worker` process that also runs the no-op task of bench/job_throughput.py.

    .venv/bin/python bench/job_worker.py

It reads its settings from the environment, as `nappatzim worker` does, registers the no-op
task on its broker, and stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import asyncio

from job_tasks import register_noop

from server.cli import configure_logging
from server.config import Settings
from tasks.worker import run_worker

if __name__ == "__main__":
    settings = Settings()
    configure_logging(settings.log_level)
    asyncio.run(run_worker(settings, register_noop))
