"""The OpenAPI document at /openapi.json and the docs page at /docs that renders it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from playwright.async_api import async_playwright, expect

from events import names
from server.app import create_app
from server.config import Settings
from server.openapi.document import openapi_document
from tests.conftest import ClientFactory

Client = TestClient[Any, Any]
# Debian's package: Playwright downloads no browser of its own here.
CHROMIUM = Path("/usr/bin/chromium")
WAIT_MS = 15_000
# Routes that serve files of the pages, which the document leaves out like /socket.io/.
STATIC_FILE_ROUTES = {"/static/{path}", "/admin/assets/{name}"}
VENDORED = {
    "/static/vendor/swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "/static/vendor/swagger-ui.css": "text/css; charset=utf-8",
    "/static/vendor/swagger-ui.LICENSE": "text/plain; charset=utf-8",
    "/static/vendor/swagger-ui-bundle.js.LICENSE": "text/plain; charset=utf-8",
    "/static/docs.js": "text/javascript; charset=utf-8",
}


def registered_routes(app: web.Application) -> set[tuple[str, str]]:
    """Return the (method, path) of every API and page route of the app."""
    routes = set()
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if route.method == "HEAD" or isinstance(route.resource, web.StaticResource):
            continue
        if path.startswith("/socket.io/") or path in STATIC_FILE_ROUTES:
            continue
        routes.add((route.method, path))
    return routes


def documented_routes(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
    }


def test_every_route_documented(sqlite_settings: Settings) -> None:
    routes = registered_routes(create_app(sqlite_settings))
    assert len(routes) > 40
    missing = sorted(routes - documented_routes(openapi_document()))
    assert missing == [], f"routes missing from server/openapi: {missing}"


def test_document_names_only_registered_routes(sqlite_settings: Settings) -> None:
    routes = registered_routes(create_app(sqlite_settings))
    unknown = sorted(documented_routes(openapi_document()) - routes)
    assert unknown == [], f"documented routes that the app does not register: {unknown}"


def test_document_valid_openapi_3_1() -> None:
    document = openapi_document()
    assert document["openapi"] == "3.1.0"
    validate(document, cls=OpenAPIV31SpecValidator)


def test_operation_ids_unique() -> None:
    ids = [
        operation["operationId"]
        for operations in openapi_document()["paths"].values()
        for operation in operations.values()
    ]
    assert len(ids) == len(set(ids))


def test_public_operations_need_no_token() -> None:
    paths = openapi_document()["paths"]
    for path in ("/auth/login", "/health", "/openapi.json", "/docs"):
        method = "post" if path == "/auth/login" else "get"
        assert paths[path][method]["security"] == []
    assert "security" not in paths["/workouts"]["get"]
    assert "401" in paths["/workouts"]["get"]["responses"]
    assert "403" in paths["/admin/queue"]["get"]["responses"]


def test_request_schemas_come_from_models() -> None:
    document = openapi_document()
    body = document["paths"]["/workouts"]["post"]["requestBody"]
    ref = body["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/WorkoutCreate"
    schema = document["components"]["schemas"]["WorkoutCreate"]
    assert set(schema["required"]) == {"categoryId", "exercises"}
    parameters = document["paths"]["/workouts"]["get"]["parameters"]
    sort_by = next(item for item in parameters if item["name"] == "sortBy")
    assert sort_by["schema"]["enum"] == ["createdAt", "updatedAt", "id"]


def test_error_reply_shape() -> None:
    document = openapi_document()
    schema = document["components"]["schemas"]["ErrorReply"]
    assert schema["required"] == ["error"]
    assert set(schema["properties"]) == {"error", "details"}
    login = document["paths"]["/auth/login"]["post"]["responses"]
    assert "Retry-After" in login["429"]["headers"]


def test_every_server_event_documented() -> None:
    events = {
        value for name, value in vars(names).items() if name.isupper() and isinstance(value, str)
    }
    documented = set(openapi_document()["x-socket-io"]["serverEvents"])
    assert events - documented == set()
    assert documented - events == set()


async def test_openapi_json_served_without_token(
    make_client: ClientFactory, sqlite_settings: Settings
) -> None:
    client: Client = await make_client(sqlite_settings)
    response = await client.get("/openapi.json")
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/json"
    served = await response.json()
    assert served == json.loads(json.dumps(openapi_document()))


async def test_docs_page_served_without_token(
    make_client: ClientFactory, sqlite_settings: Settings
) -> None:
    client: Client = await make_client(sqlite_settings)
    response = await client.get("/docs")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    page = await response.text()
    assert 'src="/static/vendor/swagger-ui-bundle.js"' in page
    assert 'src="/static/docs.js"' in page


@pytest.mark.parametrize(("path", "content_type"), sorted(VENDORED.items()))
async def test_docs_page_files_served(
    make_client: ClientFactory, sqlite_settings: Settings, path: str, content_type: str
) -> None:
    client: Client = await make_client(sqlite_settings)
    response = await client.get(path)
    assert response.status == 200
    assert response.headers["Content-Type"] == content_type
    assert len(await response.read()) > 100


async def test_docs_page_renders_paths(
    make_client: ClientFactory, sqlite_settings: Settings
) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}: install Debian's chromium package")
    client: Client = await make_client(sqlite_settings)
    errors: list[str] = []
    requests: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            page = await browser.new_page()
            page.set_default_timeout(WAIT_MS)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on(
                "console",
                lambda message: errors.append(message.text) if message.type == "error" else None,
            )
            page.on("request", lambda request: requests.append(request.url))
            await page.goto(str(client.make_url("/docs")))
            path = page.get_by_text("/workouts/category/{categoryId}/check-previous", exact=True)
            await expect(path).to_be_visible(timeout=WAIT_MS)
            await expect(page.get_by_text("Nappatzim API", exact=False).first).to_be_visible()
        finally:
            await browser.close()
    assert errors == []
    origin = str(client.make_url("/"))
    assert [url for url in requests if not url.startswith(origin)] == []
