"""Bodies that cannot be decoded or inflate past a limit: a 400 or 413, and no write."""

from __future__ import annotations

import gzip
import zlib
from typing import Any

import aiohttp
import orjson
import pytest

from tests.helpers import PASSWORD, register
from tests.workout_data import Client, Login, count_rows

JSON_LIMIT = 1024 * 1024  # Settings.max_body_bytes by default
UPLOAD_LIMIT = 20 * 1024 * 1024  # Settings.max_upload_bytes by default
STRONG_CSV = b"Date,Workout Name,Exercise Name,Set Order,Weight,Reps\n"


async def list_jobs(client: Client, login: Login) -> list[dict[str, Any]]:
    response = await client.get("/jobs", headers=login["headers"])
    assert response.status == 200, await response.text()
    jobs: list[dict[str, Any]] = (await response.json())["jobs"]
    return jobs


async def test_login_gzip_not_gzip_rejected(client: Client) -> None:
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    response = await client.post("/auth/login", data=b"notgzip", headers=headers)
    assert response.status == 400
    reply = await response.json()
    assert reply["details"][0]["field"] == "body"
    assert "invalid body" in reply["error"]
    assert "gzip" in reply["error"], reply


async def test_login_gzip_and_deflate_accepted(client: Client) -> None:
    login = await register(client)
    body = orjson.dumps({"email": login["email"], "password": PASSWORD})
    for encoding, data in (("gzip", gzip.compress(body)), ("deflate", zlib.compress(body))):
        headers = {"Content-Type": "application/json", "Content-Encoding": encoding}
        response = await client.post("/auth/login", data=data, headers=headers)
        assert response.status == 200, (encoding, await response.text())
        assert "accessToken" in await response.json(), encoding


@pytest.mark.parametrize("inflated", [2 * JSON_LIMIT, UPLOAD_LIMIT + JSON_LIMIT])
async def test_deflate_past_json_limit_too_large(client: Client, inflated: int) -> None:
    login = await register(client)
    before = await count_rows(client)
    # A JSON string that inflates to `inflated` bytes from a few kilobytes.
    body = b'{"name": "' + b"x" * inflated + b'"}'
    headers = {
        **login["headers"],
        "Content-Type": "application/json",
        "Content-Encoding": "deflate",
    }
    response = await client.post("/categories", data=zlib.compress(body, 9), headers=headers)
    assert response.status == 413
    reply = await response.json()
    assert f"the limit is {JSON_LIMIT} bytes" in reply["error"]
    assert await count_rows(client) == before


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data", b"garbage"),
        ("multipart/form-data; boundary=xyz", b"garbage"),
        ("multipart/form-data; boundary=xyz", b"--xyz\r\nno header end"),
        (
            "multipart/form-data; boundary=xyz",
            b'--xyz\r\nContent-Disposition: form-data; name="file"\r\n\r\ncut short',
        ),
    ],
    ids=["no boundary", "no boundary line", "bad part headers", "part cut short"],
)
async def test_import_malformed_multipart_rejected(
    client: Client, content_type: str, body: bytes
) -> None:
    login = await register(client)
    headers = {**login["headers"], "Content-Type": content_type}
    response = await client.post("/imports?format=strong&unit=kg", data=body, headers=headers)
    assert response.status == 400, await response.text()
    reply = await response.json()
    assert reply["details"][0]["field"] == "body"
    assert "invalid multipart/form-data body" in reply["error"]
    assert await list_jobs(client, login) == []


@pytest.mark.parametrize("content_type", ["text/csv", "multipart/form-data; boundary=xyz"])
async def test_import_gzip_not_gzip_rejected(client: Client, content_type: str) -> None:
    login = await register(client)
    headers = {**login["headers"], "Content-Type": content_type, "Content-Encoding": "gzip"}
    response = await client.post("/imports?format=strong&unit=kg", data=b"notgzip", headers=headers)
    assert response.status == 400, await response.text()
    reply = await response.json()
    assert reply["details"][0]["field"] == "body"
    assert "invalid body" in reply["error"]
    assert await list_jobs(client, login) == []


async def test_import_gzip_csv_accepted(client: Client) -> None:
    login = await register(client)
    headers = {**login["headers"], "Content-Type": "text/csv", "Content-Encoding": "gzip"}
    response = await client.post(
        "/imports?format=strong&unit=kg", data=gzip.compress(STRONG_CSV), headers=headers
    )
    assert response.status == 202, await response.text()
    assert [job["id"] for job in await list_jobs(client, login)] == [
        (await response.json())["jobId"]
    ]


async def test_import_multipart_with_later_field_accepted(client: Client) -> None:
    login = await register(client)
    form = aiohttp.FormData()
    form.add_field("file", STRONG_CSV, filename="strong.csv", content_type="text/csv")
    form.add_field("note", "read after the file")
    response = await client.post(
        "/imports?format=strong&unit=kg", data=form, headers=login["headers"]
    )
    assert response.status == 202, await response.text()
    assert [job["id"] for job in await list_jobs(client, login)] == [
        (await response.json())["jobId"]
    ]
