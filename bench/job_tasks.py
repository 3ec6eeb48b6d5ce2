"""The no-op task that both sides of bench/job_throughput.py run.

It imports nothing from the product, so the stock broker in bench/job_bare.py stays bare.
"""

from __future__ import annotations

from taskiq import AsyncBroker

NOOP = "bench.noop"


async def noop() -> None:
    """Do nothing: the benchmark measures the cost of moving a task, not of running one."""


def register_noop(broker: AsyncBroker) -> None:
    broker.register_task(noop, task_name=NOOP)
