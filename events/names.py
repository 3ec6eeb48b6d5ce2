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
NOTIFICATION = "notification"
RESYNC = "resync"
SESSION_STARTED = "session:started"
SESSION_SET_LOGGED = "session:set_logged"
SESSION_SET_UPDATED = "session:set_updated"
SESSION_SET_DELETED = "session:set_deleted"
SESSION_TIMER = "session:timer"
SESSION_FINISHED = "session:finished"
SESSION_WATCHER_REVOKED = "session:watch_revoked"


def user_room(user_id: int) -> str:
    return f"user:{user_id}"


def watch_room(session_id: int, watcher_id: int) -> str:
    """Name the room of one watcher's devices that are watching one live session."""
    return f"watch:{session_id}:{watcher_id}"
