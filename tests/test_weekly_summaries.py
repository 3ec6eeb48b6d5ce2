"""Weekly summaries on Monday at 08:00 in the user's zone, once per ISO week."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from server.config import Settings
from storage.summaries import due_summary_weeks
from tasks.summaries import send_due_summaries
from tests.conftest import ClientFactory
from tests.notification_data import Client, add_workout, inbox, make_user, services_of
from tests.smtp import SmtpSink, smtp_server

# Paris changes to summer time (CET, UTC+1, to CEST, UTC+2) on Sunday 29 March 2026, the last
# day of ISO week 13 (23 to 29 March).
PARIS = {"timezone": "Europe/Paris"}


@pytest.fixture
def mail() -> Iterator[SmtpSink]:
    with smtp_server() as sink:
        yield sink


@pytest.fixture
async def app(settings: Settings, make_client: ClientFactory, mail: SmtpSink) -> Client:
    client: Client = await make_client(mail.settings_for(settings))
    return client


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


async def test_summary_across_summer_time(app: Client, mail: SmtpSink) -> None:
    login = await make_user(app, **PARIS)
    user_id = login["userId"]
    # 23:30 Sunday 22 March local (week 12), 00:30 Monday 23 March local (week 13),
    # 23:30 Sunday 29 March local, after the change (week 13), 00:30 Monday 30 March (week 14).
    await add_workout(app, user_id, at(2026, 3, 22, 22, 30), [(80, 5)])
    await add_workout(app, user_id, at(2026, 3, 22, 23, 30), [(100, 5), (100, 5)])
    await add_workout(app, user_id, at(2026, 3, 29, 21, 30), [(110, 3)])
    await add_workout(app, user_id, at(2026, 3, 29, 22, 30), [(60, 10)])
    services = services_of(app)

    # 07:59 local on Monday 30 March, in summer time.
    assert await send_due_summaries(services, now=at(2026, 3, 30, 5, 59)) == 0
    assert await inbox(app, user_id, "weekly_summary") == []

    # 08:00 local, in summer time.
    assert await send_due_summaries(services, now=at(2026, 3, 30, 6, 0)) == 1
    (summary,) = await inbox(app, user_id, "weekly_summary")
    assert summary.dedup_key == f"weekly:{user_id}:2026-W13"
    assert summary.data["isoWeek"] == 13
    assert summary.data["weekStart"] == "2026-03-23"
    assert summary.data["workouts"] == 2
    assert summary.data["sets"] == 3
    assert summary.data["volume"] == 1330.0
    assert summary.data["unit"] == "kg"
    # Records of week 13 that still stand: the load and e1RM of 110 x 3, the workout volume
    # of 2 x 100 x 5, and the rep maxes 3 at 110 and 5 at 100. The set volume moved to 60 x 10.
    assert summary.data["records"] == 5
    (message,) = await mail.wait_for(login["email"], 1)
    assert message["Subject"] == "Your week 13 of 2026"
    assert "2 workouts, 3 sets, 1,330 kg lifted" in message.get_content()

    assert await send_due_summaries(services, now=at(2026, 3, 30, 6, 30)) == 0
    assert await send_due_summaries(services, now=at(2026, 4, 6, 6, 0)) == 1
    summaries = await inbox(app, user_id, "weekly_summary")
    assert [row.data["isoWeek"] for row in summaries] == [13, 14]
    assert summaries[1].data["workouts"] == 1


async def test_summary_winter_time(app: Client, mail: SmtpSink) -> None:
    login = await make_user(app, **PARIS)
    await add_workout(app, login["userId"], at(2026, 3, 22, 22, 30), [(80, 5)])
    services = services_of(app)
    # Monday 23 March is still winter time: 08:00 local is 07:00 UTC, not 06:00.
    assert await send_due_summaries(services, now=at(2026, 3, 23, 6, 0)) == 0
    assert await send_due_summaries(services, now=at(2026, 3, 23, 7, 0)) == 1
    (summary,) = await inbox(app, login["userId"], "weekly_summary")
    assert summary.data["isoWeek"] == 12
    assert summary.data["workouts"] == 1
    assert summary.data["volume"] == 400.0


async def test_summary_two_concurrent_runs(app: Client, mail: SmtpSink) -> None:
    logins = [await make_user(app, **PARIS) for _ in range(3)]
    services = services_of(app)
    results = await asyncio.gather(
        send_due_summaries(services, now=at(2026, 3, 30, 6, 0)),
        send_due_summaries(services, now=at(2026, 3, 30, 6, 0)),
    )
    assert sum(results) == 3
    for login in logins:
        assert len(await inbox(app, login["userId"], "weekly_summary")) == 1
        assert len(mail.to(login["email"])) == 1


async def test_summary_only_in_users_zone(app: Client, mail: SmtpSink) -> None:
    paris = await make_user(app, **PARIS)
    tokyo = await make_user(app, timezone="Asia/Tokyo")
    services = services_of(app)
    # 08:00 Monday in Tokyo (UTC+9) is 23:00 UTC on Sunday.
    assert await send_due_summaries(services, now=at(2026, 3, 29, 23, 0)) == 1
    assert len(await inbox(app, tokyo["userId"], "weekly_summary")) == 1
    assert await inbox(app, paris["userId"], "weekly_summary") == []


async def test_summary_turned_off(app: Client, mail: SmtpSink) -> None:
    off = await make_user(app, **PARIS, notifyWeeklySummary=False)
    no_email = await make_user(app, **PARIS, notifyEmail=False)
    assert await send_due_summaries(services_of(app), now=at(2026, 3, 30, 6, 0)) == 1
    assert await inbox(app, off["userId"], "weekly_summary") == []
    assert len(await inbox(app, no_email["userId"], "weekly_summary")) == 1
    assert mail.messages == []


async def test_summary_in_pounds(app: Client, mail: SmtpSink) -> None:
    login = await make_user(app, **PARIS, unit="lb")
    await add_workout(app, login["userId"], at(2026, 3, 24, 17, 0), [(100, 10)])
    assert await send_due_summaries(services_of(app), now=at(2026, 3, 30, 6, 0)) == 1
    (summary,) = await inbox(app, login["userId"], "weekly_summary")
    assert summary.data["unit"] == "lb"
    assert summary.data["volume"] == 2204.62


def test_due_weeks_half_hour_zone() -> None:
    # 08:00 Monday in Kolkata (UTC+5:30) is 02:30 UTC; the minute before is too early.
    weeks = due_summary_weeks(at(2026, 3, 30, 2, 30))
    assert any("Asia/Kolkata" in week.zones for week in weeks)
    weeks = due_summary_weeks(at(2026, 3, 30, 2, 29))
    assert not any("Asia/Kolkata" in week.zones for week in weeks)


def test_due_weeks_bounds_per_zone() -> None:
    # At 06:00 UTC it is 08:00 both in Paris (CEST since Sunday) and in Johannesburg (SAST,
    # no summer time), but Paris's week 13 was one hour shorter.
    weeks = {zone: week for week in due_summary_weeks(at(2026, 3, 30, 6, 0)) for zone in week.zones}
    paris = weeks["Europe/Paris"]
    johannesburg = weeks["Africa/Johannesburg"]
    assert paris.label == "2026-W13"
    assert paris.start == at(2026, 3, 22, 23, 0)
    assert paris.end == at(2026, 3, 29, 22, 0)
    assert johannesburg.start == at(2026, 3, 22, 22, 0)
    assert johannesburg.end == at(2026, 3, 29, 22, 0)
