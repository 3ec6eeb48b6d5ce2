"""The delivery of a task message that the current asyncio task is running.

Taskiq's receiver runs each message in an asyncio task of its own: the middleware's
`pre_execute`, the task body, the acknowledgement and `post_execute` all run there. A context
variable set in `pre_execute` is therefore visible to the body and to the acknowledgement, which
lets a body decide that its message must stay unacknowledged.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from taskiq import TaskiqMessage


@dataclass
class Delivery:
    """One delivery of a task message to this process."""

    task_id: str
    task_name: str
    # Set when the message must stay unacknowledged, so that the queue delivers it again after
    # the redelivery time and the task's outbox row stays.
    left_pending: bool = False
    finished: bool = False


@dataclass
class _Counts:
    running: int = 0


_current: ContextVar[Delivery | None] = ContextVar("task_delivery", default=None)
_counts = _Counts()


def begin_delivery(message: TaskiqMessage) -> Delivery:
    delivery = Delivery(task_id=message.task_id, task_name=message.task_name)
    _current.set(delivery)
    _counts.running += 1
    return delivery


def end_delivery() -> None:
    delivery = _current.get()
    if delivery is not None and not delivery.finished:
        delivery.finished = True
        _counts.running -= 1


def running_deliveries() -> int:
    """Return how many task messages this process is running now."""
    return _counts.running


def current_delivery() -> Delivery | None:
    """Return the delivery being run, or None outside a task run by a broker."""
    return _current.get()


def leave_pending() -> None:
    """Keep the current message unacknowledged and its outbox row in place.

    The stream delivers the message again after TASK_REDELIVERY_SECONDS. Outside a broker's
    delivery, as when a test calls a task body directly, this does nothing.
    """
    delivery = _current.get()
    if delivery is not None:
        delivery.left_pending = True
