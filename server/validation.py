"""Request parsing: JSON bodies and query strings validated by pydantic models."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import orjson
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web import RequestPayloadError
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

from server.errors import PayloadTooLarge, ValidationFailed

Model = TypeVar("Model", bound=BaseModel)


class CamelModel(BaseModel):
    """A request body with camelCase keys on the wire and snake_case attributes in code."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        str_strip_whitespace=False,
    )


async def read_json(request: web.Request, *, allow_empty: bool = False) -> Any:
    """Read the request body as JSON, rejecting anything that does not parse."""
    from server.auth import services

    limit = services(request).settings.max_body_bytes
    raw = await read_body(request, limit=limit)
    if not raw.strip():
        if allow_empty:
            return None
        raise ValidationFailed.field("body", "missing: send a JSON object")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise ValidationFailed.field("body", f"invalid JSON: {error}") from None


async def read_body(request: web.Request, *, limit: int) -> bytes:
    """Read the whole body, decoded per its Content-Encoding header, up to `limit` bytes.

    The limit applies to the decoded bytes, so a small compressed body that inflates past it
    stops once the limit is passed. aiohttp's `request.read()` would only stop at the
    application's client_max_size, which is the larger upload limit.
    """
    if request.content_length is not None and request.content_length > limit:
        raise body_too_large(limit)
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.content.iter_any():
            size += len(chunk)
            if size > limit:
                raise body_too_large(limit)
            chunks.append(chunk)
    except RequestPayloadError as error:
        raise invalid_body(error) from None
    return b"".join(chunks)


def body_too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"request body is too large: the limit is {limit} bytes")


def invalid_body(error: RequestPayloadError) -> ValidationFailed:
    """Report a body that aiohttp could not decode, such as a gzip body that is not gzip."""
    # aiohttp builds the error from the parser's HttpProcessingError, whose `message` is the
    # reason alone, and sets that error as the cause only when a reader was waiting.
    # NOTE: aiohttp 3.14 still logs "Unhandled exception" on the aiohttp.server logger when it
    # drains such a body after the reply has been sent.
    cause = error.__cause__
    reason = cause.message if isinstance(cause, HttpProcessingError) else str(error)
    return ValidationFailed.field("body", f"invalid body: {reason}")


async def parse_body(request: web.Request, model: type[Model]) -> Model:
    data = await read_json(request)
    if not isinstance(data, dict):
        raise ValidationFailed.field("body", "invalid: expected a JSON object")
    return validate(model, data)


def parse_query(query: Mapping[str, str], model: type[Model]) -> Model:
    return validate(model, dict(query))


def validate(model: type[Model], data: dict[str, Any]) -> Model:
    _reject_nul(data, "")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise validation_failed(error) from None


def _reject_nul(value: Any, path: str) -> None:
    """Reject NUL characters, which PostgreSQL cannot store in text."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValidationFailed.field(path or "body", "invalid: contains a NUL character")
    elif isinstance(value, dict):
        for key, item in value.items():
            _reject_nul(key, path or "body")
            _reject_nul(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _reject_nul(item, f"{path}.{index}" if path else str(index))


def validation_failed(error: ValidationError) -> ValidationFailed:
    """Turn pydantic's errors into one 400 that names each field and its reason."""
    details = []
    for item in error.errors(include_url=False, include_input=False):
        field = ".".join(str(part) for part in item["loc"]) or "body"
        details.append({"field": field, "message": _message(item)})
    summary = "; ".join(f"{d['field']}: {d['message']}" for d in details[:3])
    return ValidationFailed(f"invalid request: {summary}", details=details)


def _message(item: Any) -> str:
    if item["type"] == "missing":
        return "missing"
    message = str(item["msg"])
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    return message
