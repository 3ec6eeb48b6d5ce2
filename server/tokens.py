"""Signed access and refresh tokens.

Both are HS256 JWTs whose `typ` claim says which kind they are, so a refresh token is never
accepted where an access token is expected, nor the other way round.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

ACCESS = "access"
REFRESH = "refresh"


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    kind: str
    expires_at: datetime


class TokenSigner:
    def __init__(self, secret: str, *, access_seconds: int, refresh_seconds: int):
        self._secret = secret
        self._lifetimes = {ACCESS: access_seconds, REFRESH: refresh_seconds}

    def issue(
        self, user_id: int, kind: str, *, now: datetime | None = None
    ) -> tuple[str, datetime]:
        """Create a token of `kind` for a user; return it with its expiry time."""
        issued_at = now or datetime.now(UTC)
        expires_at = issued_at + timedelta(seconds=self._lifetimes[kind])
        claims = {
            "sub": str(user_id),
            "typ": kind,
            "iat": issued_at,
            "exp": expires_at,
            # A random id makes two tokens issued in the same second differ.
            "jti": secrets.token_urlsafe(12),
        }
        return jwt.encode(claims, self._secret, algorithm="HS256"), expires_at

    def verify(self, token: str, kind: str) -> TokenClaims:
        """Check a token's signature, expiry and kind; raise ValueError with the reason."""
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                options={"require": ["sub", "typ", "exp"]},
            )
        except jwt.ExpiredSignatureError:
            raise ValueError("token expired") from None
        except jwt.InvalidTokenError:
            raise ValueError("invalid token") from None
        if claims.get("typ") != kind:
            raise ValueError(f"invalid token: wrong token type, expected {kind}")
        try:
            user_id = int(claims["sub"])
        except (TypeError, ValueError):
            raise ValueError("invalid token") from None
        return TokenClaims(user_id, kind, datetime.fromtimestamp(claims["exp"], UTC))

    def verify_access(self, token: str) -> int:
        return self.verify(token, ACCESS).user_id


def hash_token(token: str) -> str:
    """Return the SHA-256 hex digest under which a refresh token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()
