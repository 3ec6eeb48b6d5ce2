"""Build the OpenAPI 3.1 document of the REST API from the operation tables.

Schemas of request bodies and query strings come from the pydantic models the routes validate
with, and reply schemas from the typed dicts in `replies`, `workout_replies` and `job_replies`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from pydantic import TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode

from server.openapi.account_operations import ACCOUNT_OPERATIONS, PAGE_OPERATIONS
from server.openapi.job_operations import JOB_OPERATIONS
from server.openapi.live_events import CLIENT_EVENTS, live_channel_extension, live_channel_markdown
from server.openapi.operation import QUERY_DESCRIPTIONS, Operation, Reply
from server.openapi.replies import ErrorReply
from server.openapi.session_operations import SESSION_OPERATIONS
from server.openapi.workout_operations import ANALYTICS_OPERATIONS, WORKOUT_OPERATIONS

OPENAPI_VERSION = "3.1.0"
SCHEMA_REF = "#/components/schemas/{model}"
RESPONSE_REF = "#/components/responses/{name}"

OPERATIONS: tuple[Operation, ...] = (
    *ACCOUNT_OPERATIONS,
    *WORKOUT_OPERATIONS,
    *ANALYTICS_OPERATIONS,
    *SESSION_OPERATIONS,
    *JOB_OPERATIONS,
    *PAGE_OPERATIONS,
)

INTRODUCTION = """\
The REST API of Nappatzim, a real-time workout tracker.

JSON keys are camelCase and ids are strings. Sign in with POST /auth/login and send the access \
token as `Authorization: Bearer <accessToken>`. It expires after ACCESS_TOKEN_SECONDS (15 \
minutes by default), and POST /auth/refresh issues a new one. Lists are paged by keyset: pass a \
page's `pagination.nextCursor` as `cursor` to read the next page. Every error reply is \
`{"error": message}`, with `details: [{field, message}]` for invalid input.
"""

TAGS = (
    ("health", "Liveness and readiness checks"),
    ("auth", "Accounts and tokens"),
    ("preferences", "Time zone, unit, reminders and notification switches"),
    ("categories", "Named groups of workouts"),
    ("workouts", "Workouts with their exercises and sets"),
    ("analytics", "Daily and weekly figures, streaks and one-rep-max trends"),
    ("sessions", "Workouts performed live, shared with watchers"),
    ("imports", "Uploads of other apps' export files"),
    ("exports", "Files of all of a user's data"),
    ("jobs", "Background imports and exports"),
    ("notifications", "The in-app inbox"),
    ("admin", "The operators' API: needs an account with the admin role"),
    ("pages", "HTML pages and this document"),
)

DIGITS = {"type": "string", "pattern": "^[0-9]{1,19}$"}
PATH_PARAMETERS: dict[str, tuple[str, Mapping[str, Any]]] = {
    "id": ("The resource's id", DIGITS),
    "categoryId": ("The category's id", DIGITS),
    "clientId": (
        "The set's id chosen by the client",
        {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,64}$"},
    ),
    "userId": ("The watcher's user id", DIGITS),
    "job_id": ("The job's id", {"type": "string", "format": "uuid"}),
    "letter_id": ("The dead letter's id", DIGITS),
}

ERROR_RESPONSES = {
    "BadRequest": "Invalid input: the body, the query string or a field; `details` names each",
    "Unauthorized": "The access token is missing, invalid or expired",
    "Forbidden": "The account lacks the admin role",
    "NotFound": "No such resource, or it belongs to another account",
    "PayloadTooLarge": "The body is larger than MAX_BODY_BYTES",
    "Error": "Internal error (500), or the database is unavailable (503): retry shortly",
}
RETRY_AFTER = {"description": "Seconds to wait", "schema": {"type": "integer"}}


class _Schemas(GenerateJsonSchema):
    """Pydantic's JSON Schema generator without the titles it derives from field names."""

    # pydantic types `schema` with an alias from a private module.
    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def openapi_document() -> dict[str, Any]:
    """Build the whole document: paths, schemas, security and the live channel's events."""
    schemas, definitions = _generate_schemas()
    paths: dict[str, dict[str, Any]] = {}
    for operation in OPERATIONS:
        methods = paths.setdefault(operation.path, {})
        method = operation.method.lower()
        if method in methods:
            raise ValueError(f"{operation.method} {operation.path} is described twice")
        methods[method] = _operation(operation, schemas)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Nappatzim API",
            "version": _package_version(),
            "description": f"{INTRODUCTION}\n{live_channel_markdown()}\n",
        },
        "tags": [{"name": name, "description": text} for name, text in TAGS],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "schemas": definitions,
            "responses": {name: _error_reply(text) for name, text in ERROR_RESPONSES.items()},
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "The accessToken from POST /auth/login or /auth/refresh",
                }
            },
        },
        "x-socket-io": live_channel_extension(SCHEMA_REF),
    }


def _generate_schemas() -> tuple[dict[Any, Any], dict[str, Any]]:
    """Generate every body's schema in one pass, so shared models become one component each.

    Returns each type's schema, mostly a reference, and the components they refer to.
    """
    # NOTE: validators that reject null are not in the schemas, which allow null there:
    # CategoryUpdate.name, SetUpdate.reps and every PreferencesUpdate field but reminderTime.
    modes: dict[Any, JsonSchemaMode] = {}
    for kind, mode in _schema_types():
        modes.setdefault(kind, mode)
    keyed, top = TypeAdapter.json_schemas(
        [(kind, mode, TypeAdapter(kind)) for kind, mode in modes.items()],
        ref_template=SCHEMA_REF,
        schema_generator=_Schemas,
    )
    schemas = {kind: schema for (kind, _), schema in keyed.items()}
    return schemas, dict(sorted(top.get("$defs", {}).items()))


def _schema_types() -> Iterator[tuple[Any, JsonSchemaMode]]:
    yield ErrorReply, "serialization"
    for operation in OPERATIONS:
        if operation.body is not None:
            yield operation.body, "validation"
        for reply in operation.replies.values():
            if reply.schema is not None:
                yield reply.schema, "serialization"
    for model, _ in CLIENT_EVENTS.values():
        yield model, "validation"


def _operation(operation: Operation, schemas: Mapping[Any, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "operationId": operation.operation_id,
        "tags": [operation.tag],
        "summary": operation.summary,
    }
    description = operation.description or ""
    if operation.auth == "admin":
        description = f"Needs an account with the admin role. {description}".strip()
    if description:
        result["description"] = description
    if operation.auth == "public":
        result["security"] = []
    parameters = [*_path_parameters(operation.path), *operation.parameters]
    if operation.query is not None:
        parameters += _query_parameters(operation.query)
    if parameters:
        result["parameters"] = [dict(parameter) for parameter in parameters]
    if operation.body is not None:
        content = {"application/json": {"schema": schemas[operation.body]}}
        result["requestBody"] = {"required": True, "content": content}
    elif operation.request_body is not None:
        result["requestBody"] = dict(operation.request_body)
    result["responses"] = _responses(operation, schemas)
    return result


def _path_parameters(path: str) -> Iterator[dict[str, Any]]:
    for name in re.findall(r"\{([^}:]+)", path):
        description, schema = PATH_PARAMETERS[name]
        yield {
            "name": name,
            "in": "path",
            "required": True,
            "description": description,
            "schema": dict(schema),
        }


def _query_parameters(model: type[Any]) -> list[dict[str, Any]]:
    """Turn a flat pydantic model of a query string into one parameter per field."""
    schema = TypeAdapter(model).json_schema(mode="validation", schema_generator=_Schemas)
    if "$defs" in schema:
        raise ValueError(f"query model {model.__name__} has nested models: keep it flat")
    required = set(schema.get("required", ()))
    parameters = []
    for name, field in schema["properties"].items():
        parameter = {
            "name": name,
            "in": "query",
            "required": name in required,
            "description": field.pop("description", None) or QUERY_DESCRIPTIONS.get(name, ""),
            "schema": _without_null(field),
        }
        parameters.append(parameter)
    return parameters


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """Drop the null alternative of an optional field, since a query string has no null."""
    options = schema.get("anyOf")
    if options is None:
        return schema
    non_null = [option for option in options if option != {"type": "null"}]
    if len(non_null) != 1:
        return schema
    result = {key: value for key, value in schema.items() if key != "anyOf"}
    if result.get("default", 0) is None:
        del result["default"]
    return {**non_null[0], **result}


def _responses(operation: Operation, schemas: Mapping[Any, Any]) -> dict[str, Any]:
    responses = {str(status): _reply(reply, schemas) for status, reply in operation.replies.items()}
    implied: dict[int, str] = {}
    if operation.body is not None or operation.request_body is not None:
        implied |= {400: "BadRequest", 413: "PayloadTooLarge"}
    if operation.query is not None or operation.parameters:
        implied[400] = "BadRequest"
    if operation.auth != "public":
        implied[401] = "Unauthorized"
    if operation.auth == "admin":
        implied[403] = "Forbidden"
    if "{" in operation.path:
        implied[404] = "NotFound"
    for status, name in implied.items():
        responses[str(status)] = {"$ref": RESPONSE_REF.format(name=name)}
    for status, text in operation.errors.items():
        responses[str(status)] = _error_reply(text)
        if status == 429:
            responses[str(status)]["headers"] = {"Retry-After": RETRY_AFTER}
    ordered = dict(sorted(responses.items()))
    ordered["default"] = {"$ref": RESPONSE_REF.format(name="Error")}
    return ordered


def _reply(reply: Reply, schemas: Mapping[Any, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {"description": reply.description}
    if reply.content is not None:
        result["content"] = dict(reply.content)
    elif reply.schema is not None:
        result["content"] = {"application/json": {"schema": schemas[reply.schema]}}
    return result


def _error_reply(description: str) -> dict[str, Any]:
    schema = {"$ref": SCHEMA_REF.format(model=ErrorReply.__name__)}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _package_version() -> str:
    try:
        return version("nappatzim")
    except PackageNotFoundError:  # run from a checkout that was not installed
        return "0.0.0"
