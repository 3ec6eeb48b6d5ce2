"""Request parsing: JSON bodies and query strings validated by pydantic models."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import orjson
from aiohttp import web
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
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"request body is too large: the limit is {limit} bytes")
    raw = await request.read()
    if len(raw) > limit:
        raise PayloadTooLarge(f"request body is too large: the limit is {limit} bytes")
    if not raw.strip():
        if allow_empty:
            return None
        raise ValidationFailed.field("body", "missing: send a JSON object")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise ValidationFailed.field("body", f"invalid JSON: {error}") from None


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
