"""The JSON shapes of a user's rows in the JSON export: ids as strings, times in UTC ISO 8601."""

from __future__ import annotations

from datetime import date
from typing import Any

from server.schemas import iso
from storage.export_data import ExportWorkout, Grant
from storage.models import (
    DailyStats,
    EmailDelivery,
    ExerciseProgress,
    ExerciseWorkoutStats,
    Job,
    Notification,
    PersonalRecord,
    User,
    WeeklyStats,
    WorkoutSet,
)
from storage.workout_rows import ExerciseDetail


def _time(value: Any) -> str | None:
    return None if value is None else iso(value)


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def account_json(user: User) -> dict[str, Any]:
    return {
        "id": str(user.id),
        "email": user.email,
        "role": user.role,
        "createdAt": iso(user.created_at),
        "updatedAt": iso(user.updated_at),
    }


def preferences_json(user: User) -> dict[str, Any]:
    return {
        "timezone": user.timezone,
        "unit": user.unit,
        "reminderDays": list(user.reminder_days or []),
        "reminderTime": user.reminder_time,
        "notifyAchievements": user.notify_achievements,
        "notifyReminders": user.notify_reminders,
        "notifyWeeklySummary": user.notify_weekly_summary,
        "notifyEmail": user.notify_email,
    }


def workout_json(detail: ExportWorkout) -> dict[str, Any]:
    workout = detail.workout
    return {
        "id": str(workout.id),
        "categoryId": str(workout.category_id),
        "category": detail.category.name,
        "status": workout.status,
        "notes": workout.notes,
        "importKey": workout.import_key,
        "createdAt": iso(workout.created_at),
        "updatedAt": iso(workout.updated_at),
        "finishedAt": _time(workout.finished_at),
        "timerEndsAt": _time(workout.timer_ends_at),
        "exercises": [_exercise(item) for item in detail.exercises],
    }


def _exercise(item: ExerciseDetail) -> dict[str, Any]:
    exercise = item.exercise
    return {
        "id": str(exercise.id),
        "type": exercise.type,
        "name": exercise.name,
        "unit": exercise.unit,
        "notes": exercise.notes,
        "order": exercise.order,
        "supersetId": exercise.superset_id,
        "sets": [_set(workout_set) for workout_set in item.sets],
    }


def _set(item: WorkoutSet) -> dict[str, Any]:
    return {
        "id": str(item.id),
        "order": item.order,
        "value": item.value,
        "reps": item.reps,
        "restMinutes": item.rest_minutes,
        "setType": item.set_type,
        "rpe": item.rpe,
        "durationSeconds": item.duration_seconds,
        "distanceM": item.distance_m,
        "notes": item.notes,
        "clientId": item.client_id,
        "performedAt": _time(item.performed_at),
    }


def grant_given_json(grant: Grant) -> dict[str, Any]:
    return {
        "sessionId": str(grant.workout_id),
        "watcherId": str(grant.watcher_id),
        "watcherEmail": grant.watcher_email,
        "createdAt": iso(grant.created_at),
    }


def grant_received_json(grant: Grant) -> dict[str, Any]:
    return {
        "sessionId": str(grant.workout_id),
        "ownerId": str(grant.owner_id),
        "createdAt": iso(grant.created_at),
    }


def progress_json(row: ExerciseProgress) -> dict[str, Any]:
    return {
        "name": row.name,
        "nameKey": row.name_key,
        "type": row.type,
        "categoryId": None if row.category_id is None else str(row.category_id),
        "volume": row.volume,
        "reps": row.reps,
        "sets": row.sets,
        "workouts": row.workouts,
        "maxLoad": row.max_load,
        "bestE1rm": row.best_e1rm,
        "updatedAt": iso(row.updated_at),
    }


def history_json(row: ExerciseWorkoutStats) -> dict[str, Any]:
    return {
        "workoutId": str(row.workout_id),
        "name": row.name,
        "nameKey": row.name_key,
        "type": row.type,
        "performedAt": iso(row.performed_at),
        "volume": row.volume,
        "reps": row.reps,
        "sets": row.sets,
        "maxLoad": row.max_load,
        "bestE1rm": row.best_e1rm,
        "maxSetVolume": row.max_set_volume,
    }


def record_json(row: PersonalRecord) -> dict[str, Any]:
    return {
        "nameKey": row.name_key,
        "kind": row.kind,
        "value": row.value,
        "unit": row.unit,
        "load": row.load,
        "setId": None if row.set_id is None else str(row.set_id),
        "workoutId": str(row.workout_id),
        "achievedAt": iso(row.achieved_at),
    }


def daily_json(row: DailyStats) -> dict[str, Any]:
    return {
        "day": _day(row.day),
        "workouts": row.workouts,
        "sets": row.sets,
        "reps": row.reps,
        "volume": row.volume,
    }


def weekly_json(row: WeeklyStats) -> dict[str, Any]:
    return {
        "isoYear": row.iso_year,
        "isoWeek": row.iso_week,
        "weekStart": _day(row.week_start),
        "workouts": row.workouts,
        "sets": row.sets,
        "reps": row.reps,
        "volume": row.volume,
        "activeDays": row.active_days,
    }


def notification_json(row: Notification) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "kind": row.kind,
        "title": row.title,
        "body": row.body,
        "data": row.data,
        "createdAt": iso(row.created_at),
        "readAt": _time(row.read_at),
    }


def email_json(row: EmailDelivery) -> dict[str, Any]:
    return {
        "kind": row.kind,
        "subject": row.subject,
        "createdAt": iso(row.created_at),
        "sentAt": _time(row.sent_at),
    }


def job_json(row: Job) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "state": row.state,
        "progress": row.progress,
        "params": row.params,
        "result": row.result,
        "error": row.error,
        "attempts": row.attempts,
        "createdAt": iso(row.created_at),
        "updatedAt": iso(row.updated_at),
    }
