"""Names of the events the server pushes over Socket.IO, and of the rooms it sends them to."""

WORKOUT_CREATED = "workout:created"
WORKOUT_UPDATED = "workout:updated"
WORKOUT_DELETED = "workout:deleted"
CATEGORY_CREATED = "category:created"
CATEGORY_UPDATED = "category:updated"
CATEGORY_DELETED = "category:deleted"
PROGRESS_UPDATED = "progress:updated"
RECORD_ACHIEVED = "record:achieved"
RECORD_WITHDRAWN = "record:withdrawn"
JOB_PROGRESS = "job:progress"
JOB_COMPLETED = "job:completed"
JOB_FAILED = "job:failed"
RESYNC = "resync"


def user_room(user_id: int) -> str:
    return f"user:{user_id}"
