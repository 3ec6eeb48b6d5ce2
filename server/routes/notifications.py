"""The in-app inbox: list notifications, count the unread ones and mark them read."""

from __future__ import annotations

from aiohttp import web
from pydantic import Field, StrictBool

from server.auth import current_user, services
from server.errors import json_response
from server.schemas import path_id, query_params
from server.validation import CamelModel, validate
from storage import notifications

routes = web.RouteTableDef()


class InboxQuery(CamelModel):
    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=1000)
    unread: StrictBool = False


@routes.get("/notifications")
async def list_notifications(request: web.Request) -> web.Response:
    """List the user's notifications, newest first, 20 per page by default.

    Query: `limit` (1 to 100), `cursor` (the previous page's nextCursor) and `unread=true`
    for unread ones only.
    """
    user_id = current_user(request)
    query = validate(InboxQuery, _bool_params(query_params(request)))
    async with services(request).db.read(primary=True) as session:
        page = await notifications.list_notifications(
            session,
            user_id=user_id,
            limit=query.limit,
            cursor=query.cursor,
            unread_only=query.unread,
        )
    return json_response(
        {
            "notifications": [notifications.notification_payload(row) for row in page.items],
            "pagination": {"hasMore": page.has_more, "nextCursor": page.next_cursor},
        }
    )


@routes.get("/notifications/unread-count")
async def unread_count(request: web.Request) -> web.Response:
    user_id = current_user(request)
    async with services(request).db.read(primary=True) as session:
        count = await notifications.count_unread(session, user_id=user_id)
    return json_response({"unread": count})


@routes.post("/notifications/read-all")
async def mark_all_read(request: web.Request) -> web.Response:
    """Mark every unread notification read; reply with how many changed."""
    user_id = current_user(request)
    async with services(request).write() as session:
        count = await notifications.mark_all_read(session, user_id=user_id)
    return json_response({"marked": count, "unread": 0})


@routes.post("/notifications/{id}/read")
async def mark_read(request: web.Request) -> web.Response:
    """Mark one notification read; another user's notification is not found (404)."""
    user_id = current_user(request)
    notification_id = path_id(request, "id", resource="notification")
    async with services(request).write() as session:
        row = await notifications.mark_read(
            session, user_id=user_id, notification_id=notification_id
        )
        reply = notifications.notification_payload(row)
    return json_response(reply)


def _bool_params(params: dict[str, str]) -> dict[str, object]:
    """Turn `unread=true` or `unread=false` into a bool; other values fail validation."""
    result: dict[str, object] = dict(params)
    value = params.get("unread")
    if value in ("true", "false"):
        result["unread"] = value == "true"
    return result
