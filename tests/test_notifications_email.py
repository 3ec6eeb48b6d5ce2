"""Achievement notifications: inbox row, live event and one email, on a real SMTP server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pydantic import SecretStr
from sqlalchemy import delete, func, select

from server.app import SERVICES
from server.config import Settings
from server.services import Services
from storage.db import Database
from storage.emails import NewEmail, claim_emails
from storage.models import EmailDelivery, Notification, OutboxMessage
from storage.notifications import NewNotification, achievement_key, insert_notifications
from storage.progress import apply_workout_changes
from storage.types import utcnow
from tasks.notifications import (
    MAX_EMAIL_ATTEMPTS,
    deliver_achievement,
    deliver_achievements,
    resend_unsent_emails,
)
from tasks.registry import NOTIFY_ACHIEVEMENT
from tasks.worker import work
from tests.conftest import ClientFactory
from tests.helpers import register
from tests.live import LiveClient
from tests.smtp import SmtpSink, smtp_server
from tests.test_progress import add_workout as add_progress_workout
from tests.test_progress import make_user as make_progress_user
from tests.workout_data import bench, create_category, create_workout

Client = TestClient[Any, Any]

RECORD = {
    "exercise": "Squat",
    "nameKey": "squat",
    "kind": "max_load",
    "value": 150.0,
    "previousValue": 140.0,
    "unit": "kg",
    "setId": "77",
    "workoutId": "12",
}


@pytest.fixture
def mail() -> Iterator[SmtpSink]:
    with smtp_server() as sink:
        yield sink


@pytest.fixture
async def app(settings: Settings, make_client: ClientFactory, mail: SmtpSink) -> Client:
    client: Client = await make_client(mail.settings_for(settings))
    return client


@pytest.fixture
async def app_with_worker(
    settings: Settings, make_client: ClientFactory, mail: SmtpSink
) -> AsyncIterator[Client]:
    """The app with SMTP, and on PostgreSQL a worker with the same settings."""
    configured = mail.settings_for(settings)
    stop = asyncio.Event()
    worker = None if configured.embedded else asyncio.create_task(work(configured, stop))
    client: Client = await make_client(configured)
    yield client
    if worker is not None:
        stop.set()
        await asyncio.wait_for(worker, timeout=30)


def services_of(client: Client) -> Services:
    return client.app[SERVICES]


async def user_id_of(client: Client, login: dict[str, Any]) -> int:
    response = await client.get("/auth/me", headers=login["headers"])
    return int((await response.json())["id"])


async def count_rows(client: Client, model: Any) -> int:
    async with services_of(client).db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_achievement_end_to_end(app_with_worker: Client, mail: SmtpSink) -> None:
    client = app_with_worker
    login = await register(client)
    user_id = await user_id_of(client, login)
    live = LiveClient()
    await live.connect(str(client.make_url("/")), login["accessToken"])
    try:
        category_id = await create_category(client, login)
        await create_workout(client, login, category_id, [bench([{"value": 100, "reps": 5}])])
        await live.next_event("progress:updated")
        # Only the load beats the first workout: 110 x 1 has a lower e1RM and volume.
        await create_workout(client, login, category_id, [bench([{"value": 110, "reps": 1}])])

        _, event = await live.next_event("notification", timeout=20)
        assert event["kind"] == "achievement"
        assert event["data"]["kind"] == "max_load"
        assert event["title"] == "New personal record: Bench Press"
        assert "110 kg" in event["body"]
        (message,) = await mail.wait_for(login["email"], 1)
        assert message["Subject"] == "New personal record: Bench Press"
        assert "110 kg" in message.get_content()

        record = event["data"]
        key = achievement_key(user_id, record)
        again = await deliver_achievement(
            services_of(client), user_id=user_id, record=record, dedup_key=key
        )
        assert again is False
        await asyncio.sleep(1.0)
        names = []
        while not live.events.empty():
            names.append(live.events.get_nowait()[0])
        assert "notification" not in names
    finally:
        await live.close()

    response = await client.get("/notifications", headers=login["headers"])
    items = (await response.json())["notifications"]
    assert [item["id"] for item in items] == [event["id"]]
    response = await client.get("/notifications/unread-count", headers=login["headers"])
    assert await response.json() == {"unread": 1}
    assert len(mail.to(login["email"])) == 1


async def test_achievement_concurrent_runs(app: Client, mail: SmtpSink) -> None:
    login = await register(app)
    user_id = await user_id_of(app, login)
    key = achievement_key(user_id, RECORD)
    results = await asyncio.gather(
        *(
            deliver_achievement(services_of(app), user_id=user_id, record=RECORD, dedup_key=key)
            for _ in range(2)
        )
    )
    assert sorted(results) == [False, True]
    assert len(mail.to(login["email"])) == 1
    assert await count_rows(app, Notification) == 1
    assert await count_rows(app, EmailDelivery) == 1


async def test_achievement_first_value_skipped(app: Client, mail: SmtpSink) -> None:
    login = await register(app)
    user_id = await user_id_of(app, login)
    record = {**RECORD, "previousValue": None}
    key = achievement_key(user_id, record)
    stored = await deliver_achievement(
        services_of(app), user_id=user_id, record=record, dedup_key=key
    )
    assert stored is False
    assert await count_rows(app, Notification) == 0


async def test_achievement_turned_off(app: Client, mail: SmtpSink) -> None:
    login = await register(app)
    user_id = await user_id_of(app, login)
    response = await app.patch(
        "/me/preferences", json={"notifyAchievements": False}, headers=login["headers"]
    )
    assert response.status == 200
    key = achievement_key(user_id, RECORD)
    stored = await deliver_achievement(
        services_of(app), user_id=user_id, record=RECORD, dedup_key=key
    )
    assert stored is False
    assert await count_rows(app, Notification) == 0
    assert mail.messages == []


async def test_achievement_email_turned_off(app: Client, mail: SmtpSink) -> None:
    login = await register(app)
    user_id = await user_id_of(app, login)
    response = await app.patch(
        "/me/preferences", json={"notifyEmail": False}, headers=login["headers"]
    )
    assert response.status == 200
    key = achievement_key(user_id, RECORD)
    stored = await deliver_achievement(
        services_of(app), user_id=user_id, record=RECORD, dedup_key=key
    )
    assert stored is True
    assert await count_rows(app, Notification) == 1
    assert await count_rows(app, EmailDelivery) == 0
    assert mail.messages == []


async def test_achievement_in_pounds(app: Client, mail: SmtpSink) -> None:
    login = await register(app)
    user_id = await user_id_of(app, login)
    await app.patch("/me/preferences", json={"unit": "lb"}, headers=login["headers"])
    key = achievement_key(user_id, RECORD)
    await deliver_achievement(services_of(app), user_id=user_id, record=RECORD, dedup_key=key)
    (message,) = await mail.wait_for(login["email"], 1)
    assert "330.69 lb" in message.get_content()
    assert "308.65 lb" in message.get_content()


async def test_email_subject_one_line(app: Client, mail: SmtpSink) -> None:
    login = await register(app)
    user_id = await user_id_of(app, login)
    record = {**RECORD, "exercise": "Squat\r\nBcc: someone@example.com"}
    key = achievement_key(user_id, record)
    await deliver_achievement(services_of(app), user_id=user_id, record=record, dedup_key=key)
    (message,) = await mail.wait_for(login["email"], 1)
    assert message["Subject"] == "New personal record: Squat Bcc: someone@example.com"
    assert message["Bcc"] is None


async def test_email_resent_after_crash(app: Client, mail: SmtpSink) -> None:
    """A delivery row committed without a send, as after a crash, is sent once later."""
    login = await register(app)
    user_id = await user_id_of(app, login)
    services = services_of(app)
    started = utcnow()
    async with services.write() as session:
        await insert_notifications(
            session, [NewNotification(user_id, "achievement", "Subject", "Text", "k:1")]
        )
        claimed = await claim_emails(
            session, [NewEmail(user_id, "k:1", "achievement", "Subject")], now=started
        )
    assert claimed == {"k:1"}

    early = await resend_unsent_emails(services, now=started + timedelta(seconds=30))
    assert early["resent"] == 0
    late = await resend_unsent_emails(services, now=started + timedelta(seconds=61))
    assert late["resent"] == 1
    again = await resend_unsent_emails(services, now=started + timedelta(seconds=200))
    assert again["resent"] == 0

    (message,) = mail.to(login["email"])
    assert message["Subject"] == "Subject"
    assert message.get_content().startswith("Text")
    async with services.db.read() as session:
        delivery = await session.scalar(select(EmailDelivery))
    assert delivery is not None
    assert delivery.sent_at is not None
    assert delivery.attempts == 2


async def test_email_rejected_then_resent(app: Client, mail: SmtpSink) -> None:
    login = await register(app)
    user_id = await user_id_of(app, login)
    services = services_of(app)
    key = achievement_key(user_id, RECORD)
    mail.reject = True
    started = utcnow()
    stored = await deliver_achievement(services, user_id=user_id, record=RECORD, dedup_key=key)
    assert stored is True
    assert mail.to(login["email"]) == []

    mail.reject = False
    result = await resend_unsent_emails(services, now=started + timedelta(minutes=2))
    assert result["resent"] == 1
    assert len(mail.to(login["email"])) == 1


async def test_email_recipient_refused(app: Client, mail: SmtpSink) -> None:
    login = await register(app)
    user_id = await user_id_of(app, login)
    services = services_of(app)
    mail.refuse_recipients = True
    key = achievement_key(user_id, RECORD)
    stored = await deliver_achievement(services, user_id=user_id, record=RECORD, dedup_key=key)
    assert stored is True
    assert mail.messages == []
    async with services.db.read() as session:
        delivery = await session.scalar(select(EmailDelivery))
    assert delivery is not None
    assert delivery.sent_at is None


async def test_email_attempts_capped(app: Client, mail: SmtpSink) -> None:
    login = await register(app)
    user_id = await user_id_of(app, login)
    services = services_of(app)
    key = achievement_key(user_id, RECORD)
    mail.reject = True
    started = utcnow()
    await deliver_achievement(services, user_id=user_id, record=RECORD, dedup_key=key)
    for minute in range(2, 20, 2):
        await resend_unsent_emails(services, now=started + timedelta(minutes=minute))
    assert mail.rejected == MAX_EMAIL_ATTEMPTS
    async with services.db.read() as session:
        delivery = await session.scalar(select(EmailDelivery))
    assert delivery is not None
    assert delivery.attempts == MAX_EMAIL_ATTEMPTS
    assert delivery.sent_at is None


# The test server offers no TLS, and aiosmtpd warns about AUTH without it.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("password", ["right password", "wrong password"])
async def test_email_smtp_login(
    make_client: ClientFactory, settings: Settings, password: str
) -> None:
    with smtp_server(login=("mailer", "right password")) as server:
        configured = server.settings_for(settings).model_copy(
            update={"smtp_username": "mailer", "smtp_password": SecretStr(password)}
        )
        client: Client = await make_client(configured)
        login = await register(client)
        user_id = await user_id_of(client, login)
        key = achievement_key(user_id, RECORD)
        await deliver_achievement(
            services_of(client), user_id=user_id, record=RECORD, dedup_key=key
        )
        expected = 1 if password == "right password" else 0
        assert len(server.to(login["email"])) == expected


async def test_progress_queues_achievement_task(db: Database) -> None:
    user_id, category_id = await make_progress_user(db)
    first = await add_progress_workout(db, user_id, category_id, 0, {"Squat": [(100, 5)]})
    second = await add_progress_workout(db, user_id, category_id, 1, {"Squat": [(110, 1)]})
    tasks = []
    for workout_id in (first, second):
        async with db.transaction() as session:
            await session.execute(delete(OutboxMessage))
            await apply_workout_changes(session, user_id=user_id, workout_ids=[workout_id])
        async with db.read() as session:
            rows = await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "task"))
            tasks.append([row.payload for row in rows])

    # The first workout's values are all first records: none is notified.
    assert tasks[0] == []
    (task,) = tasks[1]
    assert task["task"] == NOTIFY_ACHIEVEMENT
    assert task["kwargs"]["user_id"] == user_id
    (record,) = task["kwargs"]["records"]
    assert record["kind"] == "max_load"
    assert record["previousValue"] == 100


async def test_records_of_one_write_notified_each(client: Client) -> None:
    login = await register(client)
    user_id = await user_id_of(client, login)
    e1rm = {**RECORD, "kind": "best_e1rm", "value": 160.0, "previousValue": 150.0}
    first = {**RECORD, "previousValue": None}
    records = [(item, achievement_key(user_id, item)) for item in (RECORD, e1rm, first)]

    stored = await deliver_achievements(services_of(client), user_id=user_id, records=records)
    assert stored == 2
    assert await count_rows(client, Notification) == 2
    again = await deliver_achievements(services_of(client), user_id=user_id, records=records)
    assert again == 0
    assert await count_rows(client, Notification) == 2


async def test_email_skipped_without_smtp(client: Client) -> None:
    login = await register(client)
    user_id = await user_id_of(client, login)
    key = achievement_key(user_id, RECORD)
    stored = await deliver_achievement(
        services_of(client), user_id=user_id, record=RECORD, dedup_key=key
    )
    assert stored is True
    assert await count_rows(client, Notification) == 1
    assert await count_rows(client, EmailDelivery) == 0
