"""Access to the process's shared resources from inside a task."""

from __future__ import annotations

from typing import TYPE_CHECKING

from taskiq import Context

if TYPE_CHECKING:
    from server.services import Services


def services_of(context: Context) -> Services:
    services: Services = context.state.services
    return services
