"""The categories API: a user's named groups of workouts."""

from __future__ import annotations

from aiohttp import web

from events import names
from server.auth import current_user, services
from server.errors import json_response
from server.schemas import CategoryCreate, CategoryUpdate, category_reply, path_id
from server.validation import parse_body
from storage import categories, outbox

routes = web.RouteTableDef()


@routes.get("/categories")
async def list_categories(request: web.Request) -> web.Response:
    """List the user's categories by name, each with `_count.workouts`."""
    user_id = current_user(request)
    # NOTE: reads go to the primary so that a user always sees their own writes.
    async with services(request).db.read(primary=True) as session:
        rows = await categories.list_categories(session, user_id=user_id)
    return json_response([category_reply(row.category, workout_count=row.workouts) for row in rows])


@routes.get("/categories/{id}")
async def get_category(request: web.Request) -> web.Response:
    user_id = current_user(request)
    category_id = path_id(request, "id", resource="category")
    async with services(request).db.read(primary=True) as session:
        category = await categories.get_category(session, user_id=user_id, category_id=category_id)
        count = await categories.count_workouts(session, category_id=category_id)
    return json_response(category_reply(category, workout_count=count))


@routes.post("/categories")
async def create_category(request: web.Request) -> web.Response:
    """Create a category, or reply 409 when the user already has one of that name."""
    user_id = current_user(request)
    body = await parse_body(request, CategoryCreate)
    async with services(request).write() as session:
        category = await categories.create_category(
            session, user_id=user_id, name=body.name, color=body.color
        )
        reply = category_reply(category, workout_count=0)
        outbox.add_event(session, user_id=user_id, name=names.CATEGORY_CREATED, data=reply)
    return json_response(reply, status=201)


@routes.put("/categories/{id}")
async def update_category(request: web.Request) -> web.Response:
    """Change a category's name or color, or reply 409 when the new name is taken."""
    user_id = current_user(request)
    category_id = path_id(request, "id", resource="category")
    body = await parse_body(request, CategoryUpdate)
    color = body.color if "color" in body.model_fields_set else categories.KEEP
    async with services(request).write() as session:
        category = await categories.update_category(
            session, user_id=user_id, category_id=category_id, name=body.name, color=color
        )
        count = await categories.count_workouts(session, category_id=category_id)
        reply = category_reply(category, workout_count=count)
        outbox.add_event(session, user_id=user_id, name=names.CATEGORY_UPDATED, data=reply)
    return json_response(reply)


@routes.delete("/categories/{id}")
async def delete_category(request: web.Request) -> web.Response:
    """Delete a category with all of its workouts."""
    user_id = current_user(request)
    category_id = path_id(request, "id", resource="category")
    async with services(request).write() as session:
        await categories.delete_category(session, user_id=user_id, category_id=category_id)
        data = {"id": str(category_id)}
        outbox.add_event(session, user_id=user_id, name=names.CATEGORY_DELETED, data=data)
    return web.Response(status=204)
