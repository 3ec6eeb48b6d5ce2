"""Reply bodies of categories, workouts and live sessions, for the OpenAPI document."""

from __future__ import annotations

from typing import Annotated, Literal, NotRequired

from pydantic import Field
from typing_extensions import TypedDict

from server.openapi.replies import Pagination, Timestamp

ExerciseType = Literal["weight", "time", "distance"]


# ---- categories and workouts -------------------------------------------------------------


class WorkoutCount(TypedDict):
    workouts: int


class Category(TypedDict):
    id: str
    name: str
    color: str | None
    userId: str
    createdAt: Timestamp
    updatedAt: Timestamp
    _count: NotRequired[WorkoutCount]


class WorkoutSet(TypedDict):
    id: str
    exerciseId: str
    order: int
    value: float | None
    reps: int
    restMinutes: float | None


class Exercise(TypedDict):
    id: str
    workoutId: str
    type: ExerciseType
    name: str
    unit: str
    notes: str | None
    order: int
    setsDetail: list[WorkoutSet]


class Workout(TypedDict):
    id: str
    notes: str | None
    categoryId: str
    userId: str
    createdAt: Timestamp
    updatedAt: Timestamp
    category: Category | None
    exercises: list[Exercise]


class ListedWorkout(TypedDict, total=False):
    """A workout in a list: only the keys named by `fields`, or all of them."""

    id: str
    notes: str | None
    categoryId: str
    userId: str
    createdAt: Timestamp
    updatedAt: Timestamp
    category: Category | None
    exercises: list[Exercise]


class WorkoutPage(TypedDict):
    workouts: list[ListedWorkout]
    pagination: Pagination


class ProgressEntry(TypedDict):
    date: Timestamp
    volume: float
    sets: int
    reps: int
    maxWeight: float | None
    unit: str


class ExerciseProgress(TypedDict):
    name: str
    type: ExerciseType
    progress: list[ProgressEntry]


class CategoryWorkouts(TypedDict):
    workouts: list[ListedWorkout]
    progress: Annotated[
        dict[str, ExerciseProgress] | None,
        Field(description='Keyed by "<name>-<type>"; null unless includeProgress=true'),
    ]
    pagination: NotRequired[Annotated[Pagination, Field(description="Only with limit or cursor")]]


class PreviousWorkouts(TypedDict):
    hasPrevious: bool


# ---- live sessions -----------------------------------------------------------------------


class Timer(TypedDict):
    endsAt: Timestamp


class TimerState(TypedDict):
    endsAt: Annotated[Timestamp | None, Field(description="null when no timer runs")]


class SessionSet(TypedDict):
    id: str
    clientId: str | None
    exerciseId: str
    order: int
    value: float | None
    reps: int
    restMinutes: float | None
    performedAt: Timestamp | None


class SetExercise(TypedDict):
    id: str
    name: str
    type: ExerciseType
    unit: str
    order: int


class LoggedSet(SessionSet):
    """A set with its exercise, as set writes and set events return it."""

    exercise: SetExercise


class SessionExercise(TypedDict):
    id: str
    workoutId: str
    type: ExerciseType
    name: str
    unit: str
    notes: str | None
    order: int
    setsDetail: list[SessionSet]


class Watcher(TypedDict):
    userId: str
    email: str
    createdAt: Timestamp


class WatcherList(TypedDict):
    watchers: list[Watcher]


class Session(TypedDict):
    id: str
    userId: str
    categoryId: str
    category: Category
    notes: str | None
    status: Literal["live", "finished"]
    createdAt: Timestamp
    updatedAt: Timestamp
    finishedAt: Timestamp | None
    timer: Timer | None
    exercises: list[SessionExercise]
    watchers: NotRequired[Annotated[list[Watcher], Field(description="For the owner only")]]


class SessionSummary(TypedDict):
    id: str
    userId: str
    categoryId: str
    category: Category
    notes: str | None
    status: Literal["live", "finished"]
    createdAt: Timestamp
    updatedAt: Timestamp
    finishedAt: Timestamp | None
    timer: Timer | None
    role: Literal["owner", "watcher"]


class SessionList(TypedDict):
    sessions: list[SessionSummary]
