"""The live workout page at `/`, driven in headless Chromium against a real server."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, WebSocketRoute, async_playwright, expect
from yarl import URL

from server.config import Settings
from tests.conftest import ClientFactory
from tests.helpers import PASSWORD, random_email
from tests.session_data import get_session, post_set, set_body, url_of
from tests.workout_data import Client, Login

# Chromium from Debian's package, because the tests download no browser for Playwright.
CHROMIUM = Path("/usr/bin/chromium")
# The longest wait of any step, long enough for record events from the progress job.
WAIT_MS = 15_000
PHONE = {"width": 390, "height": 844}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


@dataclass
class Tab:
    """A page, with the script errors and console errors it reported."""

    page: Page
    errors: list[str] = field(default_factory=list)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}: install Debian's chromium package")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield browser
        await browser.close()


@pytest.fixture
async def tab(browser: Browser) -> AsyncIterator[Tab]:
    context = await browser.new_context(viewport=PHONE)
    context.set_default_timeout(WAIT_MS)
    expect.set_options(timeout=WAIT_MS)
    page = await context.new_page()
    result = Tab(page)
    page.on("pageerror", lambda error: result.errors.append(str(error)))
    page.on(
        "console",
        lambda message: result.errors.append(message.text) if message.type == "error" else None,
    )
    yield result
    await context.close()


async def sign_up(client: Client, tab: Tab) -> Login:
    """Register through the page's form, and log the same account in over the API."""
    page = tab.page
    email = random_email()
    await page.goto(url_of(client))
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_test_id("register").click()
    await expect(page.get_by_test_id("start-view")).to_be_visible()
    await expect(page.get_by_test_id("account-email")).to_have_text(email)

    response = await client.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status == 200
    login: Login = await response.json()
    login["headers"] = {"Authorization": f"Bearer {login['accessToken']}"}
    return login


async def start_session(tab: Tab, category: str = "Push day") -> str:
    """Add a category and start a session in it through the page; return the session id."""
    page = tab.page
    await page.get_by_label("New category").fill(category)
    await page.get_by_test_id("create-category").click()
    await expect(page.get_by_label("Category", exact=True)).to_have_value(re.compile(r"\d+"))
    await page.get_by_test_id("start-session").click()
    view = page.get_by_test_id("session-view")
    await expect(view).to_be_visible()
    await expect(page.get_by_test_id("session-title")).to_have_text(category)
    session_id = await view.get_attribute("data-session-id")
    assert session_id is not None
    return session_id


async def check_live_changes(client: Client, tab: Tab, screenshot: Path) -> None:
    page = tab.page
    login = await sign_up(client, tab)
    session_id = await start_session(tab)
    await expect(page.get_by_test_id("connection")).to_have_text("Live")

    # Another device of the same user logs sets over REST.
    status, _ = await post_set(client, login, session_id, set_body("phone-1", 100, 5))
    assert status == 201
    sets = page.get_by_test_id("set-text")
    await expect(sets).to_have_text(["100 kg × 5"])
    await expect(page.get_by_test_id("exercise")).to_contain_text("Bench Press")

    # A timer started here counts down from the server's endsAt.
    timer = page.get_by_test_id("timer-remaining")
    await page.get_by_test_id("timer-90").click()
    await expect(timer).to_have_attribute("data-state", "running")
    await expect(timer).to_have_text(re.compile(r"^1:[23]\d$"))
    first = int(await timer.get_attribute("data-remaining") or "0")
    assert 85 <= first <= 90

    status, _ = await post_set(client, login, session_id, set_body("phone-2", 120, 3))
    assert status == 201
    await expect(sets).to_have_text(["100 kg × 5", "120 kg × 3"])
    banner = page.get_by_test_id("record-banner")
    heaviest = banner.locator('[data-kind="max_load"]')
    await expect(heaviest).to_contain_text("Heaviest load")
    await expect(heaviest).to_contain_text("120 kg")
    await expect(banner).to_contain_text("Bench Press")
    await page.screenshot(path=str(screenshot))

    await page.wait_for_function(
        f"() => Number(document.getElementById('timer-remaining').dataset.remaining) < {first}",
        timeout=5000,
    )
    await expect(banner).to_be_hidden()

    # A timer started on the other device replaces it.
    response = await client.post(
        f"/sessions/{session_id}/timer", json={"seconds": 300}, headers=login["headers"]
    )
    assert response.status == 200
    await expect(timer).to_have_text(re.compile(r"^[45]:\d\d$"))
    response = await client.delete(f"/sessions/{session_id}/timer", headers=login["headers"])
    assert response.status == 200
    await expect(timer).to_have_attribute("data-state", "stopped")

    # Changes made elsewhere to existing sets show too.
    response = await client.delete(f"/sessions/{session_id}/sets/phone-1", headers=login["headers"])
    assert response.status == 200
    await expect(sets).to_have_text(["120 kg × 3"])
    assert tab.errors == []


async def test_page_shows_live_changes_embedded(
    make_client: ClientFactory, sqlite_settings: Settings, tab: Tab, tmp_path: Path
) -> None:
    client = await make_client(sqlite_settings)
    await check_live_changes(client, tab, tmp_path / "live-page.png")


async def test_page_shows_live_changes_on_worker(
    make_client: ClientFactory, pg_settings: Settings, worker: None, tab: Tab, tmp_path: Path
) -> None:
    client = await make_client(pg_settings)
    await check_live_changes(client, tab, tmp_path / "live-page.png")


async def log_set_in_page(page: Page, exercise: str, value: str, reps: str) -> None:
    form = page.get_by_role("form", name="Log a set")
    await form.get_by_label("Exercise").fill(exercise)
    await form.get_by_label("Value").fill(value)
    await form.get_by_label("Reps").fill(reps)
    await form.get_by_role("button", name="Log set").click()


async def test_page_logs_edits_and_deletes_set(
    make_client: ClientFactory, sqlite_settings: Settings, tab: Tab
) -> None:
    client = await make_client(sqlite_settings)
    page = tab.page
    login = await sign_up(client, tab)
    session_id = await start_session(tab, "Legs")
    await expect(page.get_by_test_id("connection")).to_have_text("Live")

    await log_set_in_page(page, "Squat", "80", "5")
    sets = page.get_by_test_id("set-text")
    await expect(sets).to_have_text(["80 kg × 5"])
    stored = (await get_session(client, login, session_id))["exercises"]
    assert [exercise["name"] for exercise in stored] == ["Squat"]
    assert stored[0]["unit"] == "kg"
    row = stored[0]["setsDetail"][0]
    assert row["value"] == 80
    assert row["reps"] == 5
    assert UUID.fullmatch(row["clientId"])

    await page.get_by_test_id("set-edit").click()
    await page.get_by_test_id("edit-value").fill("85")
    await page.get_by_test_id("edit-save").click()
    await expect(sets).to_have_text(["85 kg × 5"])
    stored = (await get_session(client, login, session_id))["exercises"]
    assert stored[0]["setsDetail"][0]["value"] == 85

    await page.get_by_test_id("set-delete").click()
    await expect(sets).to_have_count(0)
    # The server drops an exercise with its last set.
    assert (await get_session(client, login, session_id))["exercises"] == []

    await page.get_by_test_id("finish-session").click()
    await expect(page.get_by_test_id("start-view")).to_be_visible()
    assert (await get_session(client, login, session_id))["status"] == "finished"
    assert tab.errors == []


async def test_page_logs_set_over_rest_without_socket(
    make_client: ClientFactory, sqlite_settings: Settings, tab: Tab
) -> None:
    client = await make_client(sqlite_settings)
    page = tab.page

    async def refuse(websocket: WebSocketRoute) -> None:
        await websocket.close()

    # Both Socket.IO transports fail: WebSockets close at once, long polling is aborted.
    await page.route_web_socket(re.compile(r"/socket\.io/"), refuse)
    await page.route(re.compile(r"/socket\.io/"), lambda route: route.abort())
    login = await sign_up(client, tab)
    session_id = await start_session(tab, "Pull")
    await expect(page.get_by_test_id("connection")).not_to_have_text("Live")

    await log_set_in_page(page, "Row", "60", "8")
    await expect(page.get_by_test_id("set-text")).to_have_text(["60 kg × 8"])
    stored = (await get_session(client, login, session_id))["exercises"]
    assert stored[0]["name"] == "Row"
    assert stored[0]["setsDetail"][0]["reps"] == 8
    # Aborted socket requests are the only errors the console may show.
    assert [error for error in tab.errors if "ERR_FAILED" not in error] == []


async def test_page_restores_login_after_reload(
    make_client: ClientFactory, sqlite_settings: Settings, tab: Tab
) -> None:
    client = await make_client(sqlite_settings)
    page = tab.page
    await sign_up(client, tab)
    session_id = await start_session(tab)
    await page.reload()
    view = page.get_by_test_id("session-view")
    await expect(view).to_be_visible()
    await expect(view).to_have_attribute("data-session-id", session_id)
    await expect(page.get_by_test_id("connection")).to_have_text("Live")
    assert tab.errors == []


async def test_index_served_as_html(make_client: ClientFactory, sqlite_settings: Settings) -> None:
    client = await make_client(sqlite_settings)
    response = await client.get("/")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-cache"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert 'src="/static/app.js"' in await response.text()


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/static/app.js", "text/javascript; charset=utf-8"),
        ("/static/style.css", "text/css; charset=utf-8"),
        ("/static/vendor/socket.io.min.js", "text/javascript; charset=utf-8"),
        ("/static/vendor/socket.io.LICENSE", "text/plain; charset=utf-8"),
    ],
)
async def test_static_file_types(
    make_client: ClientFactory, sqlite_settings: Settings, path: str, content_type: str
) -> None:
    client = await make_client(sqlite_settings)
    response = await client.get(path)
    assert response.status == 200
    assert response.headers["Content-Type"] == content_type
    assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_static_file_revalidates(
    make_client: ClientFactory, sqlite_settings: Settings
) -> None:
    client = await make_client(sqlite_settings)
    response = await client.get("/static/app.js")
    etag = response.headers["ETag"]
    response = await client.get("/static/app.js", headers={"If-None-Match": etag})
    assert response.status == 304


@pytest.mark.parametrize(
    "path",
    [
        "/static/missing.js",
        "/static/%2e%2e/routes/pages.py",
        "/static/..%2fapp.py",
        "/static/vendor",
    ],
)
async def test_static_file_not_found(
    make_client: ClientFactory, sqlite_settings: Settings, path: str
) -> None:
    client = await make_client(sqlite_settings)
    # Sent as written: the client would otherwise resolve the dots before sending.
    url = URL(url_of(client).rstrip("/") + path, encoded=True)
    response = await client.session.get(url)
    assert response.status == 404
    body: dict[str, Any] = await response.json()
    assert "not found" in body["error"]
