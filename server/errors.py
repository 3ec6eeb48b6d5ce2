"""Errors the API returns, and the middleware that turns them into JSON replies."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

log = logging.getLogger(__name__)


class AppError(Exception):
    """Root of the errors the API reports to clients, each with an HTTP status."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, details: list[dict[str, str]] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.message}
        if self.details:
            body["details"] = self.details
        return body


class ValidationFailed(AppError, ValueError):
    status = 400
    code = "invalid"

    @classmethod
    def field(cls, field: str, message: str) -> ValidationFailed:
        return cls(f"{field}: {message}", details=[{"field": field, "message": message}])


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"


class Forbidden(AppError):
    status = 403
    code = "forbidden"


class NotFound(AppError, LookupError):
    status = 404
    code = "not_found"


class Conflict(AppError):
    status = 409
    code = "exists"


class PayloadTooLarge(AppError):
    status = 413
    code = "too_large"


class RateLimited(AppError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class ServiceUnavailable(AppError):
    status = 503
    code = "unavailable"


def is_database_unavailable(error: BaseException) -> bool:
    """Tell whether an error means the database could not be reached, not a bad query.

    The error is SQLAlchemy's, or the driver's own where a hot read runs on the driver.
    """
    if isinstance(error, PoolTimeoutError | ConnectionError | TimeoutError):
        return True
    original: BaseException | None = error
    if isinstance(error, DBAPIError):
        if error.connection_invalidated:
            return True
        original = getattr(error.orig, "__cause__", None) or error.orig
        if isinstance(original, OSError | ConnectionError | TimeoutError):
            return True
        if "database is locked" in str(error.orig):
            return True
    # SQLSTATE class 08 is a connection failure; 57P01 to 57P03 mean the server is
    # shutting down or starting up.
    state = getattr(original, "sqlstate", None) or ""
    if state.startswith("08") or state in {"57P01", "57P02", "57P03"}:
        return True
    if isinstance(error, DBAPIError):
        return False
    return isinstance(error, OSError) and error.errno is not None


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=orjson.dumps(data),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def error_response(status: int, message: str, **extra: Any) -> web.Response:
    return json_response({"error": message, **extra}, status=status)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


# python-socketio's default path. Its requests get engine.io's replies, not JSON errors.
SOCKET_PATH = "/socket.io/"


@web.middleware
def error_middleware(request: web.Request, handler: Handler) -> Awaitable[web.StreamResponse]:
    """Report every failure as `{"error": ...}` with its status, and never leak internals.

    A Socket.IO request goes straight to its handler. A websocket's request lasts as long as
    the connection, and a middleware frame around it would cost each idle connection about
    half a kilobyte.
    """
    if request.path.startswith(SOCKET_PATH):
        return handler(request)
    return _reported(request, handler)


async def _reported(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except AppError as error:
        response = json_response(error.body(), status=error.status)
        if isinstance(error, RateLimited):
            response.headers["Retry-After"] = str(error.retry_after)
        if request.content.exception() is not None:
            # The body stream failed part way, so the connection cannot carry another
            # request. Closing it after this reply keeps clients from reusing it.
            response.force_close()
        return response
    except web.HTTPRequestEntityTooLarge:
        limit = request.app._client_max_size
        return error_response(413, f"request body is too large: the limit is {limit} bytes")
    except web.HTTPException as error:
        if error.status < 400:
            raise
        return error_response(error.status, error.reason)
    except Exception as error:
        if is_database_unavailable(error):
            log.warning("database unavailable for %s %s: %r", request.method, request.path, error)
            return error_response(503, "database unavailable, try again shortly")
        log.exception("unhandled error in %s %s", request.method, request.path)
        return error_response(500, "internal server error")
