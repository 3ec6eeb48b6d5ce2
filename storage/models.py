"""Tables of the service.

Ids are 64-bit integers inside the database and opaque strings in the API. Timestamps are
stored in UTC. Loads, durations and distances are stored as the client sent them, and the
progress tables hold them converted to kilograms, seconds and metres.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.expression import text

from storage.types import BigId, UTCDateTime, utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# SQLite reuses the largest id after a delete unless a table is AUTOINCREMENT, and progress
# rows that outlive their workout must never be matched to a new workout with the same id.
SQLITE_AUTOINCREMENT = {"sqlite_autoincrement": True}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        # The notification schedules look users up by local reminder time and by time zone.
        Index("ix_users_reminder_time", "reminder_time", "timezone"),
        Index("ix_users_timezone", "timezone"),
        SQLITE_AUTOINCREMENT,
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="user")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # Account preferences: display unit, reminder schedule and which notifications to send.
    unit: Mapped[str] = mapped_column(String(4), default="kg", server_default="kg")
    # ISO weekdays (1 is Monday) on which to remind, at `reminder_time` (HH:MM, local).
    reminder_days: Mapped[list[int]] = mapped_column(JSON, default=list)
    reminder_time: Mapped[str | None] = mapped_column(String(5))
    notify_achievements: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=text("true")
    )
    notify_reminders: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=text("true")
    )
    notify_weekly_summary: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=text("true")
    )
    notify_email: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RefreshToken(Base):
    """A refresh token, stored as the SHA-256 of the token so a database leak grants nothing."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (SQLITE_AUTOINCREMENT,)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Category(Base):
    __tablename__ = "categories"
    __table_args__ = (UniqueConstraint("user_id", "name"), SQLITE_AUTOINCREMENT)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    color: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Workout(Base):
    __tablename__ = "workouts"
    __table_args__ = (
        Index("ix_workouts_user_created", "user_id", "created_at", "id"),
        Index("ix_workouts_user_updated", "user_id", "updated_at", "id"),
        Index("ix_workouts_user_id_id", "user_id", "id"),
        # Category counts and check-previous look workouts up by user and category.
        Index("ix_workouts_user_category", "user_id", "category_id"),
        Index("ix_workouts_category_created", "category_id", "created_at", "id"),
        # An imported workout carries a key derived from its source rows, so importing the
        # same file twice finds the workouts it already made.
        UniqueConstraint("user_id", "import_key"),
        SQLITE_AUTOINCREMENT,
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id", ondelete="CASCADE"))
    notes: Mapped[str | None] = mapped_column(Text)
    import_key: Mapped[str | None] = mapped_column(String(64))
    # "live" while the workout is being performed as a session, "finished" otherwise. The old
    # client's lists show finished workouts only.
    status: Mapped[str] = mapped_column(String(16), default="finished", server_default="finished")
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The end of the running rest timer of a live session, by the server's clock.
    timer_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SessionGrant(Base):
    """Permission for one user to watch another user's live session."""

    __tablename__ = "session_grants"
    __table_args__ = (UniqueConstraint("workout_id", "watcher_id"), SQLITE_AUTOINCREMENT)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workout_id: Mapped[int] = mapped_column(ForeignKey("workouts.id", ondelete="CASCADE"))
    watcher_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Exercise(Base):
    __tablename__ = "exercises"
    __table_args__ = (
        Index("ix_exercises_workout_order", "workout_id", "order"),
        Index("ix_exercises_user_name_key", "user_id", "name_key"),
        SQLITE_AUTOINCREMENT,
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workout_id: Mapped[int] = mapped_column(ForeignKey("workouts.id", ondelete="CASCADE"))
    # Copied from the workout so progress queries need no join to find a user's exercises.
    user_id: Mapped[int] = mapped_column(BigId)
    type: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    # The name normalized for matching: NFKC, trimmed, case-folded, inner spaces collapsed.
    name_key: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(16))
    notes: Mapped[str | None] = mapped_column(Text)
    order: Mapped[int] = mapped_column(Integer)
    # Exercises of one workout that share this value were done as a superset.
    superset_id: Mapped[str | None] = mapped_column(String(32))


class WorkoutSet(Base):
    __tablename__ = "sets"
    __table_args__ = (
        Index("ix_sets_exercise_order", "exercise_id", "order"),
        # A set logged live carries an id made by the client, so a retried or replayed
        # request finds the set it already stored.
        UniqueConstraint("exercise_id", "client_id"),
        SQLITE_AUTOINCREMENT,
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    exercise_id: Mapped[int] = mapped_column(ForeignKey("exercises.id", ondelete="CASCADE"))
    order: Mapped[int] = mapped_column(Integer)
    value: Mapped[float | None] = mapped_column(Float)
    reps: Mapped[int] = mapped_column(Integer)
    rest_minutes: Mapped[float | None] = mapped_column(Float)
    client_id: Mapped[str | None] = mapped_column(String(64))
    # When the set was performed, by the client's clock; live sets are listed in this order.
    performed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Details that imports keep: normal, warmup, dropset or failure; effort on the RPE scale;
    # a set's own duration and distance next to its load; and notes.
    set_type: Mapped[str | None] = mapped_column(String(16))
    rpe: Mapped[float | None] = mapped_column(Float)
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    distance_m: Mapped[float | None] = mapped_column(Float)
    notes: Mapped[str | None] = mapped_column(Text)


class ExerciseWorkoutStats(Base):
    """One exercise's totals and bests within one workout, in canonical units.

    Rows outlive their workout until the progress job has subtracted them from the exercise's
    totals, so there is no foreign key to the workout.
    """

    __tablename__ = "exercise_workout_stats"
    __table_args__ = (
        Index("ix_ews_workout", "workout_id"),
        Index("ix_ews_category_performed", "category_id", "performed_at"),
        Index("ix_ews_max_load", "user_id", "name_key", "max_load", "performed_at"),
        Index("ix_ews_best_e1rm", "user_id", "name_key", "best_e1rm", "performed_at"),
        Index("ix_ews_max_set_volume", "user_id", "name_key", "max_set_volume", "performed_at"),
        Index("ix_ews_volume", "user_id", "name_key", "volume", "performed_at"),
    )

    user_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    workout_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    category_id: Mapped[int] = mapped_column(BigId)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(16))
    performed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    volume: Mapped[float] = mapped_column(Float)
    reps: Mapped[int] = mapped_column(Integer)
    sets: Mapped[int] = mapped_column(Integer)
    max_load: Mapped[float | None] = mapped_column(Float)
    max_load_set_id: Mapped[int | None] = mapped_column(BigId)
    best_e1rm: Mapped[float | None] = mapped_column(Float)
    best_e1rm_set_id: Mapped[int | None] = mapped_column(BigId)
    max_set_volume: Mapped[float | None] = mapped_column(Float)
    max_set_volume_set_id: Mapped[int | None] = mapped_column(BigId)


class ExerciseProgress(Base):
    """Running totals and bests of one exercise over the user's whole history."""

    __tablename__ = "exercise_progress"

    user_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(16))
    category_id: Mapped[int | None] = mapped_column(BigId)
    volume: Mapped[float] = mapped_column(Float, default=0.0)
    reps: Mapped[int] = mapped_column(Integer, default=0)
    sets: Mapped[int] = mapped_column(Integer, default=0)
    workouts: Mapped[int] = mapped_column(Integer, default=0)
    max_load: Mapped[float | None] = mapped_column(Float)
    best_e1rm: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PersonalRecord(Base):
    """The set that currently holds one record kind of one exercise.

    Kind `max_reps` has one row per point of the load/reps frontier: a set whose reps no set at
    the same or a heavier load has matched. The other kinds have a single row with no load.
    """

    __tablename__ = "personal_records"
    __table_args__ = (
        Index("ix_records_user_exercise", "user_id", "name_key", "kind"),
        SQLITE_AUTOINCREMENT,
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId)
    name_key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    load: Mapped[float | None] = mapped_column(Float)
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(16))
    set_id: Mapped[int | None] = mapped_column(BigId)
    workout_id: Mapped[int] = mapped_column(BigId)
    achieved_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OutboxMessage(Base):
    """Work that must follow a committed write: an event to push or a task to enqueue.

    Rows are inserted in the transaction of the write. An event row is deleted once published.
    A task row is deleted only when its task has run, so a task lost with a worker or with
    Redis's data is sent again when its lease ends.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_available", "available_at", "id"), SQLITE_AUTOINCREMENT)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Sends of a task row so far; each send is one attempt of the task.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The error of the task's last failed run, while the task waits for its retry.
    last_error: Mapped[str | None] = mapped_column(Text)


class Job(Base):
    """A background job a user started and can follow, such as an import."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_user_created", "user_id", "created_at"),
        Index("ix_jobs_state_updated", "state", "updated_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    # Deliveries of the job's task so far; retries keep the job's id.
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Upload(Base):
    """A file a user uploaded for a job, kept in the database so any worker can read it."""

    __tablename__ = "uploads"
    __table_args__ = (SQLITE_AUTOINCREMENT,)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), unique=True)
    filename: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DeadLetter(Base):
    """A task that used up its retries, kept for operators to read and send again."""

    __tablename__ = "dead_letters"
    __table_args__ = (Index("ix_dead_letters_failed", "failed_at"), SQLITE_AUTOINCREMENT)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_name: Mapped[str] = mapped_column(String(64))
    kwargs: Mapped[dict[str, Any]] = mapped_column(JSON)
    job_id: Mapped[str | None] = mapped_column(String(36))
    error: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer)
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retried_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Notification(Base):
    """An entry of a user's in-app inbox."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_user_created", "user_id", "created_at", "id"),
        # The event a notification is about, so a task run twice adds it once.
        UniqueConstraint("user_id", "dedup_key"),
        SQLITE_AUTOINCREMENT,
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    dedup_key: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EmailDelivery(Base):
    """An email sent or being sent; its key makes a second send of one event a no-op."""

    __tablename__ = "email_deliveries"
    __table_args__ = (Index("ix_email_deliveries_unsent", "sent_at", "id"), SQLITE_AUTOINCREMENT)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    dedup_key: Mapped[str] = mapped_column(String(160), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Send attempts so far, and when the last one began. The resend pass skips a row whose
    # attempt may still be running, and gives up after a few attempts.
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    attempted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ExportFile(Base):
    """A file an export job made, downloadable by its owner until it expires."""

    __tablename__ = "export_files"
    __table_args__ = (SQLITE_AUTOINCREMENT,)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class DailyStats(Base):
    """One user's training on one local day, in the user's time zone."""

    __tablename__ = "daily_stats"

    user_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    workouts: Mapped[int] = mapped_column(Integer, default=0)
    sets: Mapped[int] = mapped_column(Integer, default=0)
    reps: Mapped[int] = mapped_column(Integer, default=0)
    # Weight volume in kilograms; durations and distances are not added in.
    volume: Mapped[float] = mapped_column(Float, default=0.0)


class WeeklyStats(Base):
    """One user's training in one ISO week (Monday first), in the user's time zone."""

    __tablename__ = "weekly_stats"

    user_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    iso_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    iso_week: Mapped[int] = mapped_column(Integer, primary_key=True)
    week_start: Mapped[date] = mapped_column(Date)
    workouts: Mapped[int] = mapped_column(Integer, default=0)
    sets: Mapped[int] = mapped_column(Integer, default=0)
    reps: Mapped[int] = mapped_column(Integer, default=0)
    volume: Mapped[float] = mapped_column(Float, default=0.0)
    active_days: Mapped[int] = mapped_column(Integer, default=0)


# The values of Workout.status.
WORKOUT_LIVE = "live"
WORKOUT_FINISHED = "finished"
