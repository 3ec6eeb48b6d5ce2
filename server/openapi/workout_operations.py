"""The REST operations of categories, workouts and analytics, for the OpenAPI document."""

from __future__ import annotations

from server.openapi import replies as r
from server.openapi import workout_replies as w
from server.openapi.operation import Operation, Reply, query_parameter
from server.routes.analytics import (
    DEFAULT_DAILY_DAYS,
    DEFAULT_WEEKLY_DAYS,
    MAX_DAILY_DAYS,
    MAX_WEEKLY_DAYS,
)
from server.schemas import (
    CategoryCreate,
    CategoryUpdate,
    CategoryWorkoutsQuery,
    WorkoutCreate,
    WorkoutListQuery,
    WorkoutUpdate,
)

NO_CATEGORY = "No such category, or it belongs to another account"
LIVE_WORKOUT = "The workout is a live session: change it through /sessions until it is finished"

WORKOUT_OPERATIONS = (
    Operation(
        "GET",
        "/categories",
        "listCategories",
        "categories",
        "List the user's categories by name, each with its number of workouts",
        replies={200: Reply("The categories", list[w.Category])},
    ),
    Operation(
        "POST",
        "/categories",
        "createCategory",
        "categories",
        "Create a category",
        body=CategoryCreate,
        replies={201: Reply("The new category", w.Category)},
        errors={409: "The user already has a category of that name"},
    ),
    Operation(
        "GET",
        "/categories/{id}",
        "getCategory",
        "categories",
        "Return a category",
        replies={200: Reply("The category", w.Category)},
    ),
    Operation(
        "PUT",
        "/categories/{id}",
        "updateCategory",
        "categories",
        "Change a category's name or color",
        body=CategoryUpdate,
        replies={200: Reply("The changed category", w.Category)},
        errors={409: "The user already has a category of the new name"},
    ),
    Operation(
        "DELETE",
        "/categories/{id}",
        "deleteCategory",
        "categories",
        "Delete a category with all of its workouts",
        replies={204: Reply("Deleted")},
        errors={409: "The category has a live session: finish it first"},
    ),
    Operation(
        "GET",
        "/workouts",
        "listWorkouts",
        "workouts",
        "List the user's finished workouts one keyset page at a time",
        query=WorkoutListQuery,
        replies={200: Reply("One page of workouts", w.WorkoutPage)},
    ),
    Operation(
        "POST",
        "/workouts",
        "createWorkout",
        "workouts",
        "Create a workout with its exercises and sets",
        description="A missing `order` becomes the 1-based position; an exercise without "
        "`setsDetail` gets one set of 0 × 1.",
        body=WorkoutCreate,
        replies={201: Reply("The new workout", w.Workout)},
        errors={404: NO_CATEGORY},
    ),
    Operation(
        "GET",
        "/workouts/category/{categoryId}",
        "listCategoryWorkouts",
        "workouts",
        "List a category's workouts, newest first, with the per-exercise history on request",
        description="Without `limit` or `cursor` every matching workout is returned. With "
        "either, the reply is paged like GET /workouts and carries `pagination`.",
        query=CategoryWorkoutsQuery,
        replies={200: Reply("The workouts", w.CategoryWorkouts)},
    ),
    Operation(
        "GET",
        "/workouts/category/{categoryId}/check-previous",
        "checkPreviousWorkouts",
        "workouts",
        "Tell whether the user has logged any workout in the category",
        replies={200: Reply("Whether a workout exists", w.PreviousWorkouts)},
    ),
    Operation(
        "GET",
        "/workouts/{id}",
        "getWorkout",
        "workouts",
        "Return a workout",
        replies={200: Reply("The workout", w.Workout)},
    ),
    Operation(
        "PUT",
        "/workouts/{id}",
        "updateWorkout",
        "workouts",
        "Change a workout",
        description="Only the keys present change. Given `exercises` replace all of the "
        "workout's exercises and sets. The mobile client's `oldCategoryId` is ignored.",
        body=WorkoutUpdate,
        replies={200: Reply("The changed workout", w.Workout)},
        errors={409: LIVE_WORKOUT},
    ),
    Operation(
        "DELETE",
        "/workouts/{id}",
        "deleteWorkout",
        "workouts",
        "Delete a workout",
        description="A request body, which the mobile client may send, is ignored.",
        replies={200: Reply("Deleted", r.Success)},
        errors={409: LIVE_WORKOUT},
    ),
)

DATE = {"type": "string", "format": "date"}
ZONE_NOTE = "Days and weeks are local to the account's time zone; weeks start on Monday."

ANALYTICS_OPERATIONS = (
    Operation(
        "GET",
        "/analytics/daily",
        "getDailyStats",
        "analytics",
        "Return the figures of each local day in a range, idle days too",
        description=f"{ZONE_NOTE} The range spans at most {MAX_DAILY_DAYS} days.",
        parameters=(
            query_parameter(
                "from", DATE, f"First day; default {DEFAULT_DAILY_DAYS - 1} days before `to`"
            ),
            query_parameter("to", DATE, "Last day, included; default today"),
        ),
        replies={200: Reply("One entry per day", r.DailyStats)},
    ),
    Operation(
        "GET",
        "/analytics/weekly",
        "getWeeklyStats",
        "analytics",
        "Return the figures of each ISO week that contains a day of the range, idle weeks too",
        description=f"{ZONE_NOTE} The range spans at most {MAX_WEEKLY_DAYS} days.",
        parameters=(
            query_parameter(
                "from", DATE, f"First day; default {DEFAULT_WEEKLY_DAYS - 1} days before `to`"
            ),
            query_parameter("to", DATE, "Last day, included; default today"),
        ),
        replies={200: Reply("One entry per week", r.WeeklyStats)},
    ),
    Operation(
        "GET",
        "/analytics/streaks",
        "getStreaks",
        "analytics",
        "Return the current and longest runs of consecutive active days and ISO weeks",
        description=ZONE_NOTE,
        replies={200: Reply("The streaks", r.Streaks)},
    ),
    Operation(
        "GET",
        "/analytics/trends",
        "getTrends",
        "analytics",
        "Return the slope of each exercise's estimated one-rep max over the last 8 weeks",
        replies={200: Reply("One trend per exercise", r.Trends)},
    ),
)
