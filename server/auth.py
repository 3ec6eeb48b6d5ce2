"""Authentication of REST requests by bearer access token."""

from __future__ import annotations

from aiohttp import web

from server.errors import Unauthorized
from server.services import Services


def services(request: web.Request) -> Services:
    from server.app import SERVICES

    return request.app[SERVICES]


def current_user(request: web.Request) -> int:
    """Return the id of the user whose access token the request carries, or raise 401."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing access token: send Authorization: Bearer <accessToken>")
    try:
        return services(request).tokens.verify_access(token.strip())
    except ValueError as error:
        raise Unauthorized(str(error)) from None
