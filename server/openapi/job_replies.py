"""Reply bodies of background jobs and of the operators' API, for the OpenAPI document."""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired

from pydantic import Field
from typing_extensions import TypedDict

from server.openapi.replies import JobState, Pagination, Timestamp


class Job(TypedDict):
    id: Annotated[str, Field(json_schema_extra={"format": "uuid"})]
    kind: Annotated[str, Field(description="import or export")]
    state: JobState
    progress: Annotated[float, Field(ge=0, le=1)]
    result: Annotated[
        dict[str, Any] | None,
        Field(description="Set when the job succeeded; an export's names its downloadUrl"),
    ]
    error: str | None
    attempts: int
    createdAt: Timestamp
    updatedAt: Timestamp


class JobPage(TypedDict):
    jobs: list[Job]
    pagination: Pagination


class AdminJob(Job):
    userId: str


class AdminJobPage(TypedDict):
    jobs: list[AdminJob]
    pagination: Pagination


class DeadLetter(TypedDict):
    """A task that failed for good, with the arguments it ran with."""

    id: str
    taskName: str
    kwargs: dict[str, Any]
    jobId: str | None
    error: str
    attempts: int
    failedAt: Timestamp
    retriedAt: Timestamp | None


class DeadLetterPage(TypedDict):
    deadLetters: list[DeadLetter]
    pagination: Pagination


class RetriedDeadLetter(TypedDict):
    deadLetter: DeadLetter
    job: Job | None


class RetryingTask(TypedDict):
    taskId: str
    taskName: str
    jobId: str | None
    attempts: int
    nextAttemptAt: Timestamp
    error: str | None


class TaskRowCounts(TypedDict):
    total: int
    retrying: int


class DeadLetterCounts(TypedDict):
    total: int
    open: Annotated[int, Field(description="Not retried yet")]


class InProcessTasks(TypedDict):
    running: int


class QueueSnapshot(TypedDict):
    """Counts and the oldest unfinished tasks, read from the database and from Redis."""

    jobs: Annotated[dict[str, int], Field(description="Jobs of every user, per state")]
    outbox: TaskRowCounts
    deadLetters: DeadLetterCounts
    retryingTasks: list[RetryingTask]
    backend: Literal["in-process", "redis"]
    inProcess: NotRequired[
        Annotated[InProcessTasks, Field(description="Without REDIS_URL: tasks of this process")]
    ]
    stream: NotRequired[
        Annotated[
            dict[str, Any],
            Field(
                description="With REDIS_URL: the stream's name, group, length, pending, lag, "
                "consumers and pendingMessages, or `error` when Redis is unreachable"
            ),
        ]
    ]
