"""Workout reminders at the user's local time on chosen weekdays, once per local date."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from taskiq import Context, InMemoryBroker, TaskiqMessage

from server.config import Settings
from storage.types import utcnow
from tasks.notify import scheduled_time
from tasks.registry import RESEND_EMAILS, SEND_REMINDERS, SEND_WEEKLY_SUMMARIES
from tasks.reminders import send_due_reminders
from tasks.scheduler import SCHEDULES, Schedule, schedule_tasks
from tasks.worker import work
from tests.conftest import ClientFactory
from tests.notification_data import Client, add_workout, inbox, make_user, services_of
from tests.smtp import SmtpSink, smtp_server

# Tuesday 3 March 2026, 18:00 in Paris (CET, UTC+1).
TUESDAY_18_PARIS = datetime(2026, 3, 3, 17, 0, tzinfo=UTC)
PARIS_TUESDAYS = {"timezone": "Europe/Paris", "reminderDays": [2], "reminderTime": "18:00"}


@pytest.fixture
def mail() -> Iterator[SmtpSink]:
    with smtp_server() as sink:
        yield sink


@pytest.fixture
async def app(settings: Settings, make_client: ClientFactory, mail: SmtpSink) -> Client:
    client: Client = await make_client(mail.settings_for(settings))
    return client


def at(year: int, month: int, day: int, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


async def test_reminder_only_at_local_time(app: Client, mail: SmtpSink) -> None:
    login = await make_user(app, **PARIS_TUESDAYS)
    services = services_of(app)
    for instant in (
        at(2026, 3, 3, 16, 59),
        at(2026, 3, 3, 17, 1),
        at(2026, 3, 3, 18, 0),
        at(2026, 3, 2, 17, 0),
        at(2026, 3, 4, 17, 0),
    ):
        assert await send_due_reminders(services, now=instant) == 0, instant
    assert await inbox(app, login["userId"], "reminder") == []

    assert await send_due_reminders(services, now=TUESDAY_18_PARIS) == 1
    (notification,) = await inbox(app, login["userId"], "reminder")
    assert notification.dedup_key == f"reminder:{login['userId']}:2026-03-03"
    assert notification.data == {"localDate": "2026-03-03", "reminderTime": "18:00"}
    (message,) = await mail.wait_for(login["email"], 1)
    assert message["Subject"] == "Time to train"


async def test_reminder_once_per_local_date(app: Client, mail: SmtpSink) -> None:
    login = await make_user(app, **PARIS_TUESDAYS)
    services = services_of(app)
    first = await asyncio.gather(
        send_due_reminders(services, now=TUESDAY_18_PARIS),
        send_due_reminders(services, now=TUESDAY_18_PARIS),
    )
    assert sorted(first) == [0, 1]
    assert await send_due_reminders(services, now=at(2026, 3, 3, 17, 0, 59)) == 0
    assert await send_due_reminders(services, now=at(2026, 3, 10, 17, 0)) == 1
    assert len(await inbox(app, login["userId"], "reminder")) == 2
    assert len(mail.to(login["email"])) == 2


async def test_reminder_follows_summer_time(app: Client, mail: SmtpSink) -> None:
    login = await make_user(app, **PARIS_TUESDAYS)
    services = services_of(app)
    # On 31 March Paris is on CEST (UTC+2): 18:00 local is 16:00 UTC.
    assert await send_due_reminders(services, now=at(2026, 3, 31, 17, 0)) == 0
    assert await send_due_reminders(services, now=at(2026, 3, 31, 16, 0)) == 1
    (notification,) = await inbox(app, login["userId"], "reminder")
    assert notification.data["localDate"] == "2026-03-31"


async def test_reminder_per_zone(app: Client, mail: SmtpSink) -> None:
    paris = await make_user(app, **PARIS_TUESDAYS)
    new_york = await make_user(
        app, timezone="America/New_York", reminderDays=[2], reminderTime="18:00"
    )
    kathmandu = await make_user(
        app, timezone="Asia/Kathmandu", reminderDays=[3], reminderTime="02:45"
    )
    services = services_of(app)
    assert await send_due_reminders(services, now=TUESDAY_18_PARIS) == 1
    assert await inbox(app, new_york["userId"], "reminder") == []
    # 18:00 EST is 23:00 UTC; 02:45 on Wednesday in Kathmandu (UTC+5:45) is 21:00 UTC Tuesday.
    assert await send_due_reminders(services, now=at(2026, 3, 3, 23, 0)) == 1
    assert len(await inbox(app, new_york["userId"], "reminder")) == 1
    assert await send_due_reminders(services, now=at(2026, 3, 3, 21, 0)) == 1
    assert len(await inbox(app, kathmandu["userId"], "reminder")) == 1
    assert len(await inbox(app, paris["userId"], "reminder")) == 1


async def test_reminder_skipped_after_training(app: Client, mail: SmtpSink) -> None:
    trained = await make_user(app, **PARIS_TUESDAYS)
    trained_yesterday = await make_user(app, **PARIS_TUESDAYS)
    # 08:00 on Tuesday in Paris, and 23:30 on the Monday before.
    await add_workout(app, trained["userId"], at(2026, 3, 3, 7, 0), [(100, 5)])
    await add_workout(app, trained_yesterday["userId"], at(2026, 3, 2, 22, 30), [(100, 5)])

    assert await send_due_reminders(services_of(app), now=TUESDAY_18_PARIS) == 1
    assert await inbox(app, trained["userId"], "reminder") == []
    assert len(await inbox(app, trained_yesterday["userId"], "reminder")) == 1


async def test_reminder_turned_off(app: Client, mail: SmtpSink) -> None:
    off = await make_user(app, **PARIS_TUESDAYS, notifyReminders=False)
    no_time = await make_user(app, timezone="Europe/Paris", reminderDays=[2])
    no_days = await make_user(app, timezone="Europe/Paris", reminderTime="18:00")
    assert await send_due_reminders(services_of(app), now=TUESDAY_18_PARIS) == 0
    for login in (off, no_time, no_days):
        assert await inbox(app, login["userId"], "reminder") == []
    assert mail.messages == []


async def test_reminder_without_email(app: Client, mail: SmtpSink) -> None:
    login = await make_user(app, **PARIS_TUESDAYS, notifyEmail=False)
    assert await send_due_reminders(services_of(app), now=TUESDAY_18_PARIS) == 1
    assert len(await inbox(app, login["userId"], "reminder")) == 1
    assert mail.messages == []


async def test_reminder_from_two_schedulers(
    pg_settings: Settings, make_client: ClientFactory, mail: SmtpSink
) -> None:
    """Two real schedulers and a worker send the reminder due this minute once."""
    settings = mail.settings_for(pg_settings)
    stop = asyncio.Event()
    worker = asyncio.create_task(work(settings, stop))
    runs: list[asyncio.Task[None]] = []
    try:
        client: Client = await make_client(settings)
        if utcnow().second > 50:
            # Leave the test time to finish within the minute its user is set up for.
            await asyncio.sleep(61 - utcnow().second)
        now = utcnow()
        login = await make_user(
            client,
            timezone="UTC",
            reminderDays=[now.isoweekday()],
            reminderTime=now.strftime("%H:%M"),
        )
        schedules = (Schedule(SEND_REMINDERS, 60),)
        runs += [asyncio.create_task(schedule_tasks(settings, stop, schedules)) for _ in range(2)]
        async with asyncio.timeout(15):
            while not await inbox(client, login["userId"], "reminder"):
                await asyncio.sleep(0.2)
        await mail.wait_for(login["email"], 1)
        await asyncio.sleep(1.0)
    finally:
        stop.set()
        await asyncio.wait_for(worker, timeout=30)
    await asyncio.gather(*runs)
    assert len(await inbox(client, login["userId"], "reminder")) == 1
    assert len(mail.to(login["email"])) == 1


def test_schedules_every_minute() -> None:
    intervals = {schedule.task_name: schedule.every_seconds for schedule in SCHEDULES}
    assert intervals[SEND_REMINDERS] == 60
    assert intervals[SEND_WEEKLY_SUMMARIES] == 60
    assert intervals[RESEND_EMAILS] == 60


def context_for(task_id: str) -> Context:
    message = TaskiqMessage(
        task_id=task_id, task_name=SEND_REMINDERS, labels={}, args=[], kwargs={}
    )
    return Context(message, InMemoryBroker())


def test_scheduled_time_from_tick() -> None:
    tick = int(utcnow().timestamp() // 60) - 2
    when = scheduled_time(context_for(f"schedule-{SEND_REMINDERS}-{tick}"), SEND_REMINDERS, 60)
    assert when == datetime.fromtimestamp(tick * 60, UTC)


def test_scheduled_time_stale_tick() -> None:
    tick = int(utcnow().timestamp() // 60) - 60
    assert (
        scheduled_time(context_for(f"schedule-{SEND_REMINDERS}-{tick}"), SEND_REMINDERS, 60) is None
    )


def test_scheduled_time_manual_run() -> None:
    before = utcnow()
    when = scheduled_time(context_for("outbox-12"), SEND_REMINDERS, 60)
    assert when is not None
    assert before <= when <= utcnow()
