"""Sending email over SMTP with aiosmtplib, configured by the SMTP_* settings."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

import aiosmtplib

from server.config import Settings

log = logging.getLogger(__name__)

# Timeout of connecting and of each SMTP command, in seconds.
SMTP_TIMEOUT_SECONDS = 10.0
# A batch starts no new message after this many seconds. The resend pass takes an unsent
# email one minute after its attempt began, so with the timeout above a batch has normally
# ended by then, and the pass does not send a message that a batch is still about to send.
SEND_BUDGET_SECONDS = 30.0
# The standard port of SMTP over implicit TLS (RFC 8314); other ports use STARTTLS or none.
IMPLICIT_TLS_PORT = 465

_warned_no_host = False


@dataclass(frozen=True)
class Email:
    dedup_key: str
    recipient: str
    subject: str
    body: str


def email_enabled(settings: Settings) -> bool:
    """Tell whether an SMTP server is configured; log the first time it is not."""
    global _warned_no_host
    if settings.smtp_host is not None:
        return True
    if not _warned_no_host:
        _warned_no_host = True
        log.warning("SMTP_HOST is not set: emails are skipped, in-app notifications still work")
    return False


def build_message(settings: Settings, email: Email) -> EmailMessage:
    """Build a plain-text message whose Message-ID is derived from the dedup key.

    A resent copy of one email keeps its Message-ID, so mail clients can show it once.
    """
    domain = parseaddr(settings.smtp_from)[1].rpartition("@")[2] or "localhost"
    digest = hashlib.sha256(email.dedup_key.encode()).hexdigest()[:32]
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = email.recipient
    # Exercise names come from users, and a line break in a header value would be rejected.
    message["Subject"] = " ".join(email.subject.split())
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = f"<{digest}@{domain}>"
    message.set_content(email.body)
    return message


async def send_emails(settings: Settings, emails: Sequence[Email]) -> list[str]:
    """Send the emails over one SMTP connection; return the dedup keys of those sent.

    A message the server rejects is logged and skipped. A failure to connect or log in is
    logged and sends nothing. Emails left after SEND_BUDGET_SECONDS are not sent. Unsent
    emails stay due for the resend pass.
    """
    if not emails or not email_enabled(settings):
        return []
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    client = aiosmtplib.SMTP(
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=password,
        use_tls=settings.smtp_port == IMPLICIT_TLS_PORT,
        start_tls=settings.smtp_starttls and settings.smtp_port != IMPLICIT_TLS_PORT,
        timeout=SMTP_TIMEOUT_SECONDS,
    )
    sent: list[str] = []
    deadline = time.monotonic() + SEND_BUDGET_SECONDS
    try:
        async with client:
            for email in emails:
                if time.monotonic() > deadline:
                    log.warning(
                        "sent %d of %d emails in %.0f s, the rest are resent later",
                        len(sent),
                        len(emails),
                        SEND_BUDGET_SECONDS,
                    )
                    break
                try:
                    await client.send_message(build_message(settings, email))
                except aiosmtplib.SMTPRecipientsRefused as error:
                    # The error's text contains the address, which stays out of the logs.
                    codes = [refused.code for refused in error.recipients]
                    log.warning(
                        "SMTP server rejected the recipient of email %s with codes %s",
                        email.dedup_key,
                        codes,
                    )
                    continue
                except aiosmtplib.SMTPResponseException as error:
                    log.warning(
                        "SMTP server rejected email %s: %s %s",
                        email.dedup_key,
                        error.code,
                        error.message,
                    )
                    continue
                sent.append(email.dedup_key)
    except (aiosmtplib.SMTPException, OSError) as error:
        log.warning(
            "SMTP server %s:%s failed after %d of %d emails, the rest are resent later: %r",
            settings.smtp_host,
            settings.smtp_port,
            len(sent),
            len(emails),
            error,
        )
    return sent
