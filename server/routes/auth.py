"""Registration, login, token refresh, logout and password change."""

from __future__ import annotations

import logging
import re

from aiohttp import web
from pydantic import Field, field_validator

from server.auth import current_user, services
from server.errors import Conflict, Unauthorized, json_response
from server.passwords import hash_password, verify_password
from server.tokens import ACCESS, REFRESH, hash_token
from server.validation import CamelModel, parse_body
from storage import users

log = logging.getLogger(__name__)

routes = web.RouteTableDef()

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
LOGIN_FAILED = "invalid email or password"


class Credentials(CamelModel):
    email: str = Field(max_length=254)
    password: str = Field(min_length=1, max_length=128)

    @field_validator("email")
    @classmethod
    def _normalize_email(cls, value: str) -> str:
        value = value.strip().lower()
        if not EMAIL_PATTERN.match(value):
            raise ValueError("invalid email address")
        return value


class Registration(Credentials):
    password: str = Field(min_length=8, max_length=128)


class RefreshRequest(CamelModel):
    refresh_token: str = Field(min_length=1, max_length=2048)


class PasswordChange(CamelModel):
    current_password: str = Field(min_length=1, max_length=128)
    new_password: str = Field(min_length=8, max_length=128)


@routes.post("/auth/register")
async def register(request: web.Request) -> web.Response:
    """Create an account."""
    body = await parse_body(request, Registration)
    password_hash = await hash_password(body.password)
    try:
        async with services(request).write() as session:
            user = await users.create_user(session, email=body.email, password_hash=password_hash)
    except users.EmailTaken:
        raise Conflict("email already registered") from None
    return json_response({"id": str(user.id)}, status=201)


@routes.post("/auth/login")
async def login(request: web.Request) -> web.Response:
    """Exchange email and password for an access token and a refresh token."""
    body = await parse_body(request, Credentials)
    svc = services(request)
    address = client_address(request)
    await svc.limiter.check(email=body.email, address=address)

    async with svc.db.read(primary=True) as session:
        user = await users.get_user_by_email(session, email=body.email)
    if not await verify_password(user.password_hash if user else None, body.password):
        await svc.limiter.record_failure(email=body.email, address=address)
        log.info("login failed", extra={"address": address})
        raise Unauthorized(LOGIN_FAILED)
    assert user is not None
    await svc.limiter.reset(email=body.email)

    refresh_token, expires_at = svc.tokens.issue(user.id, REFRESH)
    async with svc.write() as session:
        await users.create_refresh_token(
            session, user_id=user.id, token_hash=hash_token(refresh_token), expires_at=expires_at
        )
    access_token, _ = svc.tokens.issue(user.id, ACCESS)
    return json_response(
        {
            "accessToken": access_token,
            "refreshToken": refresh_token,
            "userId": str(user.id),
            "email": user.email,
            "role": user.role,
        }
    )


@routes.post("/auth/refresh")
async def refresh(request: web.Request) -> web.Response:
    """Issue a new access token for a live refresh token; the refresh token stays valid."""
    body = await parse_body(request, RefreshRequest)
    svc = services(request)
    try:
        claims = svc.tokens.verify(body.refresh_token, REFRESH)
    except ValueError as error:
        raise Unauthorized(str(error)) from None
    async with svc.db.read(primary=True) as session:
        stored = await users.get_live_refresh_token(
            session, token_hash=hash_token(body.refresh_token)
        )
        user = await users.get_user(session, user_id=claims.user_id)
    if stored is None or user is None or stored.user_id != user.id:
        raise Unauthorized("invalid token: refresh token revoked or unknown")
    access_token, _ = svc.tokens.issue(user.id, ACCESS)
    return json_response(
        {
            "accessToken": access_token,
            "refreshToken": body.refresh_token,
            "userId": str(user.id),
            "email": user.email,
            "role": user.role,
        }
    )


@routes.post("/auth/logout")
async def logout(request: web.Request) -> web.Response:
    """Revoke a refresh token; revoking one that is already revoked also succeeds."""
    body = await parse_body(request, RefreshRequest)
    async with services(request).write() as session:
        await users.revoke_refresh_token(session, token_hash=hash_token(body.refresh_token))
    return web.Response(status=204)


@routes.post("/auth/password")
async def change_password(request: web.Request) -> web.Response:
    """Change the password and revoke every refresh token of the account."""
    user_id = current_user(request)
    body = await parse_body(request, PasswordChange)
    svc = services(request)
    async with svc.db.read(primary=True) as session:
        user = await users.get_user(session, user_id=user_id)
    if user is None or not await verify_password(user.password_hash, body.current_password):
        raise Unauthorized("invalid current password")
    password_hash = await hash_password(body.new_password)
    async with svc.write() as session:
        await users.set_password(session, user_id=user_id, password_hash=password_hash)
    return web.Response(status=204)


@routes.get("/auth/me")
async def me(request: web.Request) -> web.Response:
    """Return the signed-in user's account."""
    user_id = current_user(request)
    async with services(request).db.read(primary=True) as session:
        user = await users.get_user(session, user_id=user_id)
    if user is None:
        raise Unauthorized("invalid token: the account no longer exists")
    return json_response(
        {"id": str(user.id), "email": user.email, "role": user.role, "timezone": user.timezone}
    )


def client_address(request: web.Request) -> str:
    """Return the client's address, trusting X-Forwarded-For only from a loopback proxy.

    A proxy appends the address it received the request from, so the last entry is the one
    the proxy vouches for; earlier entries come from the client and may be forged.
    """
    remote = request.remote or "unknown"
    forwarded = request.headers.get("X-Forwarded-For")
    if forwarded and remote in {"127.0.0.1", "::1"}:
        return forwarded.split(",")[-1].strip() or remote
    return remote
