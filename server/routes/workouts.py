"""The workouts API: workouts with their exercises and sets, listed by keyset pages."""

from __future__ import annotations

from functools import partial
from typing import Any

from aiohttp import web

from events import names
from server.auth import current_user, services
from server.errors import json_response
from server.schemas import (
    CategoryWorkoutsQuery,
    WorkoutCreate,
    WorkoutListQuery,
    WorkoutUpdate,
    body_id,
    history_reply,
    page_reply,
    parse_fields,
    path_id,
    query_params,
    workout_reply,
)
from server.validation import parse_body, parse_query
from storage import categories, outbox, workout_pages, workouts

routes = web.RouteTableDef()

# A cursor sent without `limit` on the category list pages by this many workouts.
DEFAULT_LIMIT = 20


@routes.get("/workouts")
async def list_workouts(request: web.Request) -> web.Response:
    """List the user's workouts one keyset page at a time."""
    user_id = current_user(request)
    query = parse_query(query_params(request), WorkoutListQuery)
    fields = parse_fields(query.fields)
    # Reads go to the primary so that a user always sees their own writes.
    page = await services(request).db.read_rows(
        partial(
            workout_pages.list_workouts,
            user_id=user_id,
            fields=fields,
            sort_by=query.sort_by,
            sort_order=query.sort_order,
            limit=query.limit,
            cursor=query.cursor,
        )
    )
    return json_response(page_reply(page, fields))


@routes.get("/workouts/category/{categoryId}")
async def list_category_workouts(request: web.Request) -> web.Response:
    """List a category's workouts, newest first, with the per-exercise history on request.

    Without `limit` (or `cursor`) every matching workout is returned, as the mobile client
    expects. With it the reply is paged like GET /workouts and carries `pagination`.
    """
    user_id = current_user(request)
    category_id = path_id(request, "categoryId", resource="category")
    query = parse_query(query_params(request), CategoryWorkoutsQuery)
    fields = parse_fields(query.fields)
    created_from, created_until = query.date_range()
    limit = query.limit
    if limit is None and query.cursor is not None:
        limit = DEFAULT_LIMIT

    async with services(request).db.read(primary=True) as session:
        await categories.get_category(session, user_id=user_id, category_id=category_id)
        page = await workout_pages.list_workouts(
            session,
            user_id=user_id,
            fields=fields,
            limit=limit,
            cursor=query.cursor,
            category_id=category_id,
            created_from=created_from,
            created_until=created_until,
        )
        history = None
        if query.include_progress:
            workout_ids = [detail.workout.id for detail in page.workouts]
            history = await workouts.list_exercise_history(
                session, user_id=user_id, workout_ids=workout_ids
            )

    reply: dict[str, Any] = page_reply(page, fields)
    pagination = reply.pop("pagination")
    reply["progress"] = None if history is None else history_reply(history)
    if limit is not None:
        reply["pagination"] = pagination
    return json_response(reply)


@routes.get("/workouts/category/{categoryId}/check-previous")
async def check_previous(request: web.Request) -> web.Response:
    """Tell whether the user has logged any workout in the category."""
    user_id = current_user(request)
    category_id = path_id(request, "categoryId", resource="category")
    async with services(request).db.read(primary=True) as session:
        await categories.get_category(session, user_id=user_id, category_id=category_id)
        found = await workouts.has_workouts(session, user_id=user_id, category_id=category_id)
    return json_response({"hasPrevious": found})


@routes.get("/workouts/{id}")
async def get_workout(request: web.Request) -> web.Response:
    user_id = current_user(request)
    workout_id = path_id(request, "id", resource="workout")
    async with services(request).db.read(primary=True) as session:
        detail = await workouts.get_workout(session, user_id=user_id, workout_id=workout_id)
    return json_response(workout_reply(detail))


@routes.post("/workouts")
async def create_workout(request: web.Request) -> web.Response:
    """Create a workout with its exercises and sets in one transaction."""
    user_id = current_user(request)
    body = await parse_body(request, WorkoutCreate)
    category_id = body_id(body.category_id, resource="category")
    async with services(request).write() as session:
        detail = await workouts.create_workout(
            session,
            user_id=user_id,
            category_id=category_id,
            notes=body.notes,
            exercises=body.new_exercises(),
        )
        reply = workout_reply(detail)
        outbox.add_event(session, user_id=user_id, name=names.WORKOUT_CREATED, data=reply)
    return json_response(reply, status=201)


@routes.put("/workouts/{id}")
async def update_workout(request: web.Request) -> web.Response:
    """Change a workout. Given `exercises` replace all of its exercises and sets."""
    user_id = current_user(request)
    workout_id = path_id(request, "id", resource="workout")
    body = await parse_body(request, WorkoutUpdate)
    category_id = None
    if body.category_id is not None:
        category_id = body_id(body.category_id, resource="category")
    notes = body.notes if "notes" in body.model_fields_set else categories.KEEP
    async with services(request).write() as session:
        detail = await workouts.update_workout(
            session,
            user_id=user_id,
            workout_id=workout_id,
            category_id=category_id,
            notes=notes,
            exercises=body.new_exercises(),
        )
        reply = workout_reply(detail)
        outbox.add_event(session, user_id=user_id, name=names.WORKOUT_UPDATED, data=reply)
    return json_response(reply)


@routes.delete("/workouts/{id}")
async def delete_workout(request: web.Request) -> web.Response:
    """Delete a workout, ignoring the request body that the mobile client may send."""
    user_id = current_user(request)
    workout_id = path_id(request, "id", resource="workout")
    async with services(request).write() as session:
        category_id = await workouts.delete_workout(session, user_id=user_id, workout_id=workout_id)
        data = {"id": str(workout_id), "categoryId": str(category_id)}
        outbox.add_event(session, user_id=user_id, name=names.WORKOUT_DELETED, data=data)
    return json_response({"success": True})
