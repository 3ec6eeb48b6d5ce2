"""The job dashboard at /admin, driven in headless Chromium against a real server."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser, Page, async_playwright, expect

from server.app import SERVICES
from server.config import Settings
from storage import dead_letters, users
from storage.models import Job
from storage.types import utcnow
from tests.conftest import ClientFactory
from tests.helpers import PASSWORD, register

Client = TestClient[Any, Any]
# Debian's package: Playwright downloads no browser of its own here.
CHROMIUM = Path("/usr/bin/chromium")
WAIT_MS = 15_000


@pytest.fixture
async def page() -> AsyncIterator[tuple[Page, list[str]]]:
    """A page and the script and console errors it reports, Content-Security-Policy included."""
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}: install Debian's chromium package")
    async with async_playwright() as playwright:
        browser: Browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True
        )
        context = await browser.new_context(viewport={"width": 1200, "height": 900})
        context.set_default_timeout(WAIT_MS)
        expect.set_options(timeout=WAIT_MS)
        tab = await context.new_page()
        errors: list[str] = []
        tab.on("pageerror", lambda error: errors.append(str(error)))
        tab.on(
            "console",
            lambda message: errors.append(message.text) if message.type == "error" else None,
        )
        yield tab, errors
        await browser.close()


async def failed_job_with_dead_letter(client: Client, user_id: str) -> tuple[str, str]:
    now = utcnow()
    job = Job(
        id=str(uuid.uuid4()),
        user_id=int(user_id),
        kind="import",
        state="failed",
        progress=0.3,
        params={},
        attempts=1,
        error="internal error (ValueError)",
        created_at=now,
        updated_at=now,
    )
    async with client.server.app[SERVICES].db.transaction() as session:
        session.add(job)
        await session.flush()
        letter = await dead_letters.create_dead_letter(
            session,
            task_name="test.unregistered",
            kwargs={"job_id": job.id},
            error="Traceback (most recent call last):\nValueError: bad row 12",
            job_error="internal error (ValueError)",
            attempts=1,
        )
    return job.id, str(letter.id)


async def log_in(tab: Page, url: str, email: str) -> None:
    await tab.goto(url)
    await tab.get_by_label("Email").fill(email)
    await tab.get_by_label("Password").fill(PASSWORD)
    await tab.get_by_role("button", name="Log in").click()


async def test_dashboard_retries_dead_letter(
    make_client: ClientFactory, sqlite_settings: Settings, page: tuple[Page, list[str]]
) -> None:
    tab, errors = page
    client: Client = await make_client(sqlite_settings)
    admin = await register(client)
    async with client.server.app[SERVICES].db.transaction() as session:
        await users.set_user_role(session, email=admin["email"], role="admin")
    user = await register(client)
    job_id, letter_id = await failed_job_with_dead_letter(client, user["userId"])

    await log_in(tab, str(client.make_url("/admin")), admin["email"])
    await expect(tab.get_by_test_id("dashboard")).to_be_visible()
    await expect(tab.get_by_test_id("account-email")).to_have_text(admin["email"])
    await expect(tab.get_by_test_id("summary")).to_contain_text("Dead letters not retried1")
    await expect(tab.get_by_test_id("failed-jobs")).to_contain_text(job_id)
    letters = tab.get_by_test_id("dead-letters")
    await expect(letters).to_contain_text("ValueError: bad row 12")

    await letters.get_by_role("button", name=f"Retry dead letter {letter_id}").click()
    await expect(tab.get_by_test_id("message")).to_contain_text(
        f"Dead letter {letter_id} (test.unregistered) sent again; job {job_id} is queued"
    )
    await expect(letters).to_contain_text("No dead letter.")
    await expect(tab.get_by_test_id("failed-jobs")).to_contain_text("No job has failed.")
    assert errors == []


async def test_dashboard_rejects_non_admin(
    make_client: ClientFactory, sqlite_settings: Settings, page: tuple[Page, list[str]]
) -> None:
    tab, errors = page
    client: Client = await make_client(sqlite_settings)
    user = await register(client)

    await log_in(tab, str(client.make_url("/admin")), user["email"])
    await expect(tab.get_by_test_id("message")).to_have_text(
        "This account does not have the admin role."
    )
    await expect(tab.get_by_test_id("dashboard")).to_be_hidden()
    await expect(tab.get_by_test_id("login-view")).to_be_visible()
    assert errors == []


async def test_dashboard_assets_served(client: Client) -> None:
    response = await client.get("/admin")
    assert response.status == 200
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    for name, content_type in (("admin.js", "text/javascript"), ("admin.css", "text/css")):
        response = await client.get(f"/admin/assets/{name}")
        assert response.status == 200, name
        assert response.content_type == content_type
    response = await client.get("/admin/assets/index.html")
    assert response.status == 404
    response = await client.get("/admin/assets/..%2Fapp.js")
    assert response.status == 404
