"""Real replies of the API checked against the schemas that the OpenAPI document gives them.

Each object schema is checked strictly here: a key the document does not list fails as well as
a missing or mistyped one, so the document cannot drift from the replies unnoticed.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from jsonschema import Draft202012Validator

from server.app import SERVICES
from server.config import Settings
from server.openapi.document import openapi_document
from storage import dead_letters, users
from tests.conftest import ClientFactory
from tests.export_helpers import wait_for_job
from tests.helpers import PASSWORD, random_email

Client = TestClient[Any, Any]
EXERCISE = {"type": "weight", "name": "Bench Press", "unit": "kg"}


def strict(schema: Any) -> Any:
    """Return a copy in which every object with listed properties rejects other keys."""
    if isinstance(schema, dict):
        result = {key: strict(value) for key, value in schema.items()}
        if "properties" in result and "additionalProperties" not in result:
            result["additionalProperties"] = False
        return result
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    return schema


class Api:
    """Send requests and check each reply's status and body against the document."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.document = openapi_document()
        self.components = strict(copy.deepcopy(self.document["components"]))
        self.headers: dict[str, str] = {}

    async def call(
        self,
        method: str,
        template: str,
        status: int,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        **path_values: str,
    ) -> Any:
        url = template.format(**path_values)
        response = await self.client.request(
            method,
            url,
            json=json,
            params=params,
            headers=self.headers if headers is None else headers,
        )
        body = await response.read()
        assert response.status == status, f"{method} {url}: {response.status} {body[:300]!r}"
        schema = self.reply_schema(method, template, status)
        if schema is None:
            assert body == b"", f"{method} {url}: the document gives {status} no body"
            return None
        data = await response.json()
        validator = Draft202012Validator(
            {**schema, "components": self.components},
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )
        errors = [
            f"{list(error.absolute_path)}: {error.message}" for error in validator.iter_errors(data)
        ]
        assert errors == [], f"{method} {template} {status} does not match the document"
        return data

    def reply_schema(self, method: str, template: str, status: int) -> dict[str, Any] | None:
        responses = self.document["paths"][template][method.lower()]["responses"]
        reply = responses.get(str(status))
        assert reply is not None, f"{method} {template} documents no {status} reply"
        if "$ref" in reply:
            reply = self.document["components"]["responses"][reply["$ref"].rsplit("/", 1)[1]]
        content = reply.get("content")
        if content is None:
            return None
        schema: dict[str, Any] = content["application/json"]["schema"]
        return schema


async def sign_in(api: Api) -> dict[str, Any]:
    """Register and log in through the checked calls, and send the token from then on."""
    credentials = {"email": random_email(), "password": PASSWORD}
    await api.call("POST", "/auth/register", 201, json=credentials)
    login: dict[str, Any] = await api.call("POST", "/auth/login", 200, json=credentials)
    api.headers = {"Authorization": f"Bearer {login['accessToken']}"}
    return login


@pytest.fixture
async def api(make_client: ClientFactory, sqlite_settings: Settings) -> Api:
    return Api(await make_client(sqlite_settings))


async def test_account_replies_match(api: Api) -> None:
    await api.call("GET", "/health", 200)
    await api.call("GET", "/ready", 200)
    login = await sign_in(api)
    await api.call("POST", "/auth/refresh", 200, json={"refreshToken": login["refreshToken"]})
    await api.call("GET", "/auth/me", 200)
    await api.call("GET", "/me/preferences", 200)
    changes = {"timezone": "Europe/Paris", "reminderDays": [1, 3], "reminderTime": "18:30"}
    await api.call("PATCH", "/me/preferences", 200, json=changes)
    change = {"currentPassword": PASSWORD, "newPassword": "another long password"}
    await api.call("POST", "/auth/password", 204, json=change)
    await api.call("POST", "/auth/logout", 204, json={"refreshToken": login["refreshToken"]})


async def test_workout_replies_match(api: Api) -> None:
    await sign_in(api)
    category = await api.call("POST", "/categories", 201, json={"name": "Push", "color": "#f00"})
    await api.call("GET", "/categories", 200)
    await api.call("GET", "/categories/{id}", 200, id=category["id"])
    await api.call("PUT", "/categories/{id}", 200, json={"name": "Push day"}, id=category["id"])

    sets = [{"value": 100, "reps": 5, "restMinutes": 2}, {"value": 105, "reps": 3}]
    body = {"categoryId": category["id"], "exercises": [{**EXERCISE, "setsDetail": sets}]}
    workout = await api.call("POST", "/workouts", 201, json=body)
    await api.call("GET", "/workouts/{id}", 200, id=workout["id"])
    await api.call("GET", "/workouts", 200, params={"fields": "id,notes", "limit": "1"})
    await api.call("PUT", "/workouts/{id}", 200, json={"notes": "heavy"}, id=workout["id"])

    listed = "/workouts/category/{categoryId}"
    progress = {"includeProgress": "true"}
    await api.call("GET", listed, 200, params=progress, categoryId=category["id"])
    await api.call("GET", listed, 200, params={"limit": "1"}, categoryId=category["id"])
    await api.call("GET", f"{listed}/check-previous", 200, categoryId=category["id"])

    for name in ("daily", "weekly", "streaks", "trends"):
        await api.call("GET", f"/analytics/{name}", 200)
    await api.call("DELETE", "/workouts/{id}", 200, id=workout["id"])
    await api.call("DELETE", "/categories/{id}", 204, id=category["id"])


async def test_session_replies_match(api: Api) -> None:
    watcher_email = random_email()
    await api.call(
        "POST", "/auth/register", 201, json={"email": watcher_email, "password": PASSWORD}
    )
    await sign_in(api)
    category = await api.call("POST", "/categories", 201, json={"name": "Legs"})
    session = await api.call("POST", "/sessions", 201, json={"categoryId": category["id"]})
    ids = {"id": session["id"]}

    logged = {"clientId": "set-1", "exercise": EXERCISE, "value": 80, "reps": 5}
    await api.call("POST", "/sessions/{id}/sets", 201, json=logged, **ids)
    await api.call("POST", "/sessions/{id}/sets", 200, json=logged, **ids)
    one_set = "/sessions/{id}/sets/{clientId}"
    await api.call("PATCH", one_set, 200, json={"reps": 6}, clientId="set-1", **ids)
    await api.call("POST", "/sessions/{id}/timer", 200, json={"seconds": 90}, **ids)
    await api.call("GET", "/sessions/{id}", 200, **ids)
    await api.call("GET", "/sessions", 200)
    await api.call("DELETE", "/sessions/{id}/timer", 200, **ids)

    watcher = await api.call(
        "POST", "/sessions/{id}/watchers", 201, json={"email": watcher_email}, **ids
    )
    await api.call("GET", "/sessions/{id}/watchers", 200, **ids)
    await api.call(
        "DELETE", "/sessions/{id}/watchers/{userId}", 204, userId=watcher["userId"], **ids
    )
    await api.call("POST", "/sessions/{id}/sets", 201, json={**logged, "clientId": "set-2"}, **ids)
    await api.call("DELETE", one_set, 200, clientId="set-2", **ids)
    await api.call("POST", "/sessions/{id}/finish", 200, **ids)
    await api.call("POST", "/sessions/{id}/finish", 409, **ids)


async def test_job_and_inbox_replies_match(api: Api) -> None:
    await sign_in(api)
    started = await api.call("POST", "/exports", 202, json={"format": "json"})
    await api.call("GET", "/jobs/{job_id}", 200, job_id=started["jobId"])
    job = await wait_for_job(api.client, api.headers, started["jobId"])
    assert job["state"] == "succeeded"
    await api.call("GET", "/jobs/{job_id}", 200, job_id=started["jobId"])
    await api.call("GET", "/jobs", 200, params={"kind": "export"})

    response = await api.client.get(job["result"]["downloadUrl"], headers=api.headers)
    assert response.status == 200
    documented = api.document["paths"]["/exports/{job_id}/download"]["get"]["responses"]["200"]
    assert response.content_type in documented["content"]

    await api.call("GET", "/notifications", 200, params={"unread": "true"})
    await api.call("GET", "/notifications/unread-count", 200)
    await api.call("POST", "/notifications/read-all", 200)


async def test_admin_replies_match(api: Api) -> None:
    login = await sign_in(api)
    async with api.client.server.app[SERVICES].db.transaction() as session:
        await users.set_user_role(session, email=login["email"], role="admin")
        letter = await dead_letters.create_dead_letter(
            session,
            task_name="test.unregistered",
            kwargs={"user_id": int(login["userId"])},
            error="ValueError: bad row",
            job_error="internal error (ValueError)",
            attempts=1,
        )
    await api.call("GET", "/admin/queue", 200)
    await api.call("GET", "/admin/jobs", 200)
    await api.call("GET", "/admin/dead-letters", 200, params={"retried": "false"})
    retry = "/admin/dead-letters/{letter_id}/retry"
    await api.call("POST", retry, 202, letter_id=str(letter.id))
    await api.call("POST", retry, 409, letter_id=str(letter.id))


async def test_error_replies_match(api: Api) -> None:
    await api.call("GET", "/auth/me", 401)
    await sign_in(api)
    await api.call("POST", "/categories", 400, json={})
    await api.call("GET", "/workouts", 400, params={"limit": "0"})
    await api.call("GET", "/workouts/{id}", 404, id="999999")
    await api.call("POST", "/categories", 201, json={"name": "Pull"})
    await api.call("POST", "/categories", 409, json={"name": "Pull"})
    await api.call("GET", "/admin/queue", 403)
