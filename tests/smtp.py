"""A real SMTP server (aiosmtpd) on a free loopback port that keeps the messages it receives."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from server.config import Settings


class SmtpSink:
    """The aiosmtpd handler: it stores every message it accepts, parsed."""

    def __init__(self) -> None:
        self.port = 0
        # While set, every message is refused with a temporary failure and counted.
        self.reject = False
        self.rejected = 0
        # While set, every recipient is refused as unknown.
        self.refuse_recipients = False
        self._messages: list[EmailMessage] = []
        self._lock = threading.Lock()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.refuse_recipients:
            return "550 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.reject:
            self.rejected += 1
            return "451 Temporary failure, try again later"
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        with self._lock:
            self._messages.append(parsed)
        return "250 Message accepted"

    @property
    def messages(self) -> list[EmailMessage]:
        with self._lock:
            return list(self._messages)

    def to(self, address: str) -> list[EmailMessage]:
        return [message for message in self.messages if message["To"] == address]

    async def wait_for(self, address: str, count: int, timeout: float = 15) -> list[EmailMessage]:
        """Wait until `address` has received `count` messages; return them."""
        async with asyncio.timeout(timeout):
            while len(self.to(address)) < count:
                await asyncio.sleep(0.05)
        return self.to(address)

    def settings_for(self, settings: Settings) -> Settings:
        """Return `settings` pointed at this server, without STARTTLS, which it does not offer."""
        return settings.model_copy(
            update={
                "smtp_host": "127.0.0.1",
                "smtp_port": self.port,
                "smtp_starttls": False,
                "smtp_from": "Nappatzim <no-reply@example.com>",
            }
        )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def smtp_server(login: tuple[str, str] | None = None) -> Iterator[SmtpSink]:
    """Run an SMTP server in a thread on a free loopback port until the block ends.

    With `login`, the server requires AUTH with that user name and password, over plain text.
    """
    sink = SmtpSink()
    sink.port = free_port()
    options: dict[str, Any] = {}
    if login is not None:
        expected = LoginPassword(login[0].encode(), login[1].encode())

        def authenticate(
            server: Any, session: Any, envelope: Any, mechanism: str, data: Any
        ) -> AuthResult:
            # handled=False lets aiosmtpd send the 235 or 535 reply itself.
            return AuthResult(success=data == expected, handled=False)

        options = {
            "authenticator": authenticate,
            "auth_required": True,
            "auth_require_tls": False,
        }
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port, **options)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()
