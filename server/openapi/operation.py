"""The description of one REST operation, as the OpenAPI document is built from it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

Auth = Literal["public", "user", "admin"]

# Descriptions of the query parameters that pydantic models define, by name.
QUERY_DESCRIPTIONS = {
    "limit": "Items per page",
    "cursor": "The previous page's `pagination.nextCursor`",
    "fields": "Comma-separated workout keys to return, e.g. id,notes,createdAt; default all",
    "sortBy": "The key to sort by",
    "sortOrder": "The sort direction",
    "includeProgress": "Add each exercise's history in `progress`",
    "startDate": "ISO 8601 date or date-time, UTC without an offset; a date covers its UTC day",
    "endDate": "ISO 8601 date or date-time, included; a date covers its UTC day",
    "kind": "Only jobs of this kind: import or export",
    "state": "Only jobs in this state",
    "unread": "Only unread notifications",
    "retried": "true: only dead letters retried already; false: only those not retried yet",
}


@dataclass(frozen=True)
class Reply:
    """A reply: `schema` is a typed dict or pydantic model of a JSON body, None for no body.

    `content` replaces the JSON body with other media types, such as files and pages.
    """

    description: str
    schema: Any = None
    content: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Operation:
    """One method on one path, in aiohttp's path syntax without regular expressions.

    Error replies follow from the rest: 401 unless `auth` is public, 403 for admin, 400 for a
    body or query, 413 for a body, 404 for a path with parameters, and a default reply for
    500 and 503. `errors` adds statuses or overrides those descriptions.
    """

    method: str
    path: str
    operation_id: str
    tag: str
    summary: str
    replies: Mapping[int, Reply]
    description: str | None = None
    auth: Auth = "user"
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    # Query parameters that no pydantic model describes, as OpenAPI parameter objects.
    parameters: tuple[Mapping[str, Any], ...] = ()
    # A hand-written request body, for uploads that are not JSON.
    request_body: Mapping[str, Any] | None = None
    errors: Mapping[int, str] = field(default_factory=dict)


def query_parameter(
    name: str, schema: Mapping[str, Any], description: str, *, required: bool = False
) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": dict(schema),
    }
